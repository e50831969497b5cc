// The maintenance engine of one database: the one frame every action that writes to a database runs in.
// Its actions are VACUUM (ANALYZE) and ANALYZE (vacuum:), VACUUM (FREEZE) ahead of autovacuum (freeze:,
// from the freeze collector's ages), ALTER TABLE ... SET (autovacuum_*) of tuning advice (tuning:,
// policy::decide_tuning, proven from pg_class.reloptions), and REINDEX INDEX CONCURRENTLY of bloated btree
// indexes (reindex:, policy::decide_reindex from the bloat collector's numbers, proven from the catalog: the
// index of that name is a new, valid relation). They share one frame and its safeguards:
//  - decisions are pure (policy::decide picks candidates; maintenance/outcome.h classifies what happened;
//    maintenance/statement.h builds the SQL); this class only gathers their inputs and carries them out;
//  - its own connection, one statement per call, autocommit; statement_timeout = max_duration,
//    lock_timeout and vacuum_cost_delay/limit for the session, client_connection_check_interval so the
//    server ends our statement soon after we disappear;
//  - only on a primary, only while holding the database's leader lock (a session-level advisory lock,
//    so two pghealthd never act on one database at once), only in the maintenance windows, within the
//    target's max_concurrent and max_per_hour (TargetBudget, shared by the target's engines);
//  - right before each action: still a primary? nobody vacuuming the table already? its counters;
//  - while it runs, a second connection watches for sessions waiting on a lock we hold; when one has
//    waited lock_timeout, our statement is cancelled (as autovacuum yields), so DDL never queues behind us;
//  - afterwards, the counters are read again, once the server's statistics show the run (its counter
//    moved) or a short deadline passed: a run is `success` only when the counter moved; dead rows that
//    stay because the xmin horizon is held are blamed on its holder, and the table is left alone until the
//    horizon moves;
//  - a freeze runs with statement_timeout = freeze.max_duration, and is cancelled when its window closes
//    (the pages it froze stay frozen: the next window goes on from there); its proof is vacuum_count, and
//    the table's age after it is read from pg_class;
//  - a REINDEX runs with statement_timeout = reindex.max_duration, one at a time per target and one per
//    check (vacuums, freezes and tuning come first); it starts only in a reindex window and is not cancelled
//    when the window closes (all its work would be lost). A failed or cancelled one leaves an invalid
//    <index>_ccnew behind (and <index>_ccold when only the last step failed): the engine drops it with DROP
//    INDEX CONCURRENTLY at once, and drops such leftovers found at its first check (after a crash or a
//    kill -9), unless another session is building an index on that table or holds a lock on it;
//  - both connections exist only during a check that wants to act, and at most max_concurrent databases
//    of a target run such a check at once (the others skip as rate_limited).
//
// The engine lives as long as its database is watched with vacuum enabled (app/engines.h), not as long
// as a collector: a reload that changes neither its connection nor its vacuum settings does not touch it,
// and one that does applies them at the next decision. A running action is cancelled only when its table
// is no longer allowed (now excluded), when the engine stops (vacuum disabled, database removed,
// shutdown), or to yield; the log says which.
//
// Thread-safety: loop thread only.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "collectors/collector.h"
#include "model/action_log.h"
#include "maintenance/outcome.h"
#include "pg/connection.h"
#include "policy/reindex_policy.h"
#include "policy/vacuum_policy.h"

namespace pghealthd::maintenance {

// Where an engine reports. One per database; app/engines.cpp writes it into the metrics store.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void skipped(std::string_view reason) = 0;
  // `action`: vacuum, analyze or freeze (the `action` label); a REINDEX has reindexed().
  virtual void run(const std::string& schema, const std::string& table, std::string_view action,
                   std::string_view result) = 0;
  virtual void duration(double seconds) = 0;
  virtual void removed(std::int64_t rows) = 0;
  // One tuning change (ALTER TABLE ... SET) by result (pghealthd_tuning_changes_total).
  virtual void tuned(std::string_view result) = 0;
  // One REINDEX by result (pghealthd_reindex_runs_total), the bytes it gave back, a candidate index left
  // alone at a check, and a leftover of a failed concurrent rebuild dropped.
  virtual void reindexed(const std::string& schema, const std::string& table, const std::string& index,
                         std::string_view result) = 0;
  virtual void reclaimed(std::int64_t bytes) = 0;
  virtual void reindex_skipped(const std::string& schema, const std::string& table, const std::string& index,
                               std::string_view reason) = 0;
  virtual void leftover_dropped() = 0;
  // The table is gone (dropped, or renamed): its per-table series go with it.
  virtual void forget(const std::string& schema, const std::string& table) = 0;
  // One line of the maintenance log (GET /): an action's end, or a decision not to act, as the log says it.
  virtual void logged(model::LogEntry entry) = 0;
  // The action whose statement runs now (`at_unix`: since when), or none (GET /'s "Running now").
  virtual void running(std::optional<model::LogEntry> action) = 0;
};

