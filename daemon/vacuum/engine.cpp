#include "vacuum/engine.h"

#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "collectors/xmin_horizon.h"
#include "pg/conninfo.h"

namespace pghealthd::vacuum {
namespace {

using std::chrono::steady_clock;

// Our client deadline for a VACUUM sits above the server's statement_timeout (max_duration).
constexpr std::chrono::seconds kVacuumDeadlineMargin{30};
constexpr std::chrono::seconds kControlQueryTimeout{10};
constexpr const char* kEmptyArray = "{}";
constexpr const char* kZero = "0";
constexpr std::string_view kFoundBeforeActing = "found right before acting";
constexpr std::string_view kConcurrencyUsed = "max_concurrent vacuums already running on this target";
constexpr std::string_view kChecksUsed = "max_concurrent databases of this target already being vacuumed or checked";

std::string qualified(const model::TableStats& t) {
  return pg::quote_identifier(t.schemaname) + "." + pg::quote_identifier(t.relname);
}

std::set<std::int64_t> parse_oid_array(std::string_view text) {
  std::set<std::int64_t> out;
  std::int64_t v = 0;
  bool in_number = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      v = v * 10 + (c - '0');
      in_number = true;
    } else {
      if (in_number) out.insert(v);
      v = 0;
      in_number = false;
    }
  }
  if (in_number) out.insert(v);
  return out;
}

policy::LocalTime local_time(const std::string& zone, policy::TimePoint now) {
  const auto local = date::locate_zone(zone)->to_local(std::chrono::time_point_cast<std::chrono::seconds>(now));
  const auto day = date::floor<date::days>(local);
  return {static_cast<int>(date::weekday(day).c_encoding()),
          static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count())};
}

// The run's result label from the server's answer. A VACUUM of a table we may not touch, or whose lock
// is taken (SKIP_LOCKED), succeeds with a WARNING instead of an error: only the notices tell.
std::string_view classify(const pg::QueryOutcome& q, bool cancelled_by_us) {
  if (q.error) {
    const auto& e = *q.error;
    if (e.kind == pg::Error::Kind::kServer) {
      if (e.sqlstate == "57014") return cancelled_by_us ? "cancelled" : "timeout";
      if (e.sqlstate == "55P03") return "lock_not_available";
      if (e.sqlstate == "42501") return "permission_denied";
      return "failed";
    }
    if (e.kind == pg::Error::Kind::kTimeout) return "timeout";
    if (e.kind == pg::Error::Kind::kClosed) return "cancelled";
    return "failed";
  }
  for (const auto& n : q.notices)
    if (n.sqlstate == "55P03") return "lock_not_available";
  for (const auto& n : q.notices) {
    if (n.severity != "WARNING") continue;
    // Before PostgreSQL 16 "skipping ... only table or database owner can vacuum it" has no SQLSTATE of its
    // own (01000); 16+ says "permission denied to vacuum" with 42501.
    if (n.sqlstate == "42501" || n.sqlstate == "01000") return "permission_denied";
    if (n.sqlstate == "42P01") return "failed";  // dropped meanwhile
  }
  return "success";
}

// "t" in row 0 of a boolean column. (Helpers taking const char*: GCC 12 fails with "array used as
// initializer" on a string literal converted to std::string_view inside a coroutine.)
bool first_is_true(const PGresult* r, int col) {
  const auto v = pg::ResultRows(r).get(0, col);
  return v && *v == "t";
}

std::string first_text(const PGresult* r, int col, const char* fallback) {
  const auto v = pg::ResultRows(r).get(0, col);
  return v ? std::string(*v) : std::string(fallback);
}

// One text parameter. (A function, not a braced list at the call: GCC 12 rejects an initializer_list
// inside a co_await expression with "array used as initializer".)
std::vector<std::string> arg(std::string value) {
  std::vector<std::string> v;
  v.push_back(std::move(value));
  return v;
}

void log_failure(std::string_view what, const metrics::DbKey& key, const pg::Error& e) {
  spdlog::warn("{} target={} datname={} error=\"{}\"", what, key.target, key.datname, pg::describe(e));
}

}  // namespace

