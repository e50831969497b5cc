#include "app/app.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "app/check.h"
#include "app/context.h"
#include "app/notify.h"
#include "app/target_watch.h"
#include "config/load.h"
#include "http/server.h"
#include "metrics/store.h"
#include "pg/canceller.h"
#include "report/advice_report.h"
#include "report/daemon_view.h"
#include "report/health_page.h"
#include "report/health_report.h"
#include "base/clock.h"
#include "version.h"

namespace pghealthd::app {
namespace {

// How long a graceful shutdown may take before the process exits regardless.
constexpr std::chrono::seconds kShutdownBound{10};
constexpr std::chrono::seconds kStatusInterval{10};
// How long the exit waits for cancel requests still in flight; well inside kShutdownBound.
constexpr std::chrono::seconds kCancelDrainBound{3};

class Daemon {
 public:
  Daemon(const config::Config& cfg, std::string path)
      : cfg_(cfg),
        path_(std::move(path)),
        store_(PGHEALTHD_VERSION),
        engines_(loop_.get_executor(), blocking_, store_, maintenance::Config::of(cfg)),
        ctx_{loop_.get_executor(), blocking_, store_, engines_, cfg.collectors, cfg.cardinality, cfg.indexes,
             cfg.bloat},
        server_(loop_.get_executor(), [this](const http::Request& r) { return handle(r); }),
        signals_(loop_, SIGINT, SIGTERM, SIGHUP),
        status_timer_(loop_),
        watchdog_timer_(loop_) {}

