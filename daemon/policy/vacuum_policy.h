// The automatic VACUUM decision, as a pure function: (snapshot, rules, history, environment, now) ->
// what to do with every table and why. No I/O: it is tested in microseconds, and the engine
// (maintenance/engine.h) only gathers its inputs and carries out its answer.
//
// For each table, in this order (the first that applies is the reason):
//   temporary           a temporary table (of any session): PostgreSQL skips other sessions' temporary
//                       tables without a word, so acting on one could only be counted as a lie
//   excluded            a `vacuum.tables` rule excludes it
//   below_threshold     dead ratio <= dead_tuple_ratio, or fewer than min_dead_tuples dead rows (and, with
//                       only_when_autovacuum_late, autovacuum is not yet due); for ANALYZE-only, rows
//                       modified since the last analyze below min_modified_tuples + modified_ratio x live
//   cooldown            vacuumed (by anyone) or acted on by us less than `cooldown` ago
//   xmin_horizon_held   our last vacuum left dead rows behind because the horizon was held, and it has not
//                       moved since: vacuuming again could not remove them
//   autovacuum_running  a vacuum of it is already running (pg_stat_progress_vacuum)
//   outside_window      now is outside every maintenance window
//   in_recovery         the server is a standby
//   not_leader          another pghealthd holds this database's vacuum lock
//   rate_limited        max_per_hour is used up, or max_concurrent vacuums already run on this target
//   dry_run             it would act, but dry_run is on
// Partitioned parents are never vacuumed as a whole: when one of its partitions is acted on, the parent
// gets an ANALYZE (its statistics come only from a manual ANALYZE).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/pattern.h"
#include "model/bloat.h"
#include "model/stats.h"
#include "policy/advice.h"

namespace pghealthd::policy {

using TimePoint = std::chrono::system_clock::time_point;

enum class Reason {
  kBelowThreshold,
  kCooldown,
  kOutsideWindow,
  kRateLimited,
  kAutovacuumRunning,
  kInRecovery,
  kNotLeader,
  kXminHorizonHeld,
  kExcluded,
  kDryRun,
  kTemporary,
  // REINDEX only (policy/reindex_policy.h): never a vacuum's reason.
  kExclusionConstraint,  // the index enforces an exclusion constraint: REINDEX CONCURRENTLY cannot rebuild it
  kIndexBuildRunning,    // an index of its table is being built or rebuilt now (pg_stat_progress_create_index)
};
inline constexpr std::size_t kReasonCount = 13;
inline constexpr std::size_t kVacuumReasonCount = 11;  // the first ones: a vacuum's, freeze's and tuning's
[[nodiscard]] std::string_view name(Reason r);

enum class Action { kVacuumAnalyze, kAnalyze, kFreeze, kTune, kReindex };
[[nodiscard]] std::string_view name(Action a);

// The vacuum settings that apply to one table after `vacuum.tables` overrides.
struct TableRules {
  bool excluded = false;
  double dead_tuple_ratio = 0.05;
  std::int64_t min_dead_tuples = 100;
  config::Duration cooldown{std::chrono::hours(1)};
};

// `vacuum.tables` compiled once: first matching rule wins.
class RuleSet {
 public:
  explicit RuleSet(const config::Vacuum& cfg);
  [[nodiscard]] TableRules for_table(const std::string& schema, const std::string& table) const;

 private:
  struct Compiled {
    config::Pattern schema, table;
    config::VacuumOverride rule;
  };
  TableRules defaults_;
  std::vector<Compiled> rules_;
};

// What pghealthd remembers of its own actions on one table.
struct TableHistory {
  std::optional<TimePoint> last_action;   // when we last vacuumed or analyzed it (dry runs excluded)
  std::optional<std::string> held_xmin;  // our last vacuum left dead rows behind this horizon xmin
};
using History = std::map<std::int64_t, TableHistory>;  // by relid

struct LocalTime {
  int weekday = 0;  // 0 = Sunday
  int minute = 0;   // minutes after midnight
  int second = 0;   // seconds after the minute
};

struct Environment {
  bool in_recovery = false;
  bool leader = true;
  std::set<std::int64_t> vacuum_running;   // relids being vacuumed now (autovacuum or anyone)
  std::optional<std::string> horizon_xmin;  // current oldest held xmin; nullopt when nothing holds it
  int running = 0;            // our own vacuums running now on this target
  int freezes_running = 0;    // of which freezes (freeze.max_concurrent)
  int reindexes_running = 0;  // our REINDEXes running now on this target (one at a time)
  int actions_last_hour = 0;  // our own actions on this target in the last hour
  LocalTime local;            // now, in the vacuum time zone
};

struct Decision {
  const model::TableStats* table = nullptr;
  std::optional<Action> action;   // set: act
  std::optional<Reason> skipped;  // set: do not act, for this reason
  std::string why;                // what crossed (or did not cross) which threshold
  std::optional<Advice> advice;   // kTune: the reloptions to set
  const model::RelationBloat* index = nullptr;  // kReindex: the index (`table` is its table)
};

[[nodiscard]] bool in_window(const std::vector<config::Window>& windows, LocalTime now);
// How long until the window `now` is in closes (the latest closing one when several hold `now`); 0 when
// `now` is in none; nothing when there are no windows (any time is allowed, nothing closes).
[[nodiscard]] std::optional<std::chrono::seconds> window_remaining(const std::vector<config::Window>& windows,
                                                                   LocalTime now);

// What keeps a candidate waiting that comes from the server and the clock, in this order: a vacuum of it
// running, now outside `windows` (the "freeze" or "tuning" windows: `windows_name`), a standby, another
// pghealthd the leader. None: it may act now.
struct Wait {
  Reason reason;
  std::string why;
};
[[nodiscard]] std::optional<Wait> environment_wait(std::int64_t relid, const std::vector<config::Window>& windows,
                                                   std::string_view windows_name, const Environment& env);

// The budgets and dry_run over candidates already in the order they would run: while there is no free
// slot or the hourly budget is spent, a candidate becomes rate_limited (with that why); in a dry run the
// others become dry_run, keeping their action. Those that act come first, then `skipped`.
struct Budget {
  bool no_slot = false;
  int left = 0;  // actions left this hour
  bool dry_run = false;
  std::string no_slot_why, spent_why;
};
[[nodiscard]] std::vector<Decision> apply_budget(std::vector<Decision> acting, std::vector<Decision> skipped,
                                                 const Budget& budget);

// Candidates and the measure they run in order of, largest first (the oldest freeze, the highest peak,
// the most wasted bytes).
struct Ranked {
  Decision decision;
  double rank = 0;
};
// The decisions, the highest rank first; equal ranks keep their order.
[[nodiscard]] std::vector<Decision> highest_first(std::vector<Ranked> ranked);

// Decides for every table of one database. Tables to act on come first, most dead rows first.
[[nodiscard]] std::vector<Decision> decide(const std::vector<model::TableStats>& tables, const config::Vacuum& cfg,
                                           const RuleSet& rules, const History& history, const Environment& env,
                                           TimePoint now);

}  // namespace pghealthd::policy
