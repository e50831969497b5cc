// Watches one database of one target: runs each enabled collector on its own interval (app/schedule.h) over
// one connection, one query at a time, reconnecting with capped exponential backoff.
//
// Lanes: when due collectors have waited kSpillAfter (250 ms) behind a running one, the watch opens one
// more connection on a free slot of the target (never ahead of a database that waits for one), and so on,
// one at a time; the queue is served longest-running collector first. At 100,000 tables this bounds a cycle
// by its slowest view instead of their sum; a small database never waits that long and keeps one
// connection. An extra connection stays open while it gets work, and closes after kLinger with nothing to
// do, at once when another database of the target waits for a slot, or when the database goes down.
//
// The connection needs one of the target's slots (max_connections, app/slot_pool.h): the worker takes a
// slot before it connects and keeps it while it has work. When its queue is empty and another database
// of the target waits for a slot, it closes its connection and hands the slot over; when nobody waits, it
// keeps both. Waiting for a slot is not being down: pghealthd_up keeps its value, and a collector's
// deadline and duration start when its query is sent. A database in backoff gives its slot back.
//
// Statistics collectors due together (stat_user_tables, statio_user_tables, stat_user_indexes) run in one
// read-only transaction, one after another: the server builds its copy of the statistics once for them
// (app/schedule.h, share_statistics). One that a lane takes meanwhile runs there on its own.
//
// A collector that is still queued or running when its next run is due skips that run (counted in
// pghealthd_collector_skipped_total); it never overlaps itself. A database that is down, slow or stuck
// only delays its own collectors: everything here is asynchronous on the shared loop.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/context.h"
#include "app/schedule.h"
#include "app/slot_pool.h"
#include "metrics/snapshot.h"
#include "pg/connection.h"

namespace pghealthd::collectors {
struct Fetched;
struct ExactPass;
}  // namespace pghealthd::collectors

namespace pghealthd::app {

class DatabaseWatch : public std::enable_shared_from_this<DatabaseWatch> {
 public:
  // `dbname` replaces conninfo's database when set; `datname` is the label either way.
  // `slots` are the target's connection slots. The database's maintenance engine is not the watch's: it
  // lives in ctx.engines (app/engines.h), which the watch tells that the database is watched.
  DatabaseWatch(Context& ctx, const config::Target& target, std::string datname, std::optional<std::string> dbname,
                std::shared_ptr<SlotPool> slots);

  void start();
  // Stops every timer and closes the connection. `withdraw` drops the database's series and its
  // maintenance engine; a reload that replaces this watch with a new one for the same database keeps
  // both, so /metrics has no gap and a running VACUUM goes on.
  void stop(bool withdraw = true);

  // Whether this watch's freeze collector exports every database's ages (one watch per target does; see
  // TargetWatch::designate). Turned on after the start, it runs the freeze collector at once.
  void report_databases(bool on);

  [[nodiscard]] const metrics::DbKey& key() const { return key_; }
  [[nodiscard]] bool up() const { return up_; }

 private:
  // The cardinality filter for a run of `kind`, with its current share of the series budget.
  metrics::SeriesFilter& filter_for(collectors::Kind kind);
  // Sets the run's series gauges and logs a budget cut (see filter_for).
  void report_series(collectors::Kind kind, const metrics::Fragments& series);
  // Coroutines take `self` so the watch outlives them even after its owner lets go.
  // Runs at `start` (at once), then on the grid of next_run() from it.
  awaitable<void> schedule(std::shared_ptr<DatabaseWatch> self, collectors::Kind kind,
                           config::Duration interval, config::Duration phase,
                           std::chrono::steady_clock::time_point start);
  awaitable<void> worker(std::shared_ptr<DatabaseWatch> self);
  // Runs the queued collector that took longest last time, on `conn` (the watch's own when `primary`), and
  // the statistics collectors that share its transaction.
  awaitable<void> run_next(pg::Connection& conn, bool primary);
  awaitable<void> collect(collectors::Kind kind, pg::Connection& conn, bool primary);
  // A run of `kind` failed: its series withdrawn, the error logged when it changed.
  void fail_run(collectors::Kind kind, const std::string& error);
  // The run's snapshot from the server's answer: parsed, read exactly when it is the bloat collector's and
  // bloat.exact is on, rendered. Empty when the watch stopped meanwhile.
  // What a run carries on from the collector's previous snapshot, taken at its first build().
  struct Carried {
    std::array<std::size_t, metrics::kFamilyCount> expected_bytes{};
    metrics::History history;
  };
  awaitable<metrics::Outcome> build(collectors::Kind kind, collectors::Fetched& fetched, pg::Connection& conn,
                                    bool full, std::optional<Carried>& carried);
  // The exact bloat pass of a run (collectors/bloat_exact.h): the previous run's readings carried on, this
  // run's added, and what happened logged (report_exact).
  awaitable<void> read_exact_bloat(pg::Connection& conn, metrics::Snapshot& snapshot,
                                   const metrics::History& history);
  void report_exact(const collectors::ExactPass& pass, std::optional<model::ExactAvailability> before);
  struct Lane;
  awaitable<void> lane(std::shared_ptr<DatabaseWatch> self, std::shared_ptr<Lane> lane);
  // Work waits while every connection is busy: wake a parked lane, or open one after kSpillAfter.
  // `progressed`: a collector just started, so the wait starts over.
  void consider_spill(bool progressed);
  void open_lane();
  void retire_lanes();
  void enqueue(collectors::Kind kind);
  void fail_all(const std::string& why);
  void set_up(bool up, const std::string& why);
  void wake();
  void give_back_slot();

  Context& ctx_;
  config::Target target_;
  metrics::DbKey key_;
  pg::ConnectParams params_;
  pg::Connection conn_;
  metrics::DbSeries* series_ = nullptr;
  std::shared_ptr<SlotPool> pool_;
  std::shared_ptr<SlotPool::Member> slot_;
  std::vector<std::shared_ptr<Lane>> lanes_;  // extra connections
  asio::steady_timer spill_;
  bool spill_armed_ = false;
  int running_ = 0;  // collectors running now, on any connection
  std::array<double, collectors::kKindCount> last_seconds_{};
  std::deque<Queued> queue_;
  std::array<bool, collectors::kKindCount> pending_{};  // queued or running
  std::array<std::string, collectors::kKindCount> last_error_{};
  metrics::SeriesFilter filter_;
  std::array<std::size_t, collectors::kKindCount> dropped_{};  // at each collector's last run
  // Runs since the last full one, of the collectors that have them (Definition::has_full_runs).
  std::array<std::size_t, collectors::kKindCount> since_full_{};
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
  asio::steady_timer wakeup_;
  bool stopped_ = false;
  bool started_ = false;
  bool reports_databases_ = false;
  bool up_ = false;
  bool ever_connected_ = false;
  bool waiting_to_retry_ = false;  // in backoff: due collectors fail at once instead of queueing
  std::string last_connect_error_;
  std::string last_exact_error_;  // what ended the last exact bloat pass early (logged when it changes)
};

}  // namespace pghealthd::app
