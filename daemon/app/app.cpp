#include "app/app.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "app/context.h"
#include "app/target_watch.h"
#include "config/load.h"
#include "http/server.h"
#include "metrics/store.h"
#include "version.h"

namespace pghealthd::app {
namespace {

// How long a graceful shutdown may take before the loop is stopped regardless.
constexpr std::chrono::seconds kShutdownBound{10};

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string landing_page(const std::vector<std::shared_ptr<TargetWatch>>& targets,
                         const config::Config& cfg) {
  std::string body =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>pghealthd</title></head><body>"
      "<h1>pghealthd " PGHEALTHD_VERSION
      "</h1><p>PostgreSQL table health for Prometheus.</p>"
      "<p><a href=\"/metrics\">Metrics</a></p><table border=\"1\" cellpadding=\"4\">"
      "<tr><th>target</th><th>databases</th><th>reachable</th></tr>";
  for (std::size_t i = 0; i < targets.size(); ++i) {
    body += "<tr><td>" + html_escape(cfg.targets[i].name) + "</td><td>" +
            std::to_string(targets[i]->databases()) + "</td><td>" +
            std::to_string(targets[i]->databases_up()) + "</td></tr>";
  }
  body += "</table></body></html>\n";
  return body;
}

}  // namespace

int run(const config::Config& cfg) {
  asio::io_context loop(1);
  asio::thread_pool blocking(2);
  metrics::Store store(PGHEALTHD_VERSION);
  Context ctx{loop.get_executor(), blocking, store, cfg.collectors, cfg.vacuum};

  std::vector<std::shared_ptr<TargetWatch>> targets;
  http::Server server(loop.get_executor(), [&](const http::Request& req) -> http::Response {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", store.render()};
    if (path == "/") return {200, "text/html; charset=utf-8", landing_page(targets, cfg)};
    return {404, "text/plain; charset=utf-8", "not found\n"};
  });
  const auto listen = config::parse_listen(cfg.listen);  // validated by the config
  try {
    server.listen(listen->host, listen->port);
  } catch (const std::exception& e) {
    spdlog::critical("cannot start the HTTP endpoint listen={} error=\"{}\"", cfg.listen, e.what());
    blocking.join();
    return 1;
  }
  spdlog::info("pghealthd {} listening address={}:{} targets={}", PGHEALTHD_VERSION,
               listen->host.empty() ? "*" : listen->host, server.port(), cfg.targets.size());

  if (cfg.vacuum.enabled)
    spdlog::info("automatic vacuum is on dry_run={} dead_tuple_ratio={} min_dead_tuples={} cooldown={}s",
                 cfg.vacuum.dry_run, cfg.vacuum.dead_tuple_ratio, cfg.vacuum.min_dead_tuples,
                 std::chrono::duration_cast<std::chrono::seconds>(cfg.vacuum.cooldown).count());
  for (const auto& t : cfg.targets) {
    targets.push_back(std::make_shared<TargetWatch>(ctx, t));
    targets.back()->start();
  }

  // Signals are handled inside the loop: no work happens in a signal handler.
  asio::signal_set signals(loop, SIGINT, SIGTERM, SIGHUP);
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread shutdown_guard;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          spdlog::warn(
              "SIGHUP received: configuration reload is not supported yet; restart to apply changes");
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("shutting down signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
        // Restore the default dispositions: a second SIGTERM or SIGINT now ends the process at once.
        boost::system::error_code ignored;
        signals.clear(ignored);
        server.stop();
        for (auto& t : targets) t->stop();
        // The loop ends by itself once the aborted waits have unwound; this bounds it if something hangs.
        shutdown_guard = std::thread([&] {
          std::unique_lock lock(done_mutex);
          if (!done_cv.wait_for(lock, kShutdownBound, [&] { return done; })) {
            spdlog::error("shutdown took longer than {}s: exiting now", kShutdownBound.count());
            std::_Exit(1);
          }
        });
      };
  signals.async_wait(on_signal);

  loop.run();
  blocking.join();  // pending PQfinish/PQcancel calls complete: no backend of ours is left behind
  {
    std::lock_guard lock(done_mutex);
    done = true;
  }
  done_cv.notify_all();
  if (shutdown_guard.joinable()) shutdown_guard.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace pghealthd::app
