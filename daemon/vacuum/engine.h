// Carries out the vacuum policy for one database, safely:
//  - its own connection, one statement per call, autocommit; statement_timeout = max_duration,
//    lock_timeout and vacuum_cost_delay/limit set for the session, client_connection_check_interval so
//    the server ends our VACUUM soon after we disappear;
//  - VACUUM (ANALYZE, SKIP_LOCKED, TRUNCATE false) on the schema-qualified name, each part quoted with
//    PQescapeIdentifier; ANALYZE (SKIP_LOCKED) for ANALYZE-only and partitioned parents;
//  - a session-level advisory lock per database while acting, so two pghealthd never vacuum at once;
//  - right before each action: still a primary? not being vacuumed already?
//  - while it runs, a second connection watches for sessions waiting on a lock we hold; when one has
//    waited lock_timeout, our VACUUM is cancelled (as autovacuum yields), so DDL is never queued behind us;
//  - afterwards, statistics are re-read: dead rows removed are counted, and dead rows that stay because the
//    xmin horizon is held are blamed on its holder, and the table is left alone until the horizon moves;
//  - both connections exist only during a check that wants to act, and at most max_concurrent databases of
//    a target run such a check at once (the others skip as rate_limited), so vacuum adds at most
//    2 * max_concurrent connections per target.
//
// Thread-safety: loop thread only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>

#include "app/context.h"
#include "collectors/collector.h"
#include "policy/vacuum_policy.h"
#include "pg/connection.h"

namespace pghealthd::vacuum {

// Shared by every database of one target: max_concurrent and max_per_hour are per target.
struct TargetBudget {
  int running = 0;
  int checking = 0;  // checks holding vacuum connections (at most max_concurrent, see Engine::check)
  std::deque<policy::TimePoint> actions;  // our actions in the last hour
  [[nodiscard]] int actions_since(policy::TimePoint since);
};

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  Engine(app::Context& ctx, const config::Target& target, const config::Vacuum& cfg, metrics::DbKey key,
         std::optional<std::string> dbname, std::shared_ptr<TargetBudget> budget);

  void start();
  // Cancels a running VACUUM on the server and closes both connections.
  void stop();

  // Called with every fresh stat_user_tables snapshot; starts a check unless one is running.
  void on_tables(std::shared_ptr<const collectors::Snapshot> snapshot);

 private:
  awaitable<void> check(std::shared_ptr<Engine> self, std::shared_ptr<const collectors::Snapshot> snapshot);
  awaitable<bool> ensure_connected(pg::Connection& conn, bool vacuum_session);
  awaitable<void> act(const policy::Decision& d, const policy::TableRules& rules);
  awaitable<void> watch_blockers(std::shared_ptr<Engine> self, int vacuum_pid, std::shared_ptr<bool> done);
  awaitable<std::optional<model::HorizonHolder>> oldest_horizon();
  void record_skip(const policy::Decision& d);

  app::Context& ctx_;
  config::Target target_;
  config::Vacuum cfg_;
  policy::RuleSet rules_;
  metrics::DbKey key_;
  pg::ConnectParams params_;
  std::shared_ptr<TargetBudget> budget_;
  pg::Connection conn_;   // runs VACUUM and holds the advisory lock
  pg::Connection watch_;  // environment checks, re-reads and the blocker watch
  policy::History history_;
  std::map<std::int64_t, std::string> logged_;  // relid -> last reason logged, so skips are logged once
  bool busy_ = false;
  bool stopped_ = false;
  bool cancelled_by_us_ = false;
  std::string last_error_;
};

// The lock key of pg_try_advisory_lock: advisory locks are per database, so one key serves all.
inline constexpr std::int64_t kLeaderLockKey = 0x7067686561746864;  // "pghealthd" folded into 64 bits

}  // namespace pghealthd::vacuum
