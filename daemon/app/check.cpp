#include "app/check.h"

#include <array>

#include <iostream>

#include "app/context.h"
#include "app/target_watch.h"
#include "base/clock.h"
#include "collectors/fetch.h"
#include "collectors/stat_user_tables.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "report/health_report.h"

namespace pghealthd::app {
namespace {

constexpr std::string_view kListDatabases = "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname";

// What the report reads: the three views, the freeze ages, the sequences and the bloat estimates (no
// series are rendered).
constexpr std::array<collectors::Kind, 6> kReported{
    collectors::Kind::kStatUserTables, collectors::Kind::kStatioUserTables, collectors::Kind::kStatUserIndexes,
    collectors::Kind::kFreeze, collectors::Kind::kSequences, collectors::Kind::kBloat};

report::DatabaseReport unreadable(const std::string& target, const std::string& datname, std::string error) {
  report::DatabaseReport r;
  r.target = target;
  r.datname = datname;
  r.error = std::move(error);
  return r;
}

// Collects the three views once. (Reports are built by plain functions and errors carried as strings:
// GCC 12 mis-destroys an aggregate-initialized local returned with co_return, which ASan caught here.)
awaitable<report::DatabaseReport> check_database(asio::thread_pool& blocking, const config::Target& t,
                                                 std::string datname, std::optional<std::string> dbname,
                                                 const report::Thresholds& thresholds) {
  auto ex = co_await asio::this_coro::executor;
  pg::Connection conn(ex, blocking);
  std::string error;
  collectors::Data data;
  if (auto err = co_await conn.connect(connect_params(t, std::move(dbname)))) error = pg::describe(*err);
  for (std::size_t i = 0; i < kReported.size() && error.empty(); ++i) {
    const auto& def = collectors::definition(kReported[i]);
    auto fetched = co_await collectors::fetch(conn, def, t.connection.statement_timeout + std::chrono::seconds(2));
    if (!fetched.ok()) {
      error = std::string(def.name) + ": " + (fetched.error ? pg::describe(*fetched.error) : fetched.unusable);
      break;
    }
    if (auto why = def.parse(fetched.rows(), data); !why.empty()) {
      error = std::string(def.name) + ": " + why;
      break;
    }
  }
  conn.close();
  if (!error.empty()) co_return unreadable(t.name, datname, std::move(error));
  collectors::attach_index_scans(data.tables, &data.indexes);
  const double now = base::unix_now();
  co_return report::build(t.name, datname, data, thresholds, now);
}

awaitable<void> check_all(asio::thread_pool& blocking, const config::Config& cfg,
                          std::vector<report::DatabaseReport>& out) {
  const report::Thresholds thresholds = report_thresholds(cfg);
  for (const auto& t : cfg.targets) {
    std::vector<std::pair<std::string, std::optional<std::string>>> dbs;
    if (!t.databases.empty()) {
      for (const auto& d : t.databases) dbs.emplace_back(d, d);
    } else if (!t.autodiscover) {
      dbs.emplace_back(pg::default_dbname(t.conninfo), std::nullopt);
    } else {
      auto ex = co_await asio::this_coro::executor;
      pg::Connection conn(ex, blocking);
      if (auto err = co_await conn.connect(connect_params(t, std::nullopt))) {
        out.push_back(unreadable(t.name, "(discovery)", pg::describe(*err)));
        continue;
      }
      auto q = co_await conn.query(kListDatabases, {}, t.connection.statement_timeout);
      conn.close();
      if (q.error) {
        out.push_back(unreadable(t.name, "(discovery)", pg::describe(*q.error)));
        continue;
      }
      const auto include = config::compile_patterns(t.include_databases);
      const auto exclude = config::compile_patterns(t.exclude_databases);
      pg::ResultRows rows(q.result.get());
      for (int r = 0; r < rows.size(); ++r) {
        const std::string name(rows.get(r, 0).value_or(""));
        if (config::selected(name, include, exclude)) dbs.emplace_back(name, name);
      }
    }
    for (auto& [datname, dbname] : dbs)
      out.push_back(co_await check_database(blocking, t, datname, dbname, thresholds));
  }
}

}  // namespace

report::Thresholds report_thresholds(const config::Config& cfg) {
  report::Thresholds thresholds;
  thresholds.dead_ratio_warning = cfg.vacuum.dead_tuple_ratio;
  thresholds.min_dead_tuples = cfg.vacuum.min_dead_tuples;
  thresholds.unused_min_stats_age_seconds = std::chrono::duration<double>(cfg.indexes.unused_min_stats_age).count();
  thresholds.advice_target_dead_ratio = cfg.advice.target_dead_ratio;
  return thresholds;
}

int run_check(const config::Config& cfg, bool json) {
  asio::io_context loop(1);
  asio::thread_pool blocking(2);
  std::vector<report::DatabaseReport> reports;
  asio::co_spawn(loop, check_all(blocking, cfg, reports), asio::detached);
  loop.run();
  blocking.join();
  std::cout << (json ? report::render_json(reports) : report::render_text(reports));
  return static_cast<int>(report::overall(reports));
}

}  // namespace pghealthd::app
