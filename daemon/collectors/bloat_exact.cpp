#include "collectors/bloat_exact.h"

#include <cmath>
#include <unordered_map>
#include <utility>

#include "base/clock.h"

namespace pghealthd::collectors {
namespace {

using std::chrono::steady_clock;

std::string relation_name(const model::RelationBloat& b) {
  return b.schemaname + "." + (b.index ? b.indexrelname : b.relname);
}

// A reading's answer: the reading, nothing when the relation is gone, or why the answer cannot be used.
struct Reading {
  std::optional<model::ExactBloat> bloat;
  std::string error;
};

Reading reading_of(const pg::Rows& rows, bool index, int fillfactor, double now_unix) {
  pg::FieldReader f(rows);
  const int size = f.require(index ? "index_size" : "table_len");
  const int a = f.require(index ? "avg_leaf_density" : "approx_free_space");
  const int b = index ? -1 : f.require("dead_tuple_len");
  if (!f.error().empty()) return {std::nullopt, f.error()};
  if (rows.size() == 0) return {};
  // pgstatindex's density of an index without leaves is NaN, which FieldReader refuses as a number.
  const bool no_leaves = index && rows.get(0, a) == std::optional<std::string_view>("NaN");
  const auto len = f.number(0, size);
  const auto first = no_leaves ? std::optional<double>(std::nan("")) : f.number(0, a);
  const auto second = index ? std::optional<double>(0) : f.number(0, b);
  if (!f.error().empty() || !len || !first || !second)
    return {std::nullopt, f.error().empty() ? "NULL in the answer" : f.error()};
  return {index ? model::exact_btree_bloat(*len, *first, fillfactor, now_unix)
                : model::exact_table_bloat(*len, *first, *second, fillfactor, now_unix),
          {}};
}

// Looks up the extension and the session's lock_timeout; nothing (and pass.error) when the query fails.
awaitable<std::optional<ExtensionState>> look_up(pg::Connection& conn, const ExactSettings& s,
                                                 ExactPass& pass) {
  auto q = co_await conn.query(kAvailabilitySql, {}, s.query_timeout);
  if (q.error) {
    pass.error = std::move(q.error);
    co_return std::nullopt;
  }
  auto state = parse_extension_state(pg::ResultRows(q.result.get()));
  if (!state)
    pass.error = pg::Error{pg::Error::Kind::kServer, {}, "unusable answer to the pgstattuple look-up"};
  co_return state;
}

awaitable<std::optional<pg::Error>> set_lock_timeout(pg::Connection& conn, std::string value,
                                                     std::chrono::milliseconds timeout) {
  static constexpr std::string_view kSet = "SELECT set_config('lock_timeout', $1, false)";
  auto q = co_await conn.query(kSet, pg::one_param(std::move(value)), timeout);
  co_return std::move(q.error);
}

// The readings themselves, in `order`, until the budget is spent (the first always starts: every run
// moves the round robin on), the role turns out not to be permitted, or the connection fails.
awaitable<void> read_due(pg::Connection& conn, const std::vector<model::RelationBloat>& relations,
                         const std::vector<model::ExactCandidate>& order, const std::string& quoted_schema,
                         const ExactSettings& s, steady_clock::time_point started, ExactPass& pass) {
  std::unordered_map<std::int64_t, const model::RelationBloat*> by_relid;
  for (const auto& r : relations) by_relid.emplace(r.relid, &r);
  const std::string table_sql = table_reading_sql(quoted_schema),
                    index_sql = index_reading_sql(quoted_schema);
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i > 0 && steady_clock::now() - started >= s.budget) {
      pass.left = order.size() - i;
      co_return;
    }
    const auto& rel = *by_relid.at(order[i].relid);
    auto q = co_await conn.query(rel.index ? index_sql : table_sql, pg::one_param(std::to_string(rel.relid)),
                                 s.query_timeout);
    if (q.error) {
      const auto failure = conn.connected() ? classify_reading_failure(*q.error) : ReadingFailure::kStop;
      if (failure == ReadingFailure::kGone) continue;
      if (failure == ReadingFailure::kSkip) {
        pass.skipped.push_back({relation_name(rel), pg::describe(*q.error)});
        continue;
      }
      if (failure == ReadingFailure::kNotPermitted)
        pass.availability = model::ExactAvailability::kNotPermitted;
      pass.error = std::move(q.error);
      pass.left = order.size() - i;
      co_return;
    }
    auto reading = reading_of(pg::ResultRows(q.result.get()), rel.index, rel.shape.fillfactor, base::unix_now());
    if (!reading.error.empty())
      pass.skipped.push_back({relation_name(rel), "unusable answer: " + reading.error});
    else if (reading.bloat)
      pass.readings.emplace(rel.relid, *reading.bloat);
  }
}

}  // namespace