// The configuration sections an engine acts by.
struct Config {
  config::Vacuum vacuum;
  config::Freeze freeze;
  config::Advice advice;
  config::Tuning tuning;
  config::Reindex reindex;
  [[nodiscard]] static Config of(const config::Config& c) {
    return {c.vacuum, c.freeze, c.advice, c.tuning, c.reindex};
  }
  // Whether any of them asks an engine to act (else no engine runs).
  [[nodiscard]] bool wanted() const { return vacuum.enabled || freeze.enabled || tuning.apply || reindex.enabled; }
  bool operator==(const Config&) const = default;
};

// Makes the connections an engine acts and watches through.
using ConnectionFactory = std::function<std::unique_ptr<pg::Connection>()>;

// Shared by every engine of one target: max_concurrent and max_per_hour are per target.
struct TargetBudget {
  int running = 0;          // vacuums and analyzes (vacuum.max_concurrent)
  int freezes_running = 0;  // freezes (freeze.max_concurrent)
  int reindexes_running = 0;  // REINDEXes: one at a time
  int checking = 0;  // checks holding connections (at most max_concurrent, see Engine::check)
  std::deque<policy::TimePoint> actions;  // our actions in the last hour
  std::deque<policy::TimePoint> tunings;  // our tuning changes in the last day (tuning.max_per_day)
  std::deque<policy::TimePoint> reindexes;  // our REINDEXes in the last day (reindex.max_per_day)
  // How many of `times` are at or after `since` (older ones are dropped).
  [[nodiscard]] static int since(std::deque<policy::TimePoint>& times, policy::TimePoint since);
};

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  Engine(asio::any_io_executor loop, ConnectionFactory connect, std::unique_ptr<Sink> sink, model::DbKey key,
         pg::ConnectParams params, const Config& cfg, std::shared_ptr<TargetBudget> budget);

  // Whether these are the settings it runs with: a reload that changes none leaves it alone.
  [[nodiscard]] bool same_settings(const pg::ConnectParams& params, const Config& cfg) const;
  // New settings, used from the next decision on. An action running now goes on, unless its table is no
  // longer allowed by the new rules (or its kind is turned off): then it is cancelled, and the log says why.
  void reconfigure(pg::ConnectParams params, const Config& cfg);

  // Called with every fresh stat_user_tables snapshot; starts a check unless one is running.
  void on_tables(std::shared_ptr<const collectors::Data> snapshot);
  // Called with every fresh freeze collector snapshot: the ages the next check's freeze decisions use.
  void on_freeze(std::shared_ptr<const collectors::Data> snapshot) { freeze_ages_ = std::move(snapshot); }
  // Called with every fresh bloat collector snapshot: the numbers the next check's REINDEX decisions use.
  void on_bloat(std::shared_ptr<const collectors::Data> snapshot) { bloat_ = std::move(snapshot); }

  // Cancels a running action on the server (logging `why`) and closes both connections. Final.
  void stop(std::string_view why);

 private:
  struct Settings {
    Settings(pg::ConnectParams p, const Config& c)
        : params(std::move(p)), all(c), cfg(c.vacuum), freeze(c.freeze), tuning(c.tuning),
          advice(policy::advice_settings(c.advice, c.tuning)), rules(c.vacuum) {}
    pg::ConnectParams params;
    Config all;
    config::Vacuum cfg;
    config::Freeze freeze;
    config::Tuning tuning;
    policy::AdviceSettings advice;
    policy::RuleSet rules;
  };
  using SettingsPtr = std::shared_ptr<const Settings>;
  // The action in progress, so a reload or a stop can say what it cancels.
  struct Running {
    std::int64_t relid = 0;  // the table's
    std::string schema, table;
    std::string_view what;  // "vacuum", "analyze", "freeze" or "reindex"
    policy::Action action = policy::Action::kVacuumAnalyze;
    std::string index;  // a REINDEX's index
  };

  awaitable<void> check(std::shared_ptr<Engine> self, std::shared_ptr<const collectors::Data> snapshot);
  awaitable<bool> ensure_connected(pg::Connection& conn, bool action_session, const Settings& s);
  awaitable<void> act(const policy::Decision& d, SettingsPtr s);
  // Right before acting: the skip reason found now, or the table's counters.
  awaitable<std::optional<Counters>> prepare(const policy::Decision& d, const Settings& s);
  // The counters after a run, read until the proving counter moved or a short deadline passed.
  awaitable<std::optional<Counters>> settle(std::int64_t relid, bool vacuum, const Counters& before);
  awaitable<std::optional<Counters>> read_counters(std::int64_t relid);
  // The action session's statement_timeout (a freeze has its own max_duration); false when it failed.
  awaitable<bool> set_statement_timeout(config::Duration timeout);
  // Runs one action's statement on the action session while the blocker watch yields to sessions waiting
  // for its locks; `running_` describes it meanwhile. Its answer, and how long the statement ran (not
  // counting the wait for the blocker watch to wind down, up to one of its polls).
  struct Watched {
    pg::QueryOutcome outcome;
    double seconds = 0;
  };
  awaitable<Watched> run_watched(std::shared_ptr<Engine> self, const std::string& sql,
                                 config::Duration max_duration, const Settings& s);
  // REINDEX INDEX CONCURRENTLY of one index, proven from the catalog, reported; its leftovers dropped.
  // False when it did not start (found busy right before, or the server could not be asked).
  awaitable<bool> reindex(const policy::Decision& d, SettingsPtr s);
  // The index of that name as the catalog shows it now; `read` false when the catalog could not be read.
  awaitable<std::optional<IndexState>> index_state(const std::string& schema, const std::string& index, bool& read);
  // Drops the invalid leftovers of failed concurrent rebuilds (of one table's indexes when table_relid is
  // set); true when every one found is gone, false when one is left or they could not be looked up.
  awaitable<bool> drop_leftovers(std::int64_t table_relid);
  void record_reindex_skip(const policy::Decision& d);
  // Applies one table's tuning advice (ALTER TABLE ... SET), proves it from pg_class.reloptions, reports it.
  awaitable<void> tune(const policy::Decision& d, SettingsPtr s);
  void record_tuning_skip(const policy::Decision& d);
  // age(relfrozenxid) and mxid_age(relminmxid) of the table (or its TOAST table, when older).
  awaitable<std::optional<std::pair<std::int64_t, std::int64_t>>> read_ages(std::int64_t relid);
  // After a successful freeze: the table's age now, and who holds the horizon when it stayed high.
  // `removed`: the dead rows it removed (account()).
  awaitable<void> account_freeze(const policy::Decision& d, const Settings& s, std::int64_t removed,
                                 std::optional<std::pair<std::int64_t, std::int64_t>> ages_before, double seconds);
  awaitable<void> watch_blockers(std::shared_ptr<Engine> self, int backend_pid, config::Duration lock_timeout,
                                 std::shared_ptr<bool> done);
  awaitable<std::optional<model::HorizonHolder>> oldest_horizon();
  void report(const policy::Decision& d, const Outcome& outcome, double seconds, const std::string& detail);
  // Hands one maintenance log entry of table `t` to the sink (time and names filled in here).
  void log_entry(const model::TableStats& t, std::string_view action, std::string_view result, std::string reason,
                 std::optional<double> seconds = std::nullopt, std::optional<std::int64_t> removed = std::nullopt,
                 std::string index = {});
  // A decision not to act, as a log entry: "dry_run" with its reason, else "skipped" with "reason: why".
  void log_skip(const model::TableStats& t, std::string_view action, policy::Reason reason, const std::string& why,
                std::string index = {});
  // `freeze`: a freeze decision (logged apart from the same table's vacuum decisions).
  void record_skip(const policy::Decision& d, bool freeze = false);
  // Logs why the running action is cancelled and marks the cancel as ours; false when nothing runs.
  bool note_cancel(std::string_view why);
  void cancel_running(std::string_view why);
  // Drops what it remembers of tables that are gone: history, log state, per-table series.
  void forget_missing(const std::vector<model::TableStats>& tables);

  asio::any_io_executor loop_;
  std::unique_ptr<Sink> sink_;
  model::DbKey key_;
  SettingsPtr settings_;
  std::uint64_t generation_ = 0;  // bumped by reconfigure: a check under older settings stops early
  std::shared_ptr<TargetBudget> budget_;
  std::unique_ptr<pg::Connection> conn_;   // runs the actions and holds the leader lock
  std::unique_ptr<pg::Connection> watch_;  // environment checks, re-reads and the blocker watch
  policy::History history_;
  policy::History freeze_history_;  // our freezes: their own cooldown
  policy::History tuning_history_;  // our tuning changes: one per table per day
  std::shared_ptr<const collectors::Data> freeze_ages_;  // the freeze collector's last snapshot
  std::shared_ptr<const collectors::Data> bloat_;        // the bloat collector's last snapshot
  policy::ReindexHistory reindex_history_;                // our REINDEXes: one per index per day
  std::map<std::pair<std::string, std::string>, std::string> reindex_logged_;
  bool leftovers_due_ = true;  // look for leftovers of failed rebuilds (at the first check that may act)
  std::set<std::pair<std::string, std::string>> leftover_warned_;  // leftovers we could not drop, said once
  std::map<std::int64_t, std::string> logged_;  // relid -> last reason logged, so skips are logged once
  std::map<std::int64_t, std::string> freeze_logged_;
  std::map<std::int64_t, std::string> tuning_logged_;
  std::map<std::int64_t, std::pair<std::string, std::string>> series_;  // relid -> names with run series
  std::optional<Running> running_;
  bool busy_ = false;
  bool stopped_ = false;
  bool cancelled_by_us_ = false;
  std::string cancel_reason_;
  std::string last_error_;
};

// The lock key of pg_try_advisory_lock: advisory locks are per database, so one key serves all.
inline constexpr std::int64_t kLeaderLockKey = 0x7067686561746864;  // "pghealthd" folded into 64 bits

}  // namespace pghealthd::maintenance
