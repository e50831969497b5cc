#include "maintenance/statement.h"

namespace pghealthd::maintenance {

bool is_vacuum(policy::Action action, char relkind) {
  return action != policy::Action::kAnalyze && action != policy::Action::kTune &&
         action != policy::Action::kReindex && relkind != 'p';
}

std::string_view action_label(policy::Action action, char relkind) {
  if (action == policy::Action::kFreeze) return "freeze";
  if (action == policy::Action::kTune) return "tune";
  if (action == policy::Action::kReindex) return "reindex";
  return is_vacuum(action, relkind) ? "vacuum" : "analyze";
}

std::string statement(policy::Action action, char relkind, std::string_view quoted_schema,
                      std::string_view quoted_table, const StatementOptions& options) {
  // A tuning change's ALTER TABLE comes from its advice (policy::alter_statement), not from here.
  if (quoted_schema.empty() || quoted_table.empty() || action == policy::Action::kTune ||
      action == policy::Action::kReindex)
    return {};
  std::string name = std::string(quoted_schema) + "." + std::string(quoted_table);
  if (!is_vacuum(action, relkind)) return "ANALYZE (SKIP_LOCKED) " + name;
  if (action == policy::Action::kFreeze)
    return std::string("VACUUM (FREEZE, SKIP_LOCKED") + (options.truncate ? "" : ", TRUNCATE false") + ") " + name;
  return std::string("VACUUM (ANALYZE, SKIP_LOCKED") + (options.truncate ? "" : ", TRUNCATE false") + ") " + name;
}

std::string reindex_statement(std::string_view quoted_schema, std::string_view quoted_index) {
  if (quoted_schema.empty() || quoted_index.empty()) return {};
  return "REINDEX INDEX CONCURRENTLY " + std::string(quoted_schema) + "." + std::string(quoted_index);
}

std::string drop_index_statement(std::string_view quoted_schema, std::string_view quoted_index) {
  if (quoted_schema.empty() || quoted_index.empty()) return {};
  return "DROP INDEX CONCURRENTLY IF EXISTS " + std::string(quoted_schema) + "." + std::string(quoted_index);
}

std::string_view blocked_sessions_sql(int server_version) {
  static constexpr std::string_view kSince14 =
      "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart)), 0)::float8 "
      "FROM pg_locks l WHERE NOT l.granted AND $1::int = ANY (pg_blocking_pids(l.pid))";
  static constexpr std::string_view kBefore14 =
      "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - a.state_change)), 0)::float8 "
      "FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' AND $1::int = ANY (pg_blocking_pids(a.pid))";
  return server_version >= 140000 ? kSince14 : kBefore14;
}

}  // namespace pghealthd::maintenance