  int run() {
    const auto listen = config::parse_listen(cfg_.listen);  // validated by the config
    bool authenticated = false;
    try {
      if (!cfg_.web_config_file.empty()) {
        const auto web = std::get<http::WebConfig>(http::load_web_config(cfg_.web_config_file));  // validated
        server_.secure(web, blocking_);
        authenticated = !web.users.empty();
        spdlog::info("web configuration loaded tls={} basic_auth_users={}", web.tls.has_value(), web.users.size());
      }
      server_.listen(listen->host, listen->port);
    } catch (const std::exception& e) {
      spdlog::critical("cannot start the HTTP endpoint listen={} error=\"{}\"", cfg_.listen, e.what());
      blocking_.join();
      return 1;
    }
    spdlog::info("pghealthd {} listening address={}:{} targets={}", PGHEALTHD_VERSION,
                 listen->host.empty() ? "*" : listen->host, server_.port(), cfg_.targets.size());
    if (!authenticated &&
        (listen->host.empty() || (listen->host != "127.0.0.1" && listen->host != "::1" && listen->host != "localhost")))
      spdlog::warn("the endpoint listens beyond loopback without authentication address={}", cfg_.listen);
    store_.config_loaded(true);
    log_vacuum_mode();
    for (const auto& t : cfg_.targets) start_target(t, {});

    wait_for_signal();
    tick_status();
    if (auto interval = notify::watchdog_interval()) tick_watchdog(*interval);
    notify::ready(status_line());

    loop_.run();
    blocking_.join();  // pending connects and PQfinish calls complete
    // Cancels sent at shutdown (a VACUUM in progress) reach a healthy server in milliseconds: wait for them,
    // so no backend of ours runs on after we are gone. A server that does not answer (frozen) gets a bound,
    // not our exit status: its cancels stay blocked on the canceller's threads, which are never joined.
    if (!pg::Canceller::shared().drain(kCancelDrainBound))
      spdlog::warn("exiting with cancel requests still unanswered running={} queued={}",
                   pg::Canceller::shared().running(), pg::Canceller::shared().queued());
    {
      std::lock_guard lock(done_mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (shutdown_guard_.joinable()) shutdown_guard_.join();
    spdlog::info("stopped");
    return 0;
  }

 private:
  http::Response handle(const http::Request& req) {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (path == "/metrics")
      return {200, "text/plain; version=0.0.4; charset=utf-8", store_.body(req.accepts_gzip),
              req.accepts_gzip ? "gzip" : ""};
    // Answered from the loop thread: an answer proves the loop runs.
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
      const auto up = databases_up();
      if (up > 0) return {200, "text/plain; charset=utf-8", "ready: " + std::to_string(up) + " database(s) reachable\n"};
      return {503, "text/plain; charset=utf-8", "not ready: no database reached yet\n"};
    }
    if (path == "/advice") return advice(req);
    if (path == "/status.json") return {200, "application/json", given_back(report::render_json(health_reports()))};
    if (path == "/") return {200, "text/html; charset=utf-8", given_back(health_page())};
    return {404, "text/plain; charset=utf-8", "not found\n"};
  }

  // GET /advice: autovacuum tuning advice from each table's churn history, worst first. JSON, or text for
  // a browser (an Accept that prefers text/html or text/plain) and for ?format=text.
  http::Response advice(const http::Request& req) const {
    const auto settings = policy::advice_settings(cfg_.advice, cfg_.tuning);
    std::vector<report::TableAdvice> all;
    for (const auto& [key, snapshot] : store_.snapshots(collectors::Kind::kStatUserTables)) {
      auto some = report::advise_all(key.target, key.datname, *snapshot, settings, false);
      std::move(some.begin(), some.end(), std::back_inserter(all));
    }
    report::sort_worst_first(all);
    const std::string_view query = req.target.find('?') == std::string::npos
                                       ? std::string_view()
                                       : std::string_view(req.target).substr(req.target.find('?') + 1);
    const bool json_asked = query.find("format=json") != std::string_view::npos;
    const bool text_asked = query.find("format=text") != std::string_view::npos ||
                            (!json_asked && (req.accept.find("text/html") != std::string::npos ||
                                             req.accept.rfind("text/plain", 0) == 0));
    if (text_asked) return {200, "text/plain; charset=utf-8", report::render_advice_text(all, settings)};
    return {200, "application/json", report::render_advice_json(all, settings)};
  }

  // The health report of every watched database (GET / and /status.json), from what the store keeps (no
  // query): each section from the last successful run of the collector that gathers it, the daemon's own
  // view (reachability, collectors, maintenance log, history) added, at most health_page.rows_per_section
  // rows per section. Built on the loop thread, like a scrape: about 45 ms of CPU at 10,000 tables
  // (bench/results/page.md).
  std::vector<report::DatabaseReport> health_reports() const {
    auto thresholds = report_thresholds(cfg_);
    thresholds.attention_list = true;
    thresholds.ok_rows_kept = cfg_.health_page.rows_per_section;
    const double now = base::unix_now();
    const auto enabled = cfg_.collectors.in_kind_order();
    const bool maintains = maintenance::Config::of(cfg_).wanted();
    std::vector<report::DatabaseReport> reports;
    for (const auto& db : store_.databases()) {
      const auto of = [&db](collectors::Kind kind) -> const collectors::Data* {
        return db.snapshots[static_cast<std::size_t>(kind)].get();
      };
      report::Sources sources;
      sources.tables = of(collectors::Kind::kStatUserTables);
      sources.io = of(collectors::Kind::kStatioUserTables);
      sources.indexes = of(collectors::Kind::kStatUserIndexes);
      sources.freeze = of(collectors::Kind::kFreeze);
      sources.sequences = of(collectors::Kind::kSequences);
      sources.bloat = of(collectors::Kind::kBloat);
      auto r = report::build(db.key.target, db.key.datname, sources, thresholds, now);
      report::DaemonView view;
      view.now_unix = now;
      view.up = db.up;
      view.down_reason = db.state->down_reason;
      for (const auto& def : collectors::all()) {
        const auto k = static_cast<std::size_t>(def.kind);
        if (enabled[k]->enabled)
          view.collectors.push_back({std::string(def.name), db.last_success[k], db.state->collector_error[k]});
      }
      if (maintains || !db.state->log.entries().empty()) view.log = &db.state->log;
      if (db.state->running) view.running = &*db.state->running;
      view.history = &db.state->history;
      view.tables = sources.tables;
      view.horizon = of(collectors::Kind::kXminHorizon);
      view.vacuums = of(collectors::Kind::kVacuumProgress);
      report::add_daemon_view(r, view, thresholds);
      report::limit_rows(r, cfg_.health_page.rows_per_section);
      report::attach_history(r, view);
      reports.push_back(std::move(r));
    }
    return reports;
  }

  // The report behind a page holds a few sections of every table for a moment (report::build cuts each as
  // it is finished): at 10,000 tables about 18 MB, which glibc would keep. Given back to the system once the
  // answer is rendered, for about 5 ms of CPU (bench/results/page.md).
  static std::string given_back(std::string answer) {
    ::malloc_trim(0);
    return answer;
  }

  std::string health_page() const {
    return report::render_html(health_reports(), {PGHEALTHD_VERSION, base::unix_now(), 30, status_line()});
  }

  std::size_t databases_up() const {
    std::size_t n = 0;
    for (const auto& [name, t] : targets_) n += t->databases_up();
    return n;
  }

  std::string status_line() const {
    std::size_t dbs = 0;
    for (const auto& [name, t] : targets_) dbs += t->databases();
    return "watching " + std::to_string(dbs) + " database(s) of " + std::to_string(targets_.size()) +
           " target(s), " + std::to_string(databases_up()) + " reachable";
  }

  void start_target(const config::Target& t, std::set<metrics::DbKey> inherited) {
    auto w = std::make_shared<TargetWatch>(ctx_, t);
    w->inherit(std::move(inherited));
    targets_[t.name] = w;
    w->start();
  }

  void log_vacuum_mode() const {
    if (cfg_.vacuum.enabled)
      spdlog::info("automatic vacuum is on dry_run={} dead_tuple_ratio={} min_dead_tuples={} cooldown={}s",
                   cfg_.vacuum.dry_run, cfg_.vacuum.dead_tuple_ratio, cfg_.vacuum.min_dead_tuples,
                   std::chrono::duration_cast<std::chrono::seconds>(cfg_.vacuum.cooldown).count());
  }

  // parse -> validate -> swap: a bad file changes nothing.
  void reload() {
    notify::reloading();
    auto loaded = config::load_config(path_);
    if (auto* problems = std::get_if<std::vector<config::Problem>>(&loaded)) {
      for (const auto& p : *problems)
        spdlog::error("configuration reload failed, keeping the running one: {}", config::format_problem(path_, p));
      store_.config_loaded(false);
      notify::ready("reload failed; " + status_line());
      return;
    }
    auto next = std::get<config::Config>(std::move(loaded));
    if (next.web_config_file != cfg_.web_config_file) {
      spdlog::warn("web_config_file changed: that needs a restart; keeping {}", cfg_.web_config_file);
      next.web_config_file = cfg_.web_config_file;
    }
    if (next.listen != cfg_.listen) {
      spdlog::warn("listen changed from {} to {}: that needs a restart; still listening on {}", cfg_.listen,
                   next.listen, cfg_.listen);
      next.listen = cfg_.listen;
    }
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    // Schedules, cardinality controls, index rules and bloat settings are read when a database watch starts:
    // when they change, every watch is replaced. A replaced watch hands its series to its successor, so
    // /metrics has no gap. The maintenance engines are not the watches': they take new vacuum settings where
    // they are, and a replaced watch finds its database's engine (app/engines.h), running action and history
    // included.
    const bool everything = next.collectors != cfg_.collectors || next.cardinality != cfg_.cardinality ||
                            next.indexes != cfg_.indexes || next.bloat != cfg_.bloat;
    ctx_.collectors = next.collectors;
    ctx_.cardinality = next.cardinality;
    ctx_.indexes = next.indexes;
    ctx_.bloat = next.bloat;
    engines_.configure(maintenance::Config::of(next));
    std::map<std::string, const config::Target*> wanted;
    for (const auto& t : next.targets) wanted[t.name] = &t;
    std::size_t replaced = 0, added = 0, removed = 0;
    for (auto it = targets_.begin(); it != targets_.end();) {
      const auto w = wanted.find(it->first);
      const config::Target* old = nullptr;
      for (const auto& t : cfg_.targets)
        if (t.name == it->first) old = &t;
      if (w == wanted.end()) {
        it->second->stop(true);
        it = targets_.erase(it);
        ++removed;
        continue;
      }
      if (everything || !old || !(*old == *w->second)) {
        auto keys = it->second->keys();
        it->second->stop(false);
        start_target(*w->second, std::move(keys));
        ++replaced;
      }
      ++it;
    }
    for (const auto& t : next.targets)
      if (!targets_.count(t.name)) {
        start_target(t, {});
        ++added;
      }
    cfg_ = std::move(next);
    store_.config_loaded(true);
    spdlog::info("configuration reloaded targets={} added={} replaced={} removed={} log_level={}", cfg_.targets.size(),
                 added, replaced, removed, cfg_.log_level);
    log_vacuum_mode();
    notify::ready(status_line());
  }

  void shutdown(int sig) {
    spdlog::info("shutting down signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
    notify::stopping();
    // Restore the default dispositions: a second SIGTERM or SIGINT now ends the process at once.
    boost::system::error_code ignored;
    signals_.clear(ignored);
    status_timer_.cancel();
    watchdog_timer_.cancel();
    server_.stop();
    engines_.stop_all("pghealthd is shutting down");
    for (auto& [name, t] : targets_) t->stop(true);
    // The loop ends by itself once the aborted waits have unwound; this bounds it if something hangs.
    shutdown_guard_ = std::thread([this] {
      std::unique_lock lock(done_mutex_);
      if (!done_cv_.wait_for(lock, kShutdownBound, [this] { return done_; })) {
        spdlog::error("shutdown took longer than {}s: exiting now", kShutdownBound.count());
        std::_Exit(1);
      }
    });
  }

  // Signals are handled inside the loop: no work happens in a signal handler.
  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_for_signal();
      } else {
        shutdown(sig);
      }
    });
  }

  void tick_status() {
    status_timer_.expires_after(kStatusInterval);
    status_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      notify::status(status_line());
      tick_status();
    });
  }

  // Sent from the loop itself: a stuck loop stops the keep-alives and systemd restarts the service.
  void tick_watchdog(std::chrono::microseconds interval) {
    notify::watchdog();
    watchdog_timer_.expires_after(interval);
    watchdog_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
      if (!ec) tick_watchdog(interval);
    });
  }

  config::Config cfg_;
  std::string path_;
  asio::io_context loop_{1};
  asio::thread_pool blocking_{2};
  metrics::Store store_;
  Engines engines_;
  Context ctx_;
  http::Server server_;
  asio::signal_set signals_;
  asio::steady_timer status_timer_;
  asio::steady_timer watchdog_timer_;
  std::map<std::string, std::shared_ptr<TargetWatch>> targets_;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread shutdown_guard_;
};

}  // namespace

int run(const config::Config& cfg, const std::string& config_path) {
  Daemon daemon(cfg, config_path);
  return daemon.run();
}

}  // namespace pghealthd::app