int TargetBudget::actions_since(policy::TimePoint since) {
  while (!actions.empty() && actions.front() < since) actions.pop_front();
  return static_cast<int>(actions.size());
}

Engine::Engine(app::Context& ctx, const config::Target& target, const config::Vacuum& cfg, metrics::DbKey key,
               std::optional<std::string> dbname, std::shared_ptr<TargetBudget> budget)
    : ctx_(ctx),
      target_(target),
      cfg_(cfg),
      rules_(cfg),
      key_(std::move(key)),
      params_(app::connect_params(target, std::move(dbname))),
      budget_(std::move(budget)),
      conn_(ctx.loop, ctx.blocking),
      watch_(ctx.loop, ctx.blocking) {}

void Engine::start() {
  std::vector<std::string_view> reasons;
  for (std::size_t i = 0; i < policy::kReasonCount; ++i) reasons.push_back(policy::name(static_cast<policy::Reason>(i)));
  ctx_.store.add_vacuum_series(key_, reasons);
}

void Engine::stop() {
  if (stopped_) return;
  stopped_ = true;
  // A VACUUM in progress is cancelled on the server before the connection closes: no backend of ours is
  // left vacuuming after we are gone.
  conn_.cancel_and_close();
  watch_.close();
}

void Engine::on_tables(std::shared_ptr<const collectors::Snapshot> snapshot) {
  if (busy_ || stopped_ || !snapshot) return;  // the next collection brings the next check
  busy_ = true;
  asio::co_spawn(ctx_.loop, check(shared_from_this(), std::move(snapshot)), asio::detached);
}

awaitable<bool> Engine::ensure_connected(pg::Connection& conn, bool vacuum_session) {
  if (conn.connected()) co_return true;
  auto p = params_;
  if (vacuum_session) {
    p.statement_timeout = cfg_.max_duration;
    p.lock_timeout = cfg_.lock_timeout;
  }
  auto err = co_await conn.connect(p);
  if (!err && vacuum_session) {
    static constexpr std::string_view kCost =
        "SELECT set_config('vacuum_cost_delay', $1, false), set_config('vacuum_cost_limit', $2, false)";
    std::vector<std::string> values{std::to_string(cfg_.cost_delay.count()), std::to_string(cfg_.cost_limit)};
    auto q = co_await conn.query(kCost, std::move(values), kControlQueryTimeout);
    if (q.error) err = q.error;
    // 14+: notice a vanished client within a second even in the middle of a long VACUUM.
    static constexpr std::string_view kCheck = "SELECT set_config('client_connection_check_interval', '1000', false)";
    if (!err) (void)co_await conn.query(kCheck, {}, kControlQueryTimeout);
  }
  if (err) {
    const auto why = pg::describe(*err);
    if (why != last_error_)
      spdlog::warn("vacuum engine cannot connect target={} datname={} error=\"{}\"", key_.target, key_.datname, why);
    last_error_ = why;
    co_return false;
  }
  last_error_.clear();
  co_return true;
}

awaitable<std::optional<model::HorizonHolder>> Engine::oldest_horizon() {
  auto q = co_await watch_.query(collectors::kXminHorizonSql, {}, kControlQueryTimeout);
  if (q.error) co_return std::nullopt;
  pg::ResultRows rows(q.result.get());
  auto parsed = collectors::parse_xmin_horizon(rows);
  const auto* oldest = collectors::oldest_holder(parsed.rows);
  if (!oldest) co_return std::nullopt;
  co_return *oldest;
}

