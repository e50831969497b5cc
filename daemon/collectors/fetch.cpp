#include "collectors/fetch.h"

namespace pghealthd::collectors {

pg::ConcatRows Fetched::rows() const {
  std::vector<const pg::Rows*> parts;
  for (const auto& r : results) parts.push_back(&r);
  return pg::ConcatRows(std::move(parts));
}

awaitable<Fetched> fetch(pg::Connection& conn, const Definition& def, std::chrono::milliseconds timeout,
                         bool full) {
  Fetched out;
  const bool light = def.has_full_runs && !full && def.light_sql;
  const auto sql = light ? def.light_sql(conn.server_version()) : def.sql(conn.server_version());
  std::string after = "0";
  for (;;) {
    std::vector<std::string> params;
    if (def.has_full_runs && !def.light_sql) params.emplace_back(full ? "true" : "false");
    if (def.page_rows > 0) params.push_back(after);
    auto q = co_await conn.query_rows(sql, std::move(params), timeout);
    if (q.error) {
      out.error = std::move(q.error);
      co_return out;
    }
    const pg::PackedRows& page = q.rows;
    const int n = page.size();
    if (def.page_rows > 0 && n > 0) {
      const int key = page.column("page_key");
      const auto last = key < 0 ? std::nullopt : page.get(n - 1, key);
      if (!last || *last == after) {
        out.unusable = "the server's answer has no page_key to continue from";
        co_return out;
      }
      after = std::string(*last);
    }
    out.results.push_back(std::move(q.rows));
    if (def.page_rows <= 0 || n < def.page_rows) co_return out;
  }
}

}  // namespace pghealthd::collectors
