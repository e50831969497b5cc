#include "app/database_watch.h"

#include <spdlog/spdlog.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>

#include "app/schedule.h"
#include "base/clock.h"
#include "collectors/bloat_exact.h"
#include "collectors/fetch.h"
#include "collectors/stat_user_tables.h"

namespace pghealthd::app {
namespace {

using std::chrono::steady_clock;

// Our client-side deadline sits above the server's statement_timeout, so the server's cancel (SQLSTATE
// 57014) normally ends a slow query; ours only fires when the server itself stops answering.
constexpr std::chrono::seconds kClientDeadlineMargin{2};
// A collector with full runs (Definition::has_full_runs) makes every this many runs a full one: with
// stat_user_tables every 30 s, its TOAST sizes are at most five minutes old.
constexpr std::size_t kFullRunEvery = 10;

// Lanes (see the header): how long due collectors wait behind running ones before another connection
// opens, and how long an extra connection stays open with nothing to do.
constexpr std::chrono::milliseconds kSpillAfter{250};
constexpr std::chrono::minutes kLinger{2};
// Statistics collectors due together share a transaction while their last runs took this long together
// (app::share_statistics); slower ones (about 50,000 tables) run apart, on lanes.
constexpr std::chrono::seconds kShareWithin{2};

std::size_t idx(collectors::Kind k) { return static_cast<std::size_t>(k); }

// libpq builds a result in thousands of small blocks, which glibc's malloc keeps in its arena after
// PQclear; at 10,000 tables that is tens of MB that would stay resident between collections, as would the
// snapshot this one replaces. After a large answer, hand the free pages back to the kernel (a few ms).
void release_freed_memory(std::size_t rows) {
#ifdef __GLIBC__
  if (rows >= 1000) malloc_trim(0);
#else
  (void)rows;
#endif
}

}  // namespace

struct DatabaseWatch::Lane {
  explicit Lane(Context& ctx) : conn(ctx.loop, ctx.blocking), wakeup(ctx.loop) {}
  std::shared_ptr<SlotPool::Member> slot;
  pg::Connection conn;
  asio::steady_timer wakeup;
  bool parked = false;  // connected, waiting for work
  bool retire = false;  // close at the next chance: slot wanted, database down, or stopping
};

DatabaseWatch::DatabaseWatch(Context& ctx, const config::Target& target, std::string datname,
                             std::optional<std::string> dbname, std::shared_ptr<SlotPool> slots)
    : ctx_(ctx),
      target_(target),
      key_{target.name, std::move(datname)},
      params_(connect_params(target, std::move(dbname))),
      conn_(ctx.loop, ctx.blocking),
      pool_(std::move(slots)),
      spill_(ctx.loop),
      wakeup_(ctx.loop) {
  const auto& c = ctx.cardinality;
  filter_.include_schemas = config::compile_patterns(c.include_schemas);
  filter_.exclude_schemas = config::compile_patterns(c.exclude_schemas);
  filter_.include_tables = config::compile_patterns(c.include_tables);
  filter_.exclude_tables = config::compile_patterns(c.exclude_tables);
  filter_.min_table_size_bytes = c.min_table_size_bytes;
  filter_.database_rows = false;  // until TargetWatch::designate says so
  filter_.constant_labels = metrics::constant_labels_block({target.labels.begin(), target.labels.end()});
  filter_.unused_min_stats_age_seconds = std::chrono::duration<double>(ctx.indexes.unused_min_stats_age).count();
}

metrics::SeriesFilter& DatabaseWatch::filter_for(collectors::Kind kind) {
  // Sizes for the views without one, from this database's last stat_user_tables run.
  const bool budgeted = collectors::definition(kind).budgeted;
  const auto budget = ctx_.cardinality.max_series_per_target;
  filter_.table_sizes.clear();
  filter_.database_rows = reports_databases_;
  if ((filter_.min_table_size_bytes > 0 || budget > 0) && kind != collectors::Kind::kStatUserTables) {
    if (const auto tables = ctx_.store.get(key_, collectors::Kind::kStatUserTables))
      for (const auto& t : tables->tables)
        filter_.table_sizes.emplace(metrics::SeriesFilter::key(t.schemaname, t.relname), t.size_bytes.value_or(0));
  }
  // What the target's other snapshots export (and would without the budget): this run's snapshot replaces
  // its own predecessor, so that one does not count.
  filter_.budget = metrics::SeriesFilter::kNoBudget;
  filter_.others_exported = filter_.others_wanted = 0;
  if (budget > 0 && budgeted) {
    auto count = ctx_.store.target_series(key_.target);
    if (const auto mine = ctx_.store.get(key_, kind)) {
      const auto mine_budgeted = mine->series.series - mine->series.per_database;
      count.exported -= std::min(count.exported, mine_budgeted);
      count.wanted -= std::min(count.wanted, mine_budgeted + mine->series.dropped);
    }
    filter_.budget = static_cast<std::size_t>(budget);
    filter_.others_exported = count.exported;
    filter_.others_wanted = count.wanted;
  }
  return filter_;
}

void DatabaseWatch::report_series(collectors::Kind kind, const metrics::Fragments& series) {
  auto& s = series_->collector[idx(kind)];
  s.series->Set(static_cast<double>(series.series));
  s.dropped->Set(static_cast<double>(series.dropped));
  auto& last = dropped_[idx(kind)];
  const auto name = collectors::definition(kind).name;
  // Never silent: a cut is logged when it starts and whenever its size changes, and its end too.
  if (series.dropped > 0 && series.dropped != last)
    spdlog::warn("series budget reached: series left out target={} datname={} collector={} exported={} "
                 "dropped={} max_series_per_target={}",
                 key_.target, key_.datname, name, series.series, series.dropped,
                 ctx_.cardinality.max_series_per_target);
  else if (series.dropped == 0 && last > 0)
    spdlog::info("series budget no longer cuts target={} datname={} collector={} exported={}", key_.target,
                 key_.datname, name, series.series);
  last = series.dropped;
}

void DatabaseWatch::report_databases(bool on) {
  if (on == reports_databases_) return;
  reports_databases_ = on;
  const auto freeze = collectors::Kind::kFreeze;
  if (on && started_ && !stopped_ && ctx_.collectors.freeze.enabled && !pending_[idx(freeze)]) enqueue(freeze);
}

void DatabaseWatch::start() {
  started_ = true;
  series_ = &ctx_.store.add_database(key_);
  series_->up->Set(0);
  ctx_.engines.watch(key_, params_);
  slot_ = pool_->join([this] { wake(); });
  auto self = shared_from_this();
  asio::co_spawn(ctx_.loop, worker(self), asio::detached);
  // In collectors::Kind order.
  const auto cfg = ctx_.collectors.in_kind_order();
  static_assert(std::tuple_size_v<decltype(cfg)> == collectors::kKindCount, "a collector without configuration");
  // One phase for all of this database's collectors, a fraction of the shortest interval.
  auto shortest = config::Duration::max();
  for (const auto* c : cfg)
    if (c->enabled) shortest = std::min(shortest, c->interval);
  const auto phase = schedule_phase(key_.target, key_.datname, shortest);
  // And one origin: collectors due together expire at the same instant, so they are queued together and
  // the statistics collectors among them share a transaction (run_next).
  const auto origin = steady_clock::now();
  for (const auto& def : collectors::all()) {
    const auto* c = cfg[idx(def.kind)];
    if (c->enabled)
      asio::co_spawn(ctx_.loop, schedule(self, def.kind, c->interval, phase, origin), asio::detached);
  }
}

void DatabaseWatch::stop(bool withdraw) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& t : timers_) t->cancel();
  wakeup_.cancel();
  spill_.cancel();
  conn_.close();
  if (slot_) slot_->leave();
  retire_lanes();
  if (withdraw) {
    ctx_.engines.unwatch(key_, "the database is no longer watched");
    ctx_.store.remove_database(key_);
  }
  series_ = nullptr;
  spdlog::info("stopped watching database target={} datname={}", key_.target, key_.datname);
}

