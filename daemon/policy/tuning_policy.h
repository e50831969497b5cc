// Applying autovacuum tuning advice (tuning.apply), as a pure function: (tables, their churn history,
// settings, what pghealthd tuned lately, environment, now) -> which tables get an ALTER TABLE ... SET and
// why the others are left alone. Like policy::decide, no I/O; the maintenance engine carries the answer out
// in its frame (primary only, leader lock, lock_timeout) and proves it from pg_class.reloptions.
//
// A table is a candidate when policy::advise has advice for it (never looser than a DBA's setting unless
// tuning.may_relax). For each candidate, the first that applies is the reason it waits:
//   below_threshold     pghealthd has watched it under its current settings for less than
//                       tuning.min_history (default 1h): advice is applied from history, never a first look
//   temporary           another session's temporary table cannot be altered
//   excluded            a `vacuum.tables` rule excludes it: pghealthd writes nothing to it
//   cooldown            pghealthd tuned it (or tried to) less than a day ago: one change per table per day
//   autovacuum_running  a vacuum of it is running (ALTER TABLE would wait for its lock)
//   outside_window      now is outside every tuning window
//   in_recovery         the server is a standby
//   not_leader          another pghealthd holds this database's lock
//   rate_limited        tuning.max_per_day changes were made on this target in the last day
// Candidates come first, the highest observed peak first.
#pragma once

#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "model/stats.h"
#include "policy/advice.h"
#include "policy/vacuum_policy.h"

namespace pghealthd::policy {

inline constexpr std::chrono::hours kTuningCooldown{24};

// `churn` is the stat_user_tables snapshot's history, by relid (a table without one is not considered);
// `history` what pghealthd remembers of its own changes; `tuned_last_day` its changes on this target in the
// last 24 hours.
[[nodiscard]] std::vector<Decision> decide_tuning(const std::vector<model::TableStats>& tables,
                                                  const std::unordered_map<std::int64_t, model::Churn>& churn,
                                                  const config::Tuning& cfg, const AdviceSettings& advice,
                                                  const RuleSet& rules, const History& history,
                                                  const Environment& env, int tuned_last_day, TimePoint now);

}  // namespace pghealthd::policy
