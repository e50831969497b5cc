// The SQL of maintenance actions, built by pure functions from names already quoted with libpq's
// PQescapeIdentifier (pg::Connection::escape_identifier), schema and table each on its own: nothing is
// pasted, and any legal name works. Also the version-dependent SQL the engine watches with.
#pragma once

#include <string>
#include <string_view>

#include "policy/vacuum_policy.h"

namespace pghealthd::maintenance {

struct StatementOptions {
  bool truncate = false;  // false adds TRUNCATE false: no ACCESS EXCLUSIVE lock for the final truncation
};

// REINDEX INDEX CONCURRENTLY of one index; empty when a quoted part is empty.
[[nodiscard]] std::string reindex_statement(std::string_view quoted_schema, std::string_view quoted_index);
// DROP INDEX CONCURRENTLY IF EXISTS of a leftover of a failed concurrent rebuild; empty likewise.
[[nodiscard]] std::string drop_index_statement(std::string_view quoted_schema, std::string_view quoted_index);

// What runs for `action` on a relation of `relkind`: VACUUM (ANALYZE, SKIP_LOCKED[, TRUNCATE false]);
// VACUUM (FREEZE, SKIP_LOCKED[, TRUNCATE false]) for a freeze; ANALYZE (SKIP_LOCKED) for ANALYZE-only and
// for partitioned parents, which are never vacuumed as a whole.
// Empty when a quoted part is empty (quoting failed): nothing must run then; empty for kTune, whose
// ALTER TABLE is its advice's (policy::alter_statement), and for kReindex (reindex_statement).
[[nodiscard]] std::string statement(policy::Action action, char relkind, std::string_view quoted_schema,
                                    std::string_view quoted_table, const StatementOptions& options);

// The `action` label of what runs: "vacuum", "analyze" or "freeze".
[[nodiscard]] std::string_view action_label(policy::Action action, char relkind);

// Whether that statement is a VACUUM (its proof is vacuum_count; a freeze's is relfrozenxid too) or an
// ANALYZE (analyze_count).
[[nodiscard]] bool is_vacuum(policy::Action action, char relkind);

// How long the session that has waited longest for a lock held by backend $1 has waited, in seconds (0
// when none). pg_locks.waitstart exists from PostgreSQL 14; on 13 the wait is measured from the waiting
// statement's start (pg_stat_activity.state_change of a backend whose wait_event_type is Lock), which
// is when a DDL statement starts to queue.
[[nodiscard]] std::string_view blocked_sessions_sql(int server_version);

}  // namespace pghealthd::maintenance
