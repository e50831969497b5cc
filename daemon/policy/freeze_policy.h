// Freezing ahead of autovacuum, as a pure function: (tables, their freeze ages, rules, history,
// environment, now) -> which tables to VACUUM (FREEZE) and why the others are left alone. Like
// policy::decide, no I/O; the maintenance engine carries the answer out with the same safeguards.
//
// A table is a candidate when its freeze due ratio (model::freeze_due_ratio: XID or multixact age over
// the table's effective freeze max age) is at least freeze.min_age_ratio: frozen in a quiet window before
// an anti-wraparound autovacuum comes at a bad moment. For each table, the first that applies is the reason:
//   temporary           only its own session can vacuum a temporary table
//   excluded            a `vacuum.tables` rule excludes it (a table kept from pghealthd's vacuums is kept
//                       from its freezes too)
//   below_threshold     its due ratio is below min_age_ratio
//   cooldown            pghealthd froze it (or tried to) less than the table's vacuum cooldown ago; a
//                       freeze cut short by the end of its window continues in the next one
//   autovacuum_running  a vacuum of it is running (an anti-wraparound autovacuum counts)
//   outside_window      now is outside every freeze window
//   in_recovery         the server is a standby
//   not_leader          another pghealthd holds this database's vacuum lock
//   rate_limited        freeze.max_concurrent freezes already run on this target, or vacuum.max_per_hour
//                       is used up
//   dry_run             it would freeze it, but freeze.dry_run is on
// Candidates come first, the nearest to wraparound (highest due ratio) first. Partitioned parents have
// no storage and no freeze age: only their partitions are frozen.
#pragma once

#include <vector>

#include "config/config.h"
#include "model/stats.h"
#include "policy/vacuum_policy.h"

namespace pghealthd::policy {

// `tables` are the database's last stat_user_tables rows (a decision points into them); `ages` its
// freeze collector's rows, matched by relid (a table missing from either is not considered).
// `history` is what pghealthd remembers of its own freezes; `max_per_hour` is vacuum's, shared with it.
[[nodiscard]] std::vector<Decision> decide_freeze(const std::vector<model::TableStats>& tables,
                                                  const std::vector<model::FreezeAge>& ages, const config::Freeze& cfg,
                                                  int max_per_hour, const RuleSet& rules, const History& history,
                                                  const Environment& env, TimePoint now);

}  // namespace pghealthd::policy