void Engine::record_skip(const policy::Decision& d) {
  const auto reason = *d.skipped;
  const auto& t = *d.table;
  ctx_.store.vacuum_skipped(key_, policy::name(reason));
  if (reason == policy::Reason::kDryRun) ctx_.store.vacuum_run(key_, t.schemaname, t.relname, "dry_run");
  auto& last = logged_[t.relid];
  if (last == policy::name(reason) && reason != policy::Reason::kDryRun) return;
  last = std::string(policy::name(reason));
  const auto level = reason == policy::Reason::kBelowThreshold ? spdlog::level::debug : spdlog::level::info;
  if (reason == policy::Reason::kDryRun)
    spdlog::log(level, "dry run: would {} target={} datname={} table={} why=\"{}\"", policy::name(*d.action),
                key_.target, key_.datname, qualified(t), d.why);
  else
    spdlog::log(level, "not vacuuming table target={} datname={} table={} reason={} why=\"{}\"", key_.target,
                key_.datname, qualified(t), policy::name(reason), d.why);
}

awaitable<void> Engine::check([[maybe_unused]] std::shared_ptr<Engine> self, std::shared_ptr<const collectors::Snapshot> snapshot) {
  struct Done {
    bool& busy;
    ~Done() { busy = false; }
  } done{busy_};
  const auto now = std::chrono::system_clock::now();
  policy::Environment env;
  env.local = local_time(cfg_.timezone, now);
  env.running = budget_->running;
  env.actions_last_hour = budget_->actions_since(now - std::chrono::hours(1));
  const bool any_held = std::any_of(history_.begin(), history_.end(), [](const auto& h) { return h.second.held_xmin.has_value(); });

  // First pass without asking the server: most checks end here, at no cost to the database.
  auto decisions = policy::decide(snapshot->tables, cfg_, rules_, history_, env, now);
  const bool wants_to_act = std::any_of(decisions.begin(), decisions.end(), [](const auto& d) {
    return d.action.has_value() || d.skipped == policy::Reason::kXminHorizonHeld;
  });
  if (!wants_to_act || stopped_) {
    for (const auto& d : decisions) record_skip(d);
    co_return;
  }
  // Connections only from here, for max_concurrent databases of the target at a time, closed at the end.
  if (budget_->checking >= cfg_.max_concurrent) {
    for (auto d : decisions) {
      if (d.action && !d.skipped) {
        d.skipped = policy::Reason::kRateLimited;
        d.why = kChecksUsed;
      }
      if (d.skipped) record_skip(d);
    }
    co_return;
  }
  struct Connected {
    Engine& engine;
    ~Connected() {
      engine.budget_->checking--;
      engine.conn_.close();
      engine.watch_.close();
    }
  } connected{*this};
  budget_->checking++;
  if (!co_await ensure_connected(watch_, false) || stopped_) co_return;
  if (!cfg_.dry_run && (!co_await ensure_connected(conn_, true) || stopped_)) co_return;

  // The environment, fresh: recovery, vacuums running now, the horizon, and leadership.
  static constexpr std::string_view kEnv =
      "SELECT pg_is_in_recovery(), (SELECT coalesce(array_agg(relid), '{}') FROM pg_stat_progress_vacuum "
      "WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database()))::text";
  auto q = co_await watch_.query(kEnv, {}, kControlQueryTimeout);
  if (stopped_) co_return;
  if (q.error) {
    log_failure("vacuum check failed", key_, *q.error);
    co_return;
  }
  env.in_recovery = first_is_true(q.result.get(), 0);
  env.vacuum_running = parse_oid_array(first_text(q.result.get(), 1, kEmptyArray));
  if (any_held) {
    auto h = co_await oldest_horizon();
    env.horizon_xmin = h ? std::optional<std::string>(h->xmin) : std::nullopt;
  }
  bool leader = false;
  if (!cfg_.dry_run && !env.in_recovery) {
    static constexpr std::string_view kLock = "SELECT pg_try_advisory_lock($1::bigint)";
    auto l = co_await conn_.query(kLock, arg(std::to_string(kLeaderLockKey)), kControlQueryTimeout);
    if (stopped_) co_return;
    leader = !l.error && first_is_true(l.result.get(), 0);
    env.leader = leader;
  }
  decisions = policy::decide(snapshot->tables, cfg_, rules_, history_, env, now);

  for (const auto& d : decisions) {
    if (stopped_) break;
    if (d.skipped) {
      record_skip(d);
      continue;
    }
    if (!d.action) continue;
    co_await act(d, rules_.for_table(d.table->schemaname, d.table->relname));
  }
  if (leader && !stopped_) {
    static constexpr std::string_view kUnlock = "SELECT pg_advisory_unlock($1::bigint)";
    (void)co_await conn_.query(kUnlock, arg(std::to_string(kLeaderLockKey)), kControlQueryTimeout);
  }
}