void DatabaseWatch::wake() { wakeup_.cancel(); }

void DatabaseWatch::consider_spill(bool progressed) {
  if (stopped_ || queue_.empty() || running_ == 0) return;
  // A parked lane is connected already: it takes the waiting work at once.
  for (auto& l : lanes_)
    if (l->parked && !l->retire) {
      l->parked = false;
      l->wakeup.cancel();
      return;
    }
  if (spill_armed_ && !progressed) return;
  spill_armed_ = true;
  spill_.expires_after(kSpillAfter);  // a pending wait ends with operation_aborted
  spill_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (const auto self = weak.lock()) {
      self->spill_armed_ = false;
      self->open_lane();
    }
  });
}

void DatabaseWatch::open_lane() {
  if (stopped_ || !up_ || queue_.empty() || running_ == 0) return;
  if (lanes_.size() + 1 >= collectors::kKindCount) return;  // one connection per collector is the most useful
  auto lane = std::make_shared<Lane>(ctx_);
  lane->slot = pool_->join([weak = std::weak_ptr<Lane>(lane)] {
    if (const auto l = weak.lock()) {
      l->retire = true;
      l->wakeup.cancel();
    }
  });
  if (!lane->slot->try_acquire()) return;  // no free slot, or another database waits for one
  lanes_.push_back(lane);
  asio::co_spawn(ctx_.loop, this->lane(shared_from_this(), std::move(lane)), asio::detached);
}

