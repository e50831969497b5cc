#include "maintenance/engine.h"

#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <set>

#include "base/clock.h"
#include "collectors/xmin_horizon.h"
#include "policy/freeze_policy.h"
#include "policy/reindex_policy.h"
#include "policy/tuning_policy.h"
#include "maintenance/statement.h"
#include "pg/conninfo.h"

namespace pghealthd::maintenance {
namespace {

using std::chrono::steady_clock;

// Our client deadline for an action sits above the server's statement_timeout (max_duration).
constexpr std::chrono::seconds kActionDeadlineMargin{30};
constexpr std::chrono::seconds kControlQueryTimeout{10};
// How long the re-read after a run waits for the server's statistics to show it: before PostgreSQL 15
// they reach other backends through the stats collector, up to ~0.5 s late.
constexpr std::chrono::seconds kSettleDeadline{3};
constexpr std::chrono::milliseconds kSettlePoll{100};
constexpr const char* kEmptyArray = "{}";
constexpr std::string_view kFoundBeforeActing = "found right before acting";
constexpr std::string_view kConcurrencyUsed = "max_concurrent vacuums already running on this target";
constexpr std::string_view kFreezesUsed = "freeze.max_concurrent freezes already running on this target";
constexpr std::string_view kWindowClosed = "the freeze window closed";
constexpr std::string_view kChecksUsed = "max_concurrent databases of this target already being vacuumed or checked";

std::string qualified(const std::string& schema, const std::string& table) {
  return pg::quote_identifier(schema) + "." + pg::quote_identifier(table);
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
  const auto since_midnight = std::chrono::duration_cast<std::chrono::seconds>(local - day).count();
  return {static_cast<int>(date::weekday(day).c_encoding()), static_cast<int>(since_midnight / 60),
          static_cast<int>(since_midnight % 60)};
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

// Counters from four integer columns starting at `first`: vacuum_count, analyze_count, dead, live.
std::optional<Counters> counters_at(const PGresult* r, int first) {
  pg::ResultRows rows(r);
  if (rows.size() < 1) return std::nullopt;
  pg::FieldReader f(rows);
  Counters c;
  c.vacuum_count = f.integer(0, first).value_or(0);
  c.analyze_count = f.integer(0, first + 1).value_or(0);
  c.dead_tuples = f.integer(0, first + 2).value_or(0);
  c.live_tuples = f.integer(0, first + 3).value_or(0);
  if (!f.error().empty()) return std::nullopt;
  return c;
}

void log_failure(std::string_view what, const model::DbKey& key, const pg::Error& e) {
  spdlog::warn("{} target={} datname={} error=\"{}\"", what, key.target, key.datname, pg::describe(e));
}

}  // namespace

int TargetBudget::since(std::deque<policy::TimePoint>& times, policy::TimePoint since) {
  while (!times.empty() && times.front() < since) times.pop_front();
  return static_cast<int>(times.size());
}

Engine::Engine(asio::any_io_executor loop, ConnectionFactory connect, std::unique_ptr<Sink> sink, model::DbKey key,
               pg::ConnectParams params, const Config& cfg, std::shared_ptr<TargetBudget> budget)
    : loop_(std::move(loop)),
      sink_(std::move(sink)),
      key_(std::move(key)),
      settings_(std::make_shared<const Settings>(std::move(params), cfg)),
      budget_(std::move(budget)),
      conn_(connect()),
      watch_(connect()) {}

bool Engine::same_settings(const pg::ConnectParams& params, const Config& cfg) const {
  return settings_->params == params && settings_->all == cfg;
}

void Engine::reconfigure(pg::ConnectParams params, const Config& cfg) {
  if (same_settings(params, cfg)) return;
  settings_ = std::make_shared<const Settings>(std::move(params), cfg);
  ++generation_;
  spdlog::info("maintenance settings changed: they apply from the next decision target={} datname={}", key_.target,
               key_.datname);
  if (!running_) return;
  const auto action = running_->action;
  if (settings_->rules.for_table(running_->schema, running_->table).excluded)
    cancel_running("the table is now excluded by a vacuum.tables rule");
  else if (action == policy::Action::kFreeze && !settings_->freeze.enabled)
    cancel_running("freezing was turned off");
  else if (action == policy::Action::kReindex && !settings_->all.reindex.enabled)
    cancel_running("automatic reindex was turned off");
  else if ((action == policy::Action::kVacuumAnalyze || action == policy::Action::kAnalyze) && !settings_->cfg.enabled)
    cancel_running("automatic vacuum was turned off");
}

bool Engine::note_cancel(std::string_view why) {
  if (!running_) return false;
  spdlog::warn("cancelling the running {} target={} datname={} table={} why=\"{}\"", running_->what, key_.target,
               key_.datname, qualified(running_->schema, running_->table), why);
  cancelled_by_us_ = true;
  cancel_reason_ = std::string(why);
  return true;
}

void Engine::cancel_running(std::string_view why) {
  if (note_cancel(why)) conn_->cancel_running();
}

void Engine::stop(std::string_view why) {
  if (stopped_) return;
  note_cancel(why);
  stopped_ = true;
  // An action in progress is cancelled on the server before the connection closes: no backend of ours
  // is left working after we are gone.
  conn_->cancel_and_close();
  watch_->close();
}

void Engine::on_tables(std::shared_ptr<const collectors::Data> snapshot) {
  if (busy_ || stopped_ || !snapshot) return;  // the next collection brings the next check
  busy_ = true;
  asio::co_spawn(loop_, check(shared_from_this(), std::move(snapshot)), asio::detached);
}

void Engine::forget_missing(const std::vector<model::TableStats>& tables) {
  std::map<std::int64_t, const model::TableStats*> present;
  for (const auto& t : tables) present.emplace(t.relid, &t);
  std::erase_if(history_, [&](const auto& h) { return !present.count(h.first); });
  std::erase_if(freeze_history_, [&](const auto& h) { return !present.count(h.first); });
  std::erase_if(tuning_history_, [&](const auto& h) { return !present.count(h.first); });
  std::erase_if(tuning_logged_, [&](const auto& l) { return !present.count(l.first); });
  std::erase_if(logged_, [&](const auto& l) { return !present.count(l.first); });
  std::erase_if(freeze_logged_, [&](const auto& l) { return !present.count(l.first); });
  for (auto it = series_.begin(); it != series_.end();) {
    const auto p = present.find(it->first);
    const bool same = p != present.end() && p->second->schemaname == it->second.first &&
                      p->second->relname == it->second.second;
    if (same) {
      ++it;
      continue;
    }
    sink_->forget(it->second.first, it->second.second);
    it = series_.erase(it);
  }
}

awaitable<bool> Engine::ensure_connected(pg::Connection& conn, bool action_session, const Settings& s) {
  if (conn.connected()) co_return true;
  auto p = s.params;
  if (action_session) {
    p.statement_timeout = s.cfg.max_duration;
    p.lock_timeout = s.cfg.lock_timeout;
  }
  auto err = co_await conn.connect(p);
  if (!err && action_session) {
    static constexpr std::string_view kCost =
        "SELECT set_config('vacuum_cost_delay', $1, false), set_config('vacuum_cost_limit', $2, false)";
    std::vector<std::string> values{std::to_string(s.cfg.cost_delay.count()), std::to_string(s.cfg.cost_limit)};
    auto q = co_await conn.query(kCost, std::move(values), kControlQueryTimeout);
    if (q.error) err = q.error;
    // 14+: notice a vanished client within a second even in the middle of a long VACUUM.
    static constexpr std::string_view kCheck = "SELECT set_config('client_connection_check_interval', '1000', false)";
    if (!err && conn.server_version() >= 140000) (void)co_await conn.query(kCheck, {}, kControlQueryTimeout);
  }
  if (err) {
    const auto why = pg::describe(*err);
    if (why != last_error_)
      spdlog::warn("maintenance engine cannot connect target={} datname={} error=\"{}\"", key_.target, key_.datname,
                   why);
    last_error_ = why;
    co_return false;
  }
  last_error_.clear();
  co_return true;
}

awaitable<std::optional<model::HorizonHolder>> Engine::oldest_horizon() {
  auto q = co_await watch_->query(collectors::kXminHorizonSql, {}, kControlQueryTimeout);
  if (q.error) co_return std::nullopt;
  pg::ResultRows rows(q.result.get());
  auto parsed = collectors::parse_xmin_horizon(rows);
  const auto* oldest = collectors::oldest_holder(parsed.rows);
  if (!oldest) co_return std::nullopt;
  co_return *oldest;
}

void Engine::record_skip(const policy::Decision& d, bool freeze) {
  if (!d.skipped || stopped_) return;
  const auto reason = *d.skipped;
  // Below min_age_ratio a table is no freeze candidate at all: its below_threshold is vacuum's to count.
  if (freeze && reason == policy::Reason::kBelowThreshold) return;
  const auto& t = *d.table;
  sink_->skipped(policy::name(reason));
  if (reason == policy::Reason::kDryRun) {
    sink_->run(t.schemaname, t.relname, action_label(*d.action, t.relkind), "dry_run");
    series_[t.relid] = {t.schemaname, t.relname};
  }
  auto& last = (freeze ? freeze_logged_ : logged_)[t.relid];
  if (last == policy::name(reason) && reason != policy::Reason::kDryRun) return;
  last = std::string(policy::name(reason));
  const auto level = reason == policy::Reason::kBelowThreshold ? spdlog::level::debug : spdlog::level::info;
  // Below the threshold is every table at every check, and the cooldown follows every action: neither is
  // worth a line of the maintenance log.
  if (reason != policy::Reason::kBelowThreshold && reason != policy::Reason::kCooldown)
    log_skip(t, action_label(*d.action, t.relkind), reason, d.why);
  if (reason == policy::Reason::kDryRun)
    spdlog::log(level, "dry run: would {} target={} datname={} table={} why=\"{}\"", policy::name(*d.action),
                key_.target, key_.datname, qualified(t.schemaname, t.relname), d.why);
  else
    spdlog::log(level, "not {} table target={} datname={} table={} reason={} why=\"{}\"",
                freeze ? "freezing" : "vacuuming", key_.target, key_.datname, qualified(t.schemaname, t.relname),
                policy::name(reason), d.why);
}

awaitable<void> Engine::check([[maybe_unused]] std::shared_ptr<Engine> self,
                              std::shared_ptr<const collectors::Data> snapshot) {
  struct Done {
    bool& busy;
    ~Done() { busy = false; }
  } done{busy_};
  forget_missing(snapshot->tables);
  const SettingsPtr s = settings_;  // one set of rules for the whole check
  const auto generation = generation_;
  const auto& cfg = s->cfg;
  const auto now = std::chrono::system_clock::now();
  policy::Environment env;
  env.local = local_time(cfg.timezone, now);
  env.running = budget_->running;
  env.actions_last_hour = TargetBudget::since(budget_->actions, now - std::chrono::hours(1));
  const bool any_held = std::any_of(history_.begin(), history_.end(), [](const auto& h) { return h.second.held_xmin.has_value(); });

  // The freeze collector's last ages (kept: a newer snapshot may arrive during the check).
  const auto ages = s->freeze.enabled ? freeze_ages_ : nullptr;
  const int tuned_last_day = TargetBudget::since(budget_->tunings, now - policy::kTuningCooldown);
  const int reindexed_last_day = TargetBudget::since(budget_->reindexes, now - policy::kReindexCooldown);
  const auto& reindex_cfg = s->all.reindex;
  const auto bloat = reindex_cfg.enabled ? bloat_ : nullptr;
  env.reindexes_running = budget_->reindexes_running;
  std::erase_if(reindex_history_, [&](const auto& h) { return now - h.second >= policy::kReindexCooldown; });
  // Vacuums first (dead rows cost every query now), then freezes (oldest first), then tuning changes, then
  // one REINDEX (the longest, and the least urgent).
  std::vector<policy::Decision> decisions, freezes, tunes, reindexes;
  auto decide_all = [&] {
    decisions.clear();
    freezes.clear();
    tunes.clear();
    reindexes.clear();
    if (cfg.enabled) decisions = policy::decide(snapshot->tables, cfg, s->rules, history_, env, now);
    if (ages)
      freezes = policy::decide_freeze(snapshot->tables, ages->freeze, s->freeze, cfg.max_per_hour, s->rules,
                                      freeze_history_, env, now);
    if (s->tuning.apply)
      tunes = policy::decide_tuning(snapshot->tables, snapshot->churn, s->tuning, s->advice, s->rules,
                                    tuning_history_, env, tuned_last_day, now);
    if (bloat)
      reindexes = policy::decide_reindex(bloat->bloat, snapshot->tables, reindex_cfg, s->rules, reindex_history_,
                                         env, reindexed_last_day, now);
  };
  // (A named array rather than a braced list in the loops: GCC 12 mishandles those in coroutines.)
  const std::array<std::vector<policy::Decision>*, 4> lists{&decisions, &freezes, &tunes, &reindexes};
  auto record = [&](const std::vector<policy::Decision>* list, const policy::Decision& d) {
    if (list == &tunes) record_tuning_skip(d);
    else if (list == &reindexes) record_reindex_skip(d);
    else record_skip(d, list == &freezes);
  };
  auto record_skips = [&] {
    for (auto* list : lists)
      for (const auto& d : *list) record(list, d);
  };
  // First pass without asking the server: most checks end here, at no cost to the database.
  decide_all();
  // What is logged once per index is forgotten with the index (or when it is no longer a candidate).
  std::erase_if(reindex_logged_, [&](const auto& l) {
    return std::none_of(reindexes.begin(), reindexes.end(), [&](const policy::Decision& d) {
      return d.index->schemaname == l.first.first && d.index->indexrelname == l.first.second;
    });
  });
  auto acts = [](const auto& d) { return d.action.has_value(); };
  // Leftovers of failed rebuilds are looked for once the engine may write: at its first such check.
  const bool leftovers = leftovers_due_ && reindex_cfg.enabled && reindex_cfg.drop_leftovers && !reindex_cfg.dry_run;
  const bool wants_to_act =
      leftovers ||
      std::any_of(decisions.begin(), decisions.end(), [](const auto& d) {
        return d.action.has_value() || d.skipped == policy::Reason::kXminHorizonHeld;
      }) ||
      std::any_of(freezes.begin(), freezes.end(), acts) || std::any_of(tunes.begin(), tunes.end(), acts) ||
      std::any_of(reindexes.begin(), reindexes.end(), acts);
  if (!wants_to_act || stopped_) {
    record_skips();
    co_return;
  }
  // Connections only from here, for max_concurrent databases of the target at a time, closed at the end.
  if (budget_->checking >= cfg.max_concurrent) {
    for (auto* list : lists) {
      for (auto& d : *list) {
        if (d.action && !d.skipped) {
          d.skipped = policy::Reason::kRateLimited;
          d.why = kChecksUsed;
        }
      }
    }
    record_skips();
    co_return;
  }
  struct Connected {
    Engine& engine;
    ~Connected() {
      engine.budget_->checking--;
      if (engine.stopped_) return;  // stop() closed them already (cancel first)
      engine.conn_->close();
      engine.watch_->close();
    }
  } connected{*this};
  budget_->checking++;
  const bool dry_run = (!cfg.enabled || cfg.dry_run) && (!ages || s->freeze.dry_run) && !s->tuning.apply &&
                       (!reindex_cfg.enabled || reindex_cfg.dry_run);
  if (!co_await ensure_connected(*watch_, false, *s) || stopped_) co_return;
  if (!dry_run && (!co_await ensure_connected(*conn_, true, *s) || stopped_)) co_return;

  // The environment, fresh: recovery, vacuums running now, the horizon, and leadership.
  static constexpr std::string_view kEnv =
      "SELECT pg_is_in_recovery(), (SELECT coalesce(array_agg(relid), '{}') FROM pg_stat_progress_vacuum "
      "WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database()))::text";
  auto q = co_await watch_->query(kEnv, {}, kControlQueryTimeout);
  if (stopped_) co_return;
  if (q.error) {
    log_failure("maintenance check failed", key_, *q.error);
    co_return;
  }
  env.in_recovery = first_is_true(q.result.get(), 0);
  env.vacuum_running = parse_oid_array(first_text(q.result.get(), 1, kEmptyArray));
  env.freezes_running = budget_->freezes_running;
  if (any_held) {
    auto h = co_await oldest_horizon();
    env.horizon_xmin = h ? std::optional<std::string>(h->xmin) : std::nullopt;
  }
  bool leader = false;
  if (!dry_run && !env.in_recovery) {
    static constexpr std::string_view kLock = "SELECT pg_try_advisory_lock($1::bigint)";
    auto l = co_await conn_->query(kLock, pg::one_param(std::to_string(kLeaderLockKey)), kControlQueryTimeout);
    if (stopped_) co_return;
    leader = !l.error && first_is_true(l.result.get(), 0);
    env.leader = leader;
  }
  decide_all();
  // A crash or a kill -9 in the middle of a REINDEX left its copy behind: an invalid index every write
  // still updates. Dropped before anything else, once.
  if (leftovers && leader && !stopped_) leftovers_due_ = !co_await drop_leftovers(0);

  for (auto* list : lists) {
    bool reindexed = false;  // one REINDEX per check: the next check decides again, with fresh budgets
    for (const auto& d : *list) {
      if (stopped_) break;
      if (generation != generation_) {
        // New settings arrived: the rest of this check's decisions were made under the old ones.
        spdlog::debug("settings changed during a check; the next check decides again target={} datname={}",
                      key_.target, key_.datname);
        break;
      }
      if (d.skipped) {
        record(list, d);
        continue;
      }
      if (!d.action || reindexed) continue;
      if (list == &tunes) {
        co_await tune(d, s);
      } else if (list == &reindexes) {
        reindexed = co_await reindex(d, s);
      } else {
        co_await act(d, s);
      }
    }
  }
  if (leader && !stopped_) {
    static constexpr std::string_view kUnlock = "SELECT pg_advisory_unlock($1::bigint)";
    (void)co_await conn_->query(kUnlock, pg::one_param(std::to_string(kLeaderLockKey)), kControlQueryTimeout);
  }
}

awaitable<std::optional<Counters>> Engine::read_counters(std::int64_t relid) {
  static constexpr std::string_view kCounters =
      "SELECT pg_stat_get_vacuum_count($1::oid), pg_stat_get_analyze_count($1::oid), "
      "pg_stat_get_dead_tuples($1::oid), pg_stat_get_live_tuples($1::oid)";
  auto q = co_await watch_->query(kCounters, pg::one_param(std::to_string(relid)), kControlQueryTimeout);
  if (q.error) co_return std::nullopt;
  co_return counters_at(q.result.get(), 0);
}

awaitable<std::optional<std::pair<std::int64_t, std::int64_t>>> Engine::read_ages(std::int64_t relid) {
  static constexpr std::string_view kAges =
      "SELECT greatest(age(c.relfrozenxid), age(t.relfrozenxid)), greatest(mxid_age(c.relminmxid), "
      "mxid_age(t.relminmxid)) FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = $1::oid";
  auto q = co_await watch_->query(kAges, pg::one_param(std::to_string(relid)), kControlQueryTimeout);
  if (q.error) co_return std::nullopt;
  pg::ResultRows rows(q.result.get());
  if (rows.size() < 1) co_return std::nullopt;  // dropped meanwhile
  pg::FieldReader f(rows);
  const auto xid = f.integer(0, 0), mxid = f.integer(0, 1);
  if (!f.error().empty() || !xid || !mxid) co_return std::nullopt;
  co_return std::make_pair(*xid, *mxid);
}

awaitable<std::optional<Counters>> Engine::prepare(const policy::Decision& d, const Settings& s) {
  const auto& t = *d.table;
  static constexpr std::string_view kRecheck =
      "SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM pg_stat_progress_vacuum WHERE relid = $1::oid), "
      "pg_stat_get_vacuum_count($1::oid), pg_stat_get_analyze_count($1::oid), "
      "pg_stat_get_dead_tuples($1::oid), pg_stat_get_live_tuples($1::oid)";
  auto pre = co_await watch_->query(kRecheck, pg::one_param(std::to_string(t.relid)), kControlQueryTimeout);
  if (stopped_) co_return std::nullopt;
  if (pre.error) {
    log_failure("maintenance check failed right before acting", key_, *pre.error);
    co_return std::nullopt;
  }
  policy::Decision skip = d;
  if (first_is_true(pre.result.get(), 0)) skip.skipped = policy::Reason::kInRecovery;
  else if (first_is_true(pre.result.get(), 1)) skip.skipped = policy::Reason::kAutovacuumRunning;
  const bool freeze = d.action == policy::Action::kFreeze;
  if (!skip.skipped && (freeze ? budget_->freezes_running >= s.freeze.max_concurrent
                               : budget_->running >= s.cfg.max_concurrent))
    skip.skipped = policy::Reason::kRateLimited;
  if (skip.skipped) {
    skip.why = skip.skipped != policy::Reason::kRateLimited ? std::string(kFoundBeforeActing)
               : freeze                                     ? std::string(kFreezesUsed)
                                                            : std::string(kConcurrencyUsed);
    record_skip(skip, freeze);
    co_return std::nullopt;
  }
  co_return counters_at(pre.result.get(), 2);
}

awaitable<std::optional<Counters>> Engine::settle(std::int64_t relid, bool vacuum, const Counters& before) {
  const auto deadline = steady_clock::now() + kSettleDeadline;
  asio::steady_timer timer(loop_);
  for (;;) {
    auto after = co_await read_counters(relid);
    if (!after || stopped_ || counter_moved(vacuum, before, *after) || steady_clock::now() >= deadline)
      co_return after;
    timer.expires_after(kSettlePoll);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<Engine::Watched> Engine::run_watched(std::shared_ptr<Engine> self, const std::string& sql,
                                               config::Duration max_duration, const Settings& s) {
  cancelled_by_us_ = false;
  cancel_reason_.clear();
  // The blocker watch runs beside the statement and must be finished before watch_ is used again.
  auto statement_done = std::make_shared<bool>(false);
  auto watcher_finished = std::make_shared<asio::steady_timer>(loop_, steady_clock::time_point::max());
  auto watcher_over = std::make_shared<bool>(false);
  asio::co_spawn(loop_, watch_blockers(self, conn_->backend_pid(), s.cfg.lock_timeout, statement_done),
                 [watcher_finished, watcher_over](std::exception_ptr) {
                   *watcher_over = true;
                   watcher_finished->cancel();
                 });
  if (running_) {
    model::LogEntry now;
    now.at_unix = base::unix_now();
    now.schema = running_->schema;
    now.table = running_->table;
    now.index = running_->index;
    now.action = std::string(running_->what);
    sink_->running(std::move(now));
  }
  const auto started = steady_clock::now();
  Watched w;
  w.outcome = co_await conn_->query(sql, {}, max_duration + kActionDeadlineMargin);
  w.seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  *statement_done = true;
  running_.reset();
  sink_->running(std::nullopt);  // (stopped or not: it no longer runs)
  if (!*watcher_over) {
    boost::system::error_code ec;
    co_await watcher_finished->async_wait(asio::redirect_error(use_awaitable, ec));
  }
  co_return w;
}

awaitable<void> Engine::act(const policy::Decision& d, SettingsPtr s) {
  const auto& t = *d.table;
  auto self = shared_from_this();
  const auto before = co_await prepare(d, *s);
  if (!before || stopped_) co_return;

  const bool freeze = *d.action == policy::Action::kFreeze;
  const bool vacuum = is_vacuum(*d.action, t.relkind);
  const std::string sql = statement(*d.action, t.relkind, conn_->escape_identifier(t.schemaname),
                                    conn_->escape_identifier(t.relname), {s->cfg.truncate});
  if (sql.empty()) co_return;  // quoting failed: the connection is gone
  const auto max_duration = freeze ? s->freeze.max_duration : s->cfg.max_duration;
  std::optional<std::pair<std::int64_t, std::int64_t>> ages_before;
  if (freeze) {
    ages_before = co_await read_ages(t.relid);
    // The session's statement_timeout is vacuum.max_duration; a freeze has its own.
    if (!co_await set_statement_timeout(max_duration) || stopped_) co_return;
  }

  const auto now = std::chrono::system_clock::now();
  (freeze ? budget_->freezes_running : budget_->running)++;
  budget_->actions.push_back(now);
  (freeze ? freeze_history_ : history_)[t.relid].last_action = now;
  (freeze ? freeze_logged_ : logged_)[t.relid] = "acted";
  series_[t.relid] = {t.schemaname, t.relname};
  running_ = Running{t.relid, t.schemaname, t.relname, action_label(*d.action, t.relkind), *d.action, {}};
  spdlog::info("{} started target={} datname={} table={} why=\"{}\"", running_->what, key_.target, key_.datname,
               qualified(t.schemaname, t.relname), d.why);
  // A freeze ends with its window: what it froze stays frozen, the next window goes on from there.
  auto window_end = std::make_shared<asio::steady_timer>(loop_);
  if (freeze) {
    if (const auto left = policy::window_remaining(s->freeze.windows, local_time(s->cfg.timezone, now))) {
      window_end->expires_after(*left);
      window_end->async_wait([this, self](const boost::system::error_code& ec) {
        if (!ec && running_ && running_->action == policy::Action::kFreeze) cancel_running(kWindowClosed);
      });
    }
  }

  auto watched = co_await run_watched(self, sql, max_duration, *s);
  const auto& q = watched.outcome;
  const double seconds = watched.seconds;
  window_end->cancel();
  (freeze ? budget_->freezes_running : budget_->running)--;

  RunReport run;
  run.vacuum = vacuum;
  run.error = q.error;
  run.notices = q.notices;
  run.cancelled_by_us = cancelled_by_us_ || stopped_;
  run.before = before;
  // Wait for the server's statistics only when the run may have processed the table.
  const bool may_have_run = !q.error && std::none_of(q.notices.begin(), q.notices.end(), [](const pg::Notice& n) {
    const auto k = classify_notice(n);
    return k == NoticeKind::kLockNotAvailable || k == NoticeKind::kPermission || k == NoticeKind::kRelationGone;
  });
  if (!stopped_ && may_have_run && counters_prove(t.relkind, watch_->server_version()))
    run.after = co_await settle(t.relid, vacuum, *before);
  const auto outcome = classify(run);

  std::string detail;
  if (q.error) detail = pg::describe(*q.error);
  if (outcome.result == Result::kCancelled && !cancel_reason_.empty()) detail += " (" + cancel_reason_ + ")";
  report(d, outcome, seconds, detail);

  if (freeze && !stopped_ && conn_->connected()) (void)co_await set_statement_timeout(s->cfg.max_duration);
  if (outcome.result != Result::kSuccess || !vacuum || stopped_) co_return;
  const auto rules = s->rules.for_table(t.schemaname, t.relname);
  const auto a = account(*before, *run.after, outcome.horizon_warning, rules.dead_tuple_ratio, rules.min_dead_tuples);
  sink_->removed(a.removed);
  log_entry(t, action_label(*d.action, t.relkind), name(Result::kSuccess), d.why, seconds, a.removed);
  if (freeze) {
    co_await account_freeze(d, *s, a.removed, ages_before, seconds);
    co_return;
  }
  spdlog::info("vacuum finished target={} datname={} table={} result=success seconds={:.3f} dead_before={} "
               "dead_after={} removed={}{}",
               key_.target, key_.datname, qualified(t.schemaname, t.relname), seconds, before->dead_tuples,
               a.dead_after, a.removed, outcome.horizon_warning ? " horizon_warning=true" : "");
  auto& h = history_[t.relid];
  h.held_xmin.reset();
  if (!a.diagnose_horizon) co_return;
  // Dead rows the VACUUM could not remove: someone still may see them. Name who, and do not loop.
  if (auto holder = co_await oldest_horizon()) {
    history_[t.relid].held_xmin = holder->xmin;  // (re-looked up: the map may have changed meanwhile)
    spdlog::warn("dead rows remain after vacuum: the xmin horizon is held target={} datname={} table={} "
                 "dead_after={} source={} holder=\"{}\" age_transactions={} age_seconds={}",
                 key_.target, key_.datname, qualified(t.schemaname, t.relname), a.dead_after, holder->source,
                 holder->holder, holder->age_transactions,
                 holder->age_seconds ? fmt::format("{:.0f}", *holder->age_seconds) : "unknown");
  } else {
    spdlog::warn("dead rows remain after vacuum, but nothing holds the xmin horizon now target={} datname={} "
                 "table={} dead_after={}",
                 key_.target, key_.datname, qualified(t.schemaname, t.relname), a.dead_after);
  }
}

void Engine::record_tuning_skip(const policy::Decision& d) {
  if (!d.skipped || stopped_) return;
  const auto& t = *d.table;
  auto& last = tuning_logged_[t.relid];
  if (last == policy::name(*d.skipped)) return;
  last = std::string(policy::name(*d.skipped));
  const auto level = *d.skipped == policy::Reason::kCooldown ? spdlog::level::debug : spdlog::level::info;
  if (*d.skipped != policy::Reason::kCooldown) log_skip(t, "tune", *d.skipped, d.why);
  spdlog::log(level, "not tuning table target={} datname={} table={} reason={} why=\"{}\" advice=\"{}\"", key_.target,
              key_.datname, qualified(t.schemaname, t.relname), policy::name(*d.skipped), d.why,
              d.advice ? d.advice->alter_sql : "");
}

awaitable<void> Engine::tune(const policy::Decision& d, SettingsPtr s) {
  const auto& t = *d.table;
  const auto& advice = *d.advice;
  auto self = shared_from_this();
  // Right before acting: still a primary, nobody vacuuming it (ALTER TABLE would queue for its lock).
  static constexpr std::string_view kRecheck =
      "SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM pg_stat_progress_vacuum WHERE relid = $1::oid)";
  auto pre = co_await watch_->query(kRecheck, pg::one_param(std::to_string(t.relid)), kControlQueryTimeout);
  if (stopped_) co_return;
  if (pre.error) {
    log_failure("maintenance check failed right before tuning", key_, *pre.error);
    co_return;
  }
  if (first_is_true(pre.result.get(), 0) || first_is_true(pre.result.get(), 1)) {
    policy::Decision skip = d;
    skip.skipped = first_is_true(pre.result.get(), 0) ? policy::Reason::kInRecovery : policy::Reason::kAutovacuumRunning;
    skip.why = kFoundBeforeActing;
    record_tuning_skip(skip);
    co_return;
  }
  const auto schema = conn_->escape_identifier(t.schemaname), table = conn_->escape_identifier(t.relname);
  if (schema.empty() || table.empty()) co_return;  // quoting failed: the connection is gone
  const std::string quoted = schema + "." + table;
  const std::string sql = policy::alter_statement(advice, quoted), undo = policy::undo_statement(advice, quoted);

  const auto now = std::chrono::system_clock::now();
  budget_->tunings.push_back(now);
  tuning_history_[t.relid].last_action = now;
  tuning_logged_[t.relid] = "acted";
  cancelled_by_us_ = false;
  // ALTER TABLE ... SET (autovacuum_*) takes a SHARE UPDATE EXCLUSIVE lock for an instant; the session's
  // lock_timeout bounds its wait, so it never queues long behind (or ahead of) anyone.
  const auto started = steady_clock::now();
  auto q = co_await conn_->query(sql, {}, s->cfg.lock_timeout + kControlQueryTimeout);
  const double seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  if (stopped_) co_return;
  std::optional<std::string> after;
  if (!q.error) {
    static constexpr std::string_view kRead = "SELECT coalesce(reloptions::text, '') FROM pg_class WHERE oid = $1::oid";
    auto r = co_await watch_->query(kRead, pg::one_param(std::to_string(t.relid)), kControlQueryTimeout);
    if (!r.error && pg::ResultRows(r.result.get()).size() == 1) after = first_text(r.result.get(), 0, "");
  }
  const auto result = classify_tuning(q.error, cancelled_by_us_, after.has_value(),
                                      after && policy::applied(advice, *after));
  if (stopped_) co_return;
  sink_->tuned(name(result));
  log_entry(t, "tune", name(result),
            q.error ? pg::describe(*q.error) : sql + (result == Result::kSuccess ? " (undo: " + undo + ")" : ""),
            seconds);
  if (result == Result::kSuccess)
    spdlog::info("tuning applied target={} datname={} table={} seconds={:.3f} statement=\"{}\" undo=\"{}\" why=\"{}\"",
                 key_.target, key_.datname, qualified(t.schemaname, t.relname), seconds, sql, undo, advice.reasoning);
  else
    spdlog::warn("tuning not applied target={} datname={} table={} result={} statement=\"{}\"{}", key_.target,
                 key_.datname, qualified(t.schemaname, t.relname), name(result), sql,
                 q.error ? " detail=\"" + pg::describe(*q.error) + "\"" : "");
}

void Engine::record_reindex_skip(const policy::Decision& d) {
  if (!d.skipped || stopped_) return;
  const auto& t = *d.table;
  const auto& x = *d.index;
  const auto reason = *d.skipped;
  sink_->reindex_skipped(t.schemaname, t.relname, x.indexrelname, policy::name(reason));
  series_[t.relid] = {t.schemaname, t.relname};
  if (reason == policy::Reason::kDryRun) sink_->reindexed(t.schemaname, t.relname, x.indexrelname, "dry_run");
  auto& last = reindex_logged_[{x.schemaname, x.indexrelname}];
  if (last == policy::name(reason) && reason != policy::Reason::kDryRun) return;
  last = std::string(policy::name(reason));
  const auto level = reason == policy::Reason::kCooldown ? spdlog::level::debug : spdlog::level::info;
  if (reason != policy::Reason::kCooldown) log_skip(t, "reindex", reason, d.why, x.indexrelname);
  if (reason == policy::Reason::kDryRun)
    spdlog::log(level, "dry run: would reindex target={} datname={} index={} table={} why=\"{}\"", key_.target,
                key_.datname, qualified(x.schemaname, x.indexrelname), qualified(t.schemaname, t.relname), d.why);
  else
    spdlog::log(level, "not reindexing index target={} datname={} index={} reason={} why=\"{}\"", key_.target,
                key_.datname, qualified(x.schemaname, x.indexrelname), policy::name(reason), d.why);
}

awaitable<std::optional<IndexState>> Engine::index_state(const std::string& schema, const std::string& index,
                                                         bool& read) {
  // By name: a rebuilt index is a new relation (another OID) under the old name.
  static constexpr std::string_view kState =
      "SELECT c.oid, pg_relation_size(c.oid), i.indisvalid FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid "
      "WHERE n.nspname = $1 AND c.relname = $2";
  std::vector<std::string> params{schema, index};
  auto q = co_await watch_->query(kState, std::move(params), kControlQueryTimeout);
  read = !q.error;
  if (q.error) co_return std::nullopt;
  pg::ResultRows rows(q.result.get());
  if (rows.size() < 1) co_return std::nullopt;
  pg::FieldReader f(rows);
  IndexState st{f.integer(0, 0).value_or(0), f.integer(0, 1).value_or(0), f.boolean(0, 2)};
  if (!f.error().empty()) {
    read = false;
    co_return std::nullopt;
  }
  co_return st;
}

awaitable<bool> Engine::reindex(const policy::Decision& d, SettingsPtr s) {
  const auto& t = *d.table;
  const model::RelationBloat x = *d.index;  // (a copy: a new bloat snapshot may replace the old meanwhile)
  const auto& cfg = s->all.reindex;
  auto self = shared_from_this();
  // Right before acting: still a primary, nobody vacuuming the table or building an index on it (REINDEX
  // would queue for its lock), and the index as it is now.
  static constexpr std::string_view kRecheck =
      "SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM pg_stat_progress_vacuum WHERE relid = $1::oid), "
      "EXISTS (SELECT 1 FROM pg_stat_progress_create_index WHERE relid = $1::oid)";
  auto pre = co_await watch_->query(kRecheck, pg::one_param(std::to_string(t.relid)), kControlQueryTimeout);
  if (stopped_) co_return false;
  if (pre.error) {
    log_failure("maintenance check failed right before reindexing", key_, *pre.error);
    co_return false;
  }
  std::optional<policy::Reason> wait;
  if (first_is_true(pre.result.get(), 0)) wait = policy::Reason::kInRecovery;
  else if (first_is_true(pre.result.get(), 1)) wait = policy::Reason::kAutovacuumRunning;
  else if (first_is_true(pre.result.get(), 2)) wait = policy::Reason::kIndexBuildRunning;
  else if (budget_->reindexes_running > 0) wait = policy::Reason::kRateLimited;
  if (wait) {
    policy::Decision skip = d;
    skip.skipped = wait;
    skip.why = wait == policy::Reason::kRateLimited ? std::string("a REINDEX already runs on this target")
                                                    : std::string(kFoundBeforeActing);
    record_reindex_skip(skip);
    co_return false;
  }
  bool read = false;
  const auto before = co_await index_state(x.schemaname, x.indexrelname, read);
  if (stopped_ || !read) co_return false;
  const auto now = std::chrono::system_clock::now();
  reindex_history_[{x.schemaname, x.indexrelname}] = now;
  reindex_logged_[{x.schemaname, x.indexrelname}] = "acted";
  series_[t.relid] = {t.schemaname, t.relname};
  if (!before) {  // dropped (or renamed) since the bloat collector saw it
    sink_->reindexed(t.schemaname, t.relname, x.indexrelname, name(Result::kDropped));
    log_entry(t, "reindex", name(Result::kDropped), "no index of that name now", std::nullopt, std::nullopt,
              x.indexrelname);
    spdlog::info("reindex finished target={} datname={} index={} result=dropped (no index of that name now)",
                 key_.target, key_.datname, qualified(x.schemaname, x.indexrelname));
    co_return true;
  }
  const std::string sql =
      reindex_statement(conn_->escape_identifier(x.schemaname), conn_->escape_identifier(x.indexrelname));
  if (sql.empty()) co_return false;  // quoting failed: the connection is gone
  if (!co_await set_statement_timeout(cfg.max_duration) || stopped_) co_return false;

  budget_->reindexes_running++;
  budget_->reindexes.push_back(now);
  running_ = Running{t.relid, t.schemaname, t.relname, "reindex", policy::Action::kReindex, x.indexrelname};
  spdlog::info("reindex started target={} datname={} index={} table={} bytes={} why=\"{}\"", key_.target,
               key_.datname, qualified(x.schemaname, x.indexrelname), qualified(t.schemaname, t.relname),
               before->bytes, d.why);
  auto watched = co_await run_watched(self, sql, cfg.max_duration, *s);
  const auto& q = watched.outcome;
  const double seconds = watched.seconds;
  budget_->reindexes_running--;
  if (stopped_) co_return true;  // cancelled by stop(): the next start drops what it left

  std::optional<IndexState> after;
  if (!q.error) after = co_await index_state(x.schemaname, x.indexrelname, read);
  const auto outcome = classify_reindex(q.error, cancelled_by_us_, *before, !q.error && read, after);
  if (stopped_) co_return true;
  sink_->reindexed(t.schemaname, t.relname, x.indexrelname, name(outcome.result));
  if (outcome.result == Result::kSuccess) {
    sink_->reclaimed(outcome.reclaimed_bytes);
    log_entry(t, "reindex", name(outcome.result),
              fmt::format("{}; {} bytes before, {} after", d.why, before->bytes, after->bytes), seconds,
              std::nullopt, x.indexrelname);
    spdlog::info("reindex finished target={} datname={} index={} result=success seconds={:.3f} bytes_before={} "
                 "bytes_after={} reclaimed={}",
                 key_.target, key_.datname, qualified(x.schemaname, x.indexrelname), seconds, before->bytes,
                 after->bytes, outcome.reclaimed_bytes);
  } else {
    std::string detail = q.error ? pg::describe(*q.error) : std::string();
    if (outcome.result == Result::kCancelled && !cancel_reason_.empty()) detail += " (" + cancel_reason_ + ")";
    log_entry(t, "reindex", name(outcome.result), detail.empty() ? d.why : detail, seconds, std::nullopt,
              x.indexrelname);
    spdlog::warn("reindex finished target={} datname={} index={} result={} seconds={:.3f}{}", key_.target,
                 key_.datname, qualified(x.schemaname, x.indexrelname), name(outcome.result), seconds,
                 detail.empty() ? "" : " detail=\"" + detail + "\"");
  }
  if (conn_->connected()) (void)co_await set_statement_timeout(s->cfg.max_duration);
  // A failed concurrent rebuild leaves its copy behind (invalid, yet updated by every write): drop it now,
  // or at the next checks while what made the rebuild fail (a long transaction) makes the drop fail too.
  if (q.error && cfg.drop_leftovers && !stopped_ && conn_->connected() && !co_await drop_leftovers(t.relid))
    leftovers_due_ = true;
  co_return true;
}

awaitable<bool> Engine::drop_leftovers(std::int64_t table_relid) {
  // Invalid indexes (few), unless someone builds an index on their table now or holds a lock on them (a
  // REINDEX CONCURRENTLY in progress elsewhere has exactly such an index); which of them are leftovers of a
  // failed rebuild is policy::is_reindex_leftover's to say.
  static constexpr std::string_view kLeftovers =
      "SELECT n.nspname, c.relname, c.oid FROM pg_index i "
      "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE NOT i.indisvalid AND c.relpersistence <> 't' "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' "
      "AND ($1::oid = 0 OR i.indrelid = $1::oid) "
      "AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid) "
      "AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.relation = c.oid AND l.pid <> pg_backend_pid() "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) ORDER BY c.oid";
  auto q = co_await watch_->query(kLeftovers, pg::one_param(std::to_string(table_relid)), kControlQueryTimeout);
  if (stopped_) co_return false;
  if (q.error) {
    log_failure("cannot look for leftovers of failed REINDEX CONCURRENTLY", key_, *q.error);
    co_return false;
  }
  pg::ResultRows rows(q.result.get());
  bool all = true;
  for (int r = 0; r < rows.size() && !stopped_; ++r) {
    const std::string schema(rows.get(r, 0).value_or("")), index(rows.get(r, 1).value_or("")),
        oid(rows.get(r, 2).value_or("0"));
    if (!policy::is_reindex_leftover(index, false)) continue;
    const auto sql = drop_index_statement(conn_->escape_identifier(schema), conn_->escape_identifier(index));
    if (sql.empty()) co_return false;  // quoting failed: the connection is gone
    // It waits for the transactions that may use the index, each wait bounded by the session's lock_timeout.
    auto drop = co_await conn_->query(sql, {}, kControlQueryTimeout + 4 * settings_->cfg.lock_timeout);
    if (stopped_) co_return false;
    bool gone = false;
    if (!drop.error) {  // proven by the catalog, not by the command's status
      static constexpr std::string_view kGone = "SELECT NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = $1::oid)";
      auto g = co_await watch_->query(kGone, pg::one_param(oid), kControlQueryTimeout);
      gone = !g.error && first_is_true(g.result.get(), 0);
    }
    if (gone) {
      sink_->leftover_dropped();
      leftover_warned_.erase({schema, index});
      spdlog::info("dropped an invalid index left by a failed REINDEX CONCURRENTLY target={} datname={} index={}",
                   key_.target, key_.datname, qualified(schema, index));
      continue;
    }
    all = false;
    // Tried again at the next checks: said once.
    if (leftover_warned_.insert({schema, index}).second) {
      spdlog::warn("cannot drop an invalid index left by a failed REINDEX CONCURRENTLY target={} datname={} "
                   "index={}{}",
                   key_.target, key_.datname, qualified(schema, index),
                   drop.error ? " detail=\"" + pg::describe(*drop.error) + "\"" : "");
    }
  }
  co_return all && !stopped_;
}

awaitable<bool> Engine::set_statement_timeout(config::Duration timeout) {
  static constexpr std::string_view kSet = "SELECT set_config('statement_timeout', $1, false)";
  auto q = co_await conn_->query(kSet, pg::one_param(std::to_string(timeout.count())), kControlQueryTimeout);
  if (q.error && !stopped_) log_failure("cannot set the maintenance session's statement_timeout", key_, *q.error);
  co_return !q.error;
}

awaitable<void> Engine::account_freeze(const policy::Decision& d, const Settings& s, std::int64_t removed,
                                       std::optional<std::pair<std::int64_t, std::int64_t>> ages_before,
                                       double seconds) {
  const auto& t = *d.table;
  const auto ages_after = co_await read_ages(t.relid);
  if (stopped_) co_return;
  auto text = [](const std::optional<std::pair<std::int64_t, std::int64_t>>& a, bool xid) {
    return a ? std::to_string(xid ? a->first : a->second) : std::string("unknown");
  };
  spdlog::info("freeze finished target={} datname={} table={} result=success seconds={:.3f} xid_age_before={} "
               "xid_age_after={} mxid_age_before={} mxid_age_after={} removed={}",
               key_.target, key_.datname, qualified(t.schemaname, t.relname), seconds, text(ages_before, true),
               text(ages_after, true), text(ages_before, false), text(ages_after, false), removed);
  if (!ages_after || !freeze_ages_) co_return;
  // Still at min_age_ratio or more: something kept the freeze from advancing. Name the horizon's holder.
  const auto& all = freeze_ages_->freeze;
  const auto it = std::find_if(all.begin(), all.end(), [&](const model::FreezeAge& a) { return a.relid == t.relid; });
  if (it == all.end()) co_return;
  model::FreezeAge now = *it;
  now.xid_age = ages_after->first;
  now.mxid_age = ages_after->second;
  const double due = model::freeze_due_ratio(now).value_or(0.0);
  if (due < s.freeze.min_age_ratio) co_return;
  const auto holder = co_await oldest_horizon();
  spdlog::warn("freeze left the table old: freeze due ratio {:.3f} >= min_age_ratio {} target={} datname={} "
               "table={} source={} holder=\"{}\"",
               due, s.freeze.min_age_ratio, key_.target, key_.datname, qualified(t.schemaname, t.relname),
               holder ? holder->source : "none", holder ? holder->holder : "nothing holds the xmin horizon now");
}

void Engine::log_entry(const model::TableStats& t, std::string_view action, std::string_view result,
                       std::string reason, std::optional<double> seconds, std::optional<std::int64_t> removed,
                       std::string index) {
  model::LogEntry e;
  e.at_unix = base::unix_now();
  e.schema = t.schemaname;
  e.table = t.relname;
  e.index = std::move(index);
  e.action = std::string(action);
  e.result = std::string(result);
  e.reason = std::move(reason);
  e.seconds = seconds;
  e.removed = removed;
  sink_->logged(std::move(e));
}

void Engine::log_skip(const model::TableStats& t, std::string_view action, policy::Reason reason,
                      const std::string& why, std::string index) {
  if (reason == policy::Reason::kDryRun)
    log_entry(t, action, "dry_run", why, std::nullopt, std::nullopt, std::move(index));
  else
    log_entry(t, action, "skipped", std::string(policy::name(reason)) + ": " + why, std::nullopt, std::nullopt,
              std::move(index));
}

void Engine::report(const policy::Decision& d, const Outcome& outcome, double seconds, const std::string& detail) {
  const auto& t = *d.table;
  const auto action = action_label(*d.action, t.relkind);
  if (!stopped_) {  // a stopped engine's series are gone; they must not come back
    sink_->run(t.schemaname, t.relname, action, name(outcome.result));
    sink_->duration(seconds);
  }
  for (const auto& n : outcome.unknown_notices)
    spdlog::warn("maintenance notice not understood, reported as sent target={} datname={} table={} notice=\"{}\"",
                 key_.target, key_.datname, qualified(t.schemaname, t.relname), n);
  const bool vacuum = is_vacuum(*d.action, t.relkind);
  if (outcome.result == Result::kSuccess && vacuum) return;  // act() logs it with the rows removed
  if (!stopped_) log_entry(t, action, name(outcome.result), detail.empty() ? d.why : detail, seconds);
  const auto level = outcome.result == Result::kSuccess ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level, "{} finished target={} datname={} table={} result={} seconds={:.3f}{}", action,
              key_.target, key_.datname, qualified(t.schemaname, t.relname), name(outcome.result), seconds,
              detail.empty() ? "" : " detail=\"" + detail + "\"");
}

awaitable<void> Engine::watch_blockers([[maybe_unused]] std::shared_ptr<Engine> self, int backend_pid,
                                       config::Duration lock_timeout, std::shared_ptr<bool> done) {
  asio::steady_timer timer(loop_);
  const auto interval = std::clamp<config::Duration>(lock_timeout / 4, std::chrono::milliseconds(50),
                                                     std::chrono::milliseconds(1000));
  const double limit = std::chrono::duration<double>(lock_timeout).count();
  const auto sql = blocked_sessions_sql(watch_->server_version());
  while (!*done && !stopped_) {
    timer.expires_after(interval);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (*done || stopped_) break;
    auto q = co_await watch_->query(sql, pg::one_param(std::to_string(backend_pid)), kControlQueryTimeout);
    if (q.error || *done || stopped_) continue;
    const auto waited = pg::ResultRows(q.result.get()).get(0, 0);
    const double seconds = waited ? std::strtod(std::string(*waited).c_str(), nullptr) : 0.0;
    if (seconds >= limit) {
      // Yield as autovacuum does: the waiting session (often DDL, with every query queued behind it) goes first.
      spdlog::warn("yielding: a session has waited {:.1f}s for a lock our {} holds; cancelling it target={} "
                   "datname={} backend_pid={}",
                   seconds, running_ ? running_->what : "action", key_.target, key_.datname, backend_pid);
      cancelled_by_us_ = true;
      cancel_reason_ = "yielded to a session waiting for its lock";
      conn_->cancel_running();
      break;
    }
  }
}

}  // namespace pghealthd::maintenance