awaitable<void> Engine::act(const policy::Decision& d, const policy::TableRules& rules) {
  const auto& t = *d.table;
  const std::string relid = std::to_string(t.relid);
  auto self = shared_from_this();

  // Right before acting: still a primary, nobody vacuuming it, and how many dead rows it has now.
  static constexpr std::string_view kRecheck =
      "SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM pg_stat_progress_vacuum WHERE relid = $1::oid), "
      "pg_stat_get_dead_tuples($1::oid)";
  auto pre = co_await watch_.query(kRecheck, arg(relid), kControlQueryTimeout);
  if (stopped_ || pre.error) co_return;
  std::int64_t dead_before = t.dead_tuples.value_or(0);
  {
    policy::Decision skip = d;
    if (first_is_true(pre.result.get(), 0)) skip.skipped = policy::Reason::kInRecovery;
    else if (first_is_true(pre.result.get(), 1)) skip.skipped = policy::Reason::kAutovacuumRunning;
    if (skip.skipped) {
      skip.why = kFoundBeforeActing;
      record_skip(skip);
      co_return;
    }
    dead_before = std::stoll(first_text(pre.result.get(), 2, kZero));
  }
  if (budget_->running >= cfg_.max_concurrent) {
    policy::Decision skip = d;
    skip.skipped = policy::Reason::kRateLimited;
    skip.why = kConcurrencyUsed;
    record_skip(skip);
    co_return;
  }

  // Each part quoted on its own with libpq's escaping: any legal name works, none is pasted.
  const std::string schema = conn_.escape_identifier(t.schemaname), rel = conn_.escape_identifier(t.relname);
  if (schema.empty() || rel.empty()) co_return;
  const bool analyze_only = *d.action == policy::Action::kAnalyze || t.relkind == 'p';
  const std::string sql = analyze_only ? "ANALYZE (SKIP_LOCKED) " + schema + "." + rel
                                       : std::string("VACUUM (ANALYZE, SKIP_LOCKED") +
                                             (cfg_.truncate ? "" : ", TRUNCATE false") + ") " + schema + "." + rel;

  const auto now = std::chrono::system_clock::now();
  budget_->running++;
  budget_->actions.push_back(now);
  history_[t.relid].last_action = now;
  logged_[t.relid] = "acted";
  cancelled_by_us_ = false;
  spdlog::info("{} started target={} datname={} table={} why=\"{}\"", analyze_only ? "analyze" : "vacuum",
               key_.target, key_.datname, qualified(t), d.why);

  // The blocker watch runs beside the statement and must be finished before watch_ is used again.
  auto statement_done = std::make_shared<bool>(false);
  auto watcher_finished = std::make_shared<asio::steady_timer>(ctx_.loop, steady_clock::time_point::max());
  auto watcher_over = std::make_shared<bool>(false);
  asio::co_spawn(ctx_.loop, watch_blockers(self, conn_.backend_pid(), statement_done),
                 [watcher_finished, watcher_over](std::exception_ptr) {
                   *watcher_over = true;
                   watcher_finished->cancel();
                 });

  const auto started = steady_clock::now();
  auto q = co_await conn_.query(sql, {}, cfg_.max_duration + kVacuumDeadlineMargin);
  const double seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  *statement_done = true;
  budget_->running--;
  if (!*watcher_over) {
    boost::system::error_code ec;
    co_await watcher_finished->async_wait(asio::redirect_error(use_awaitable, ec));
  }
  const auto result = classify(q, cancelled_by_us_ || stopped_);
  ctx_.store.vacuum_run(key_, t.schemaname, t.relname, result);
  ctx_.store.vacuum_duration(key_, seconds);

  std::string detail;
  if (q.error) detail = pg::describe(*q.error);
  for (const auto& n : q.notices) detail += (detail.empty() ? "" : "; ") + n.severity + ": " + n.message;

  if (result == "success" && !analyze_only && !stopped_) {
    static constexpr std::string_view kAfter =
        "SELECT pg_stat_get_dead_tuples($1::oid), pg_stat_get_live_tuples($1::oid)";
    auto after = co_await watch_.query(kAfter, arg(relid), kControlQueryTimeout);
    if (!after.error) {
      const std::int64_t dead_after = std::stoll(first_text(after.result.get(), 0, kZero));
      const std::int64_t live_after = std::stoll(first_text(after.result.get(), 1, kZero));
      const auto removed = std::max<std::int64_t>(0, dead_before - dead_after);
      ctx_.store.vacuum_removed(key_, static_cast<double>(removed));
      const double ratio = model::dead_tuple_ratio(live_after, dead_after).value_or(0.0);
      spdlog::info("vacuum finished target={} datname={} table={} result={} seconds={:.3f} dead_before={} "
                   "dead_after={} removed={}",
                   key_.target, key_.datname, qualified(t), result, seconds, dead_before, dead_after, removed);
      auto& h = history_[t.relid];
      h.held_xmin.reset();
      if (ratio > rules.dead_tuple_ratio && dead_after >= rules.min_dead_tuples) {
        // Dead rows the VACUUM could not remove: someone still may see them. Name who, and do not loop.
        if (auto holder = co_await oldest_horizon()) {
          h.held_xmin = holder->xmin;
          spdlog::warn(
              "dead rows remain after vacuum: the xmin horizon is held target={} datname={} table={} "
              "dead_after={} source={} holder=\"{}\" age_transactions={} age_seconds={}",
              key_.target, key_.datname, qualified(t), dead_after, holder->source, holder->holder,
              holder->age_transactions, holder->age_seconds ? fmt::format("{:.0f}", *holder->age_seconds) : "unknown");
        }
      }
      co_return;
    }
  }
  const auto level = result == "success" ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level, "{} finished target={} datname={} table={} result={} seconds={:.3f}{}",
              analyze_only ? "analyze" : "vacuum", key_.target, key_.datname, qualified(t), result, seconds,
              detail.empty() ? "" : " detail=\"" + detail + "\"");
}