void DatabaseWatch::retire_lanes() {
  for (auto& l : lanes_) {
    l->retire = true;
    l->wakeup.cancel();
    if (stopped_) l->conn.close();  // a running query ends now; otherwise it finishes first
  }
}

awaitable<void> DatabaseWatch::lane([[maybe_unused]] std::shared_ptr<DatabaseWatch> self, std::shared_ptr<Lane> lane) {
  const auto err = co_await lane->conn.connect(params_);
  if (err) {
    if (!stopped_)
      spdlog::debug("extra connection failed target={} datname={} error=\"{}\"", key_.target, key_.datname,
                    pg::describe(*err));
  } else {
    spdlog::debug("extra connection opened target={} datname={} backend_pid={} connections={}", key_.target,
                  key_.datname, lane->conn.backend_pid(), lanes_.size() + 1);
    boost::system::error_code ec;
    while (!stopped_ && !lane->retire && lane->conn.connected()) {
      if (!queue_.empty()) {
        co_await run_next(lane->conn, false);
        if (pool_->waiting() > 0) break;  // another database of the target waits: its turn
        continue;
      }
      lane->parked = true;
      lane->slot->idle(true);
      lane->wakeup.expires_after(kLinger);
      co_await lane->wakeup.async_wait(asio::redirect_error(use_awaitable, ec));
      lane->parked = false;
      lane->slot->idle(false);
      if (!ec) break;  // nothing to do for kLinger
    }
  }
  lane->conn.close();
  lane->slot->leave();
  std::erase(lanes_, lane);
  if (!stopped_)
    spdlog::debug("extra connection closed target={} datname={} connections={}", key_.target, key_.datname,
                  lanes_.size() + 1);
}