// One row whatever is installed: the session's lock_timeout, the extension's schema (NULL when it is not
// installed), whether the regclass versions of both functions exist (an extension created before
// PostgreSQL 9.6 and never updated lacks them), and whether the role may call them. quote_ident() quotes
// the schema for the look-up (and, unlike format('%I'), passes a NULL on).
const std::string_view kAvailabilitySql = R"SQL(
SELECT current_setting('lock_timeout') AS lock_timeout, n.nspname AS schema,
       coalesce(to_regprocedure(quote_ident(n.nspname) || '.pgstattuple_approx(regclass)') IS NOT NULL
                AND to_regprocedure(quote_ident(n.nspname) || '.pgstatindex(regclass)') IS NOT NULL, false) AS functions,
       coalesce(has_schema_privilege(n.oid, 'USAGE')
                AND has_function_privilege(to_regprocedure(quote_ident(n.nspname) || '.pgstattuple_approx(regclass)'),
                                           'EXECUTE')
                AND has_function_privilege(to_regprocedure(quote_ident(n.nspname) || '.pgstatindex(regclass)'),
                                           'EXECUTE'), false) AS permitted
  FROM (SELECT 1) AS one
  LEFT JOIN (pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace)
         ON e.extname = 'pgstattuple'
)SQL";

std::optional<ExtensionState> parse_extension_state(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int lock = f.require("lock_timeout"), schema = f.require("schema"),
            functions = f.require("functions"), permitted = f.require("permitted");
  if (!f.error().empty() || rows.size() != 1) return std::nullopt;
  ExtensionState s;
  s.lock_timeout = f.text(0, lock);
  const auto name = rows.get(0, schema);
  const bool functions_there = f.boolean(0, functions), may_call = f.boolean(0, permitted);
  if (!f.error().empty()) return std::nullopt;
  if (!name || !functions_there) return s;  // missing
  s.schema = std::string(*name);
  s.availability = may_call ? model::ExactAvailability::kAvailable : model::ExactAvailability::kNotPermitted;
  return s;
}

// The relation is looked up in pg_class first, so one dropped since the run's catalog query gives no row
// instead of an error; the LATERAL call then runs only for the row found.
std::string table_reading_sql(const std::string& quoted_schema) {
  return "SELECT a.table_len, a.approx_free_space, a.dead_tuple_len FROM pg_catalog.pg_class c "
         "CROSS JOIN LATERAL " +
         quoted_schema + ".pgstattuple_approx(c.oid::regclass) a WHERE c.oid = $1::oid";
}

std::string index_reading_sql(const std::string& quoted_schema) {
  return "SELECT a.index_size, a.avg_leaf_density FROM pg_catalog.pg_class c "
         "CROSS JOIN LATERAL " +
         quoted_schema + ".pgstatindex(c.oid::regclass) a WHERE c.oid = $1::oid";
}

std::optional<model::ExactBloat> parse_table_reading(const pg::Rows& rows, int fillfactor, double now_unix) {
  return reading_of(rows, false, fillfactor, now_unix).bloat;
}

std::optional<model::ExactBloat> parse_index_reading(const pg::Rows& rows, int fillfactor, double now_unix) {
  return reading_of(rows, true, fillfactor, now_unix).bloat;
}

ReadingFailure classify_reading_failure(const pg::Error& e) {
  if (e.kind != pg::Error::Kind::kServer) return ReadingFailure::kStop;
  if (e.sqlstate == pg::sqlstate::kInsufficientPrivilege) return ReadingFailure::kNotPermitted;
  if (e.sqlstate == pg::sqlstate::kUndefinedTable) return ReadingFailure::kGone;
  return ReadingFailure::kSkip;
}

std::vector<model::ExactCandidate> exact_candidates(const std::vector<model::RelationBloat>& relations) {
  std::vector<model::ExactCandidate> out;
  out.reserve(relations.size());
  for (const auto& r : relations) {
    if (r.index && !r.valid) continue;
    std::optional<double> measured;
    if (r.exact) measured = r.exact->measured_unix;
    out.push_back({r.relid, r.index, r.shape.relpages * r.shape.block_size, measured});
  }
  return out;
}

void attach_readings(std::vector<model::RelationBloat>& relations,
                     const std::unordered_map<std::int64_t, model::ExactBloat>& readings) {
  for (auto& r : relations)
    if (const auto it = readings.find(r.relid); it != readings.end()) r.exact = it->second;
}

awaitable<ExactPass> read_exact(pg::Connection& conn, const std::vector<model::RelationBloat>& relations,
                                const ExactSettings& s) {
  const auto started = steady_clock::now();
  ExactPass pass;
  const auto order = model::exact_round_robin(exact_candidates(relations), s.min_size_bytes);
  pass.due = order.size();
  const auto state = co_await look_up(conn, s, pass);
  if (state) pass.availability = state->availability;
  if (!state || state->availability != model::ExactAvailability::kAvailable || order.empty()) {
    pass.left = order.size();
    pass.seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    co_return pass;
  }
  if (auto e = co_await set_lock_timeout(conn, std::to_string(s.lock_timeout.count()), s.query_timeout)) {
    pass.error = std::move(e);
    pass.left = order.size();
  } else {
    co_await read_due(conn, relations, order, conn.escape_identifier(state->schema), s, started, pass);
    // A session left with another lock_timeout would change what every later query of this connection
    // waits for: when it cannot be restored, the connection goes (the watch opens a fresh one).
    if (auto restore = co_await set_lock_timeout(conn, state->lock_timeout, s.query_timeout)) {
      if (!pass.error) pass.error = std::move(restore);
      conn.close();
    }
  }
  pass.seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  co_return pass;
}

}  // namespace pghealthd::collectors