awaitable<void> Engine::watch_blockers([[maybe_unused]] std::shared_ptr<Engine> self, int vacuum_pid,
                                       std::shared_ptr<bool> done) {
  asio::steady_timer timer(ctx_.loop);
  const auto interval = std::clamp<config::Duration>(cfg_.lock_timeout / 4, std::chrono::milliseconds(50),
                                                     std::chrono::milliseconds(1000));
  const double limit = std::chrono::duration<double>(cfg_.lock_timeout).count();
  // Sessions waiting for a lock that our VACUUM holds, and for how long the oldest has waited.
  static constexpr std::string_view kBlocked =
      "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart)), 0)::float8 "
      "FROM pg_locks l WHERE NOT l.granted AND $1::int = ANY (pg_blocking_pids(l.pid))";
  while (!*done && !stopped_) {
    timer.expires_after(interval);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (*done || stopped_) break;
    auto q = co_await watch_.query(kBlocked, arg(std::to_string(vacuum_pid)), kControlQueryTimeout);
    if (q.error || *done || stopped_) continue;
    const double waited = std::stod(first_text(q.result.get(), 0, kZero));
    if (waited >= limit) {
      // Yield as autovacuum does: the waiting session (often DDL, with every query queued behind it) goes first.
      spdlog::warn("yielding: a session has waited {:.1f}s for a lock our vacuum holds; cancelling it target={} "
                   "datname={} backend_pid={}",
                   waited, key_.target, key_.datname, vacuum_pid);
      cancelled_by_us_ = true;
      conn_.cancel_running();
      break;
    }
  }
}

}  // namespace pghealthd::vacuum