awaitable<void> DatabaseWatch::run_next(pg::Connection& conn, bool primary) {
  // Longest first within a cycle: the slowest view starts at once, and the cycle ends soonest when lanes
  // open; an older collector always before a newer one. The statistics collectors due with it join it in
  // one transaction, one after another (share_statistics).
  auto at = pick_next(queue_, last_seconds_, kSpillAfter);
  const auto timeout = target_.connection.statement_timeout + kClientDeadlineMargin;
  const bool share = share_statistics(queue_, at, last_seconds_, kShareWithin);
  bool shared = false;
  const auto began = steady_clock::now();
  for (;;) {
    const auto kind = queue_[at].kind;
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(at));
    // Running from here (BEGIN included): what waits behind a stuck statement goes to a lane.
    ++running_;
    consider_spill(true);
    if (share && !shared) {
      // Read committed whatever the database's default: the statistics are shared, no row snapshot is held.
      static constexpr std::string_view kBegin = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY";
      const auto begun = co_await conn.query(kBegin, {}, timeout);
      if (stopped_) {  // the watch's series are gone
        --running_;
        co_return;
      }
      shared = !begun.error;
      // The connection went with it (a server that stopped answering): this run fails for that reason.
      if (begun.error && !conn.connected()) {
        const auto why = pg::describe(*begun.error);
        if (primary) set_up(false, why);
        fail_run(kind, why);
        pending_[idx(kind)] = false;
        --running_;
        co_return;
      }
    }
    co_await collect(kind, conn, primary);
    pending_[idx(kind)] = false;
    // A failed statement (a timeout, say) aborts the transaction: the others run on their own.
    const auto next = shared && !stopped_ && conn.connected() && !conn.transaction_failed()
                          ? next_reading_statistics(queue_, began)
                          : std::nullopt;
    if (!next) break;
    --running_;
    at = *next;
  }
  // The last collector counts as running until its transaction ends (a stuck COMMIT still spills).
  if (shared && conn.in_transaction()) {
    static constexpr std::string_view kRollback = "ROLLBACK";
    static constexpr std::string_view kCommit = "COMMIT";
    const auto end = co_await conn.query(conn.transaction_failed() ? kRollback : kCommit, {}, timeout);
    if (end.error)
      spdlog::debug("ending the statistics transaction failed target={} datname={} error=\"{}\"", key_.target,
                    key_.datname, pg::describe(*end.error));
  }
  --running_;
}

void DatabaseWatch::give_back_slot() {
  if (!slot_->holding()) return;
  conn_.close();
  slot_->release();
  spdlog::trace("connection slot handed over target={} datname={}", key_.target, key_.datname);
}

void DatabaseWatch::set_up(bool up, const std::string& why) {
  if (stopped_) return;
  series_->up->Set(up ? 1 : 0);
  ctx_.store.set_reachability(key_, up, why);
  if (up && !up_ && !ever_connected_ && conn_.superuser())
    spdlog::warn("connected as a superuser: pghealthd needs only pg_monitor (and, for automatic vacuum, "
                 "ownership or MAINTAIN); use a less privileged role target={} datname={}",
                 key_.target, key_.datname);
  if (up && !up_) {
    spdlog::info("{} database target={} datname={} backend_pid={}",
                 ever_connected_ ? "reconnected to" : "connected to", key_.target, key_.datname,
                 conn_.backend_pid());
    ever_connected_ = true;
    last_connect_error_.clear();
  } else if (!up && (up_ || why != last_connect_error_)) {
    retire_lanes();  // their connections are as dead as this one
    // Logged when the state or the reason changes, not on every retry.
    spdlog::warn("database unreachable, retrying with backoff target={} datname={} error=\"{}\"", key_.target,
                 key_.datname, why);
    last_connect_error_ = why;
  }
  up_ = up;
}

void DatabaseWatch::enqueue(collectors::Kind kind) {
  const auto& def = collectors::definition(kind);
  if (waiting_to_retry_) {
    // The database is unreachable right now: this run fails at once, so its series are withdrawn.
    auto& s = series_->collector[idx(kind)];
    s.success->Set(0);
    ctx_.store.withdraw(key_, kind);
    spdlog::debug("collector run failed: database unreachable target={} datname={} collector={}", key_.target,
                  key_.datname, def.name);
    return;
  }
  pending_[idx(kind)] = true;
  queue_.push_back({kind, steady_clock::now()});
  wake();
  consider_spill(false);
}

void DatabaseWatch::fail_all(const std::string& why) {
  for (const auto& [kind, since] : queue_) {
    pending_[idx(kind)] = false;
    series_->collector[idx(kind)].success->Set(0);
    ctx_.store.withdraw(key_, kind);
    last_error_[idx(kind)] = why;
  }
  queue_.clear();
}

awaitable<void> DatabaseWatch::schedule([[maybe_unused]] std::shared_ptr<DatabaseWatch> self,
                                        collectors::Kind kind, config::Duration interval, config::Duration phase,
                                        steady_clock::time_point start) {
  auto timer = std::make_shared<asio::steady_timer>(ctx_.loop);
  timers_.push_back(timer);
  while (!stopped_) {
    if (pending_[idx(kind)]) {
      series_->collector[idx(kind)].skipped->Increment();
      spdlog::debug("collector run skipped: previous run still going target={} datname={} collector={}",
                    key_.target, key_.datname, collectors::definition(kind).name);
    } else {
      enqueue(kind);
    }
    // The first run at once, then fixed-rate, shifted by the database's phase (app/schedule.h).
    const auto elapsed = std::chrono::duration_cast<config::Duration>(steady_clock::now() - start);
    timer->expires_at(start + next_run(phase, interval, elapsed));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> DatabaseWatch::worker([[maybe_unused]] std::shared_ptr<DatabaseWatch> self) {
  auto backoff = target_.connection.backoff_initial;
  boost::system::error_code ec;
  std::size_t turn = 0;  // queries run since this slot was taken
  while (!stopped_) {
    // Down (not yet connected, failed or lost): connect at once, work or not, so pghealthd_up follows.
    if (queue_.empty() && up_) {
      // Nothing to do: keep the slot and the connection unless another database waits for one.
      if (slot_->holding() && slot_->others_waiting()) {
        give_back_slot();
        continue;
      }
      slot_->idle(true);
      wakeup_.expires_at(steady_clock::time_point::max());
      co_await wakeup_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopped_) break;
      slot_->idle(false);
      continue;
    }
    if (!slot_->holding()) {
      if (!co_await slot_->acquire() || stopped_) break;
      turn = 0;
    }
    if (!conn_.connected()) {
      auto err = co_await conn_.connect(params_);
      if (stopped_) break;
      if (err) {
        const std::string why = pg::describe(*err);
        set_up(false, why);
        fail_all(why);
        give_back_slot();  // nobody's slot is spent on waiting out the backoff
        waiting_to_retry_ = true;
        wakeup_.expires_after(backoff);
        co_await wakeup_.async_wait(asio::redirect_error(use_awaitable, ec));
        waiting_to_retry_ = false;
        backoff = std::min(backoff * 2, target_.connection.backoff_max);
        continue;
      }
      backoff = target_.connection.backoff_initial;
      set_up(true, {});
    }
    if (queue_.empty()) continue;
    co_await run_next(conn_, true);
    // Fairness: after a full round of collectors, a database with more work due still lets a waiting one in.
    if (++turn >= collectors::kKindCount && !queue_.empty() && slot_->others_waiting() && !stopped_)
      give_back_slot();
  }
}

void DatabaseWatch::fail_run(collectors::Kind kind, const std::string& error) {
  series_->collector[idx(kind)].success->Set(0);
  ctx_.store.withdraw(key_, kind);
  ctx_.store.collector_error(key_, kind, error);
  auto& last = last_error_[idx(kind)];
  if (error != last)
    spdlog::warn("collector failed target={} datname={} collector={} error=\"{}\"", key_.target, key_.datname,
                 collectors::definition(kind).name, error);
  last = error;
}

awaitable<void> DatabaseWatch::collect(collectors::Kind kind, pg::Connection& conn, bool primary) {
  if (stopped_) co_return;
  const auto& def = collectors::definition(kind);
  const auto started = steady_clock::now();
  // A full run (Definition::has_full_runs) first, every kFullRunEvery-th after, and whenever the last run
  // met what it could not carry over (a table new since the last full run) or there is none to carry from.
  // (The previous snapshot is not held meanwhile: build() lets it go before the new one is built.)
  bool full = [&] {
    const auto previous = ctx_.store.get(key_, kind);
    return !def.has_full_runs || !previous || previous->toast_unknown ||
           since_full_[idx(kind)] + 1 >= kFullRunEvery;
  }();
  auto& s = series_->collector[idx(kind)];
  std::string error;
  std::shared_ptr<const metrics::Snapshot> snapshot;
  std::size_t rows = 0;
  std::optional<Carried> carried;
  double seconds = 0;
  for (;;) {
    auto fetched = co_await collectors::fetch(conn, def, target_.connection.statement_timeout + kClientDeadlineMargin,
                                              full);
    if (stopped_) co_return;
    seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    last_seconds_[idx(kind)] = seconds;
    if (fetched.error) {
      error = pg::describe(*fetched.error);
      // A lane's lost connection ends the lane; the watch's own decides whether the database is down.
      if (primary && !conn.connected()) set_up(false, error);
    } else if (!fetched.unusable.empty()) {
      error = "unusable answer from the server: " + fetched.unusable;
    } else {
      auto outcome = co_await build(kind, fetched, conn, full, carried);
      if (stopped_) co_return;
      release_freed_memory(outcome.rows);
      // A light run met an index created, altered or dropped since the last full run: a full one now.
      if (outcome.needs_full_run && !full) {
        spdlog::debug("definitions changed, full run target={} datname={} collector={}", key_.target, key_.datname,
                      def.name);
        full = true;
        continue;
      }
      if (outcome.snapshot) {
        snapshot = std::move(outcome.snapshot);
        rows = outcome.rows;
      } else {
        error = "unusable answer from the server: " + outcome.error;
      }
    }
    break;
  }
  s.duration->Set(seconds);
  if (!snapshot) {
    fail_run(kind, error);
    co_return;
  }
  auto& last = last_error_[idx(kind)];
  report_series(kind, snapshot->series);
  since_full_[idx(kind)] = full ? 0 : since_full_[idx(kind)] + 1;
  ctx_.store.put(key_, kind, snapshot);
  if (kind == collectors::Kind::kStatUserTables) ctx_.engines.on_tables(key_, snapshot);
  if (kind == collectors::Kind::kFreeze) ctx_.engines.on_freeze(key_, snapshot);
  if (kind == collectors::Kind::kBloat) ctx_.engines.on_bloat(key_, snapshot);
  s.success->Set(1);
  series_->collector[idx(kind)].last_success->Set(base::unix_now());
  ctx_.store.collector_error(key_, kind, {});
  if (!last.empty()) {
    spdlog::info("collector recovered target={} datname={} collector={}", key_.target, key_.datname,
                 def.name);
    last.clear();
  }
  spdlog::debug("collected target={} datname={} collector={} rows={} seconds={:.3f}", key_.target,
                key_.datname, def.name, rows, seconds);
}

awaitable<metrics::Outcome> DatabaseWatch::build(collectors::Kind kind, collectors::Fetched& fetched,
                                                 pg::Connection& conn, bool full, std::optional<Carried>& carried) {
  const bool exact = kind == collectors::Kind::kBloat && ctx_.bloat.exact;
  // A light run updates the previous run's rows (Definition::light_sql).
  std::optional<collectors::Data> light;
  if (!carried) {
    // What is watched over time goes on from the previous snapshot (metrics::History), whose sizes are also a
    // hint for the new buffers. Taken once per run: a light run that must be made again in full keeps it.
    carried.emplace();
    auto previous = ctx_.store.get(key_, kind);
    if (previous) {
      for (std::size_t i = 0; i < metrics::kFamilyCount; ++i)
        carried->expected_bytes[i] = previous->series.lines[i].size();
      carried->history = metrics::History::of(*previous);
    }
    // The previous snapshot goes before the new one is built, not after: at 10,000 tables its typed rows
    // are several MB (7 MB for stat_user_indexes), and building runs on the loop, so no scrape can fall in
    // between (a scrape still being written keeps its own reference). Except before an exact bloat pass,
    // which takes up to bloat.exact_budget: /metrics keeps the previous bloat series until the new ones are
    // ready.
    if (!exact) ctx_.store.withdraw(key_, kind);
    if (!full && collectors::definition(kind).light_sql) light = metrics::take_previous(kind, std::move(previous));
  }
  const auto& history = carried->history;
  auto parsed = metrics::parse(kind, fetched.rows(), history, std::move(light));
  fetched.results.clear();
  if (!parsed.snapshot) co_return metrics::Outcome{nullptr, std::move(parsed.error), 0};
  if (parsed.snapshot->needs_full_run) {
    metrics::Outcome again;
    again.needs_full_run = true;
    co_return again;
  }
  if (kind == collectors::Kind::kStatUserTables) {
    const auto indexes = ctx_.store.get(key_, collectors::Kind::kStatUserIndexes);
    collectors::attach_index_scans(parsed.snapshot->tables, indexes ? &indexes->indexes : nullptr);
  }
  if (exact) co_await read_exact_bloat(conn, *parsed.snapshot, history);
  if (stopped_) co_return metrics::Outcome{};
  // The filter (shared by this watch's connections) is set up now, after the pass, with no wait until
  // rendering is done.
  auto& filter = filter_for(kind);
  filter.expected_bytes = carried->expected_bytes;
  ctx_.store.withdraw(key_, kind);
  co_return metrics::finish(kind, std::move(parsed.snapshot), key_.target, key_.datname, filter);
}

awaitable<void> DatabaseWatch::read_exact_bloat(pg::Connection& conn, metrics::Snapshot& snapshot,
                                                const metrics::History& history) {
  // The previous run's readings of relations still there decide this pass's order (the round robin), and
  // stay exported until read again.
  collectors::attach_readings(snapshot.bloat, history.exact);
  collectors::ExactSettings settings;
  settings.min_size_bytes = ctx_.bloat.exact_min_size_bytes;
  settings.budget = ctx_.bloat.exact_budget;
  settings.lock_timeout = ctx_.bloat.lock_timeout;
  settings.query_timeout = target_.connection.statement_timeout + kClientDeadlineMargin;
  const auto pass = co_await collectors::read_exact(conn, snapshot.bloat, settings);
  if (stopped_) co_return;
  collectors::attach_readings(snapshot.bloat, pass.readings);
  // A database that can no longer give readings (the extension dropped, the grant revoked) exports none:
  // the old ones would never be renewed. One that could not tell this time (a lost connection) keeps them.
  if (pass.availability && *pass.availability != model::ExactAvailability::kAvailable)
    for (auto& b : snapshot.bloat) b.exact.reset();
  snapshot.bloat_exact = pass.availability ? pass.availability : history.bloat_exact;
  report_exact(pass, history.bloat_exact);
}

void DatabaseWatch::report_exact(const collectors::ExactPass& pass,
                                 std::optional<model::ExactAvailability> before) {
  using model::ExactAvailability;
  // Unavailability is logged when it starts or changes, never per run: the gauge says it all along.
  if (pass.availability && pass.availability != before) {
    if (*pass.availability == ExactAvailability::kMissing)
      spdlog::warn(
          "exact bloat readings unavailable: extension pgstattuple is not installed in the database "
          "(CREATE EXTENSION pgstattuple; and GRANT pg_stat_scan_tables, or pg_monitor, to pghealthd's "
          "role) target={} datname={}",
          key_.target, key_.datname);
    else if (*pass.availability == ExactAvailability::kNotPermitted)
      spdlog::warn(
          "exact bloat readings unavailable: the role may not call pgstattuple's functions (GRANT "
          "pg_stat_scan_tables, or pg_monitor, to pghealthd's role) target={} datname={}",
          key_.target, key_.datname);
    else if (before)
      spdlog::info("exact bloat readings available target={} datname={}", key_.target, key_.datname);
  }
  for (const auto& skip : pass.skipped)
    spdlog::debug("exact bloat reading skipped target={} datname={} relation=\"{}\" error=\"{}\"",
                  key_.target, key_.datname, skip.relation, skip.why);
  const bool refused = pass.availability == ExactAvailability::kNotPermitted;
  const std::string error = pass.error && !refused ? pg::describe(*pass.error) : std::string();
  if (error != last_exact_error_ && !error.empty())
    spdlog::warn("exact bloat pass ended early target={} datname={} error=\"{}\"", key_.target, key_.datname,
                 error);
  last_exact_error_ = error;
  spdlog::debug("exact bloat pass target={} datname={} due={} read={} skipped={} left={} seconds={:.3f}",
                key_.target, key_.datname, pass.due, pass.readings.size(), pass.skipped.size(), pass.left,
                pass.seconds);
}

}  // namespace pghealthd::app
