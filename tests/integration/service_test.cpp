// pghealthd as a service: systemd's notify protocol, reload on SIGHUP, health endpoints.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;

namespace {

std::string target(const std::string& name, const Cluster& pg) {
  return "  - name: " + name + "\n    conninfo: \"" + pg.conninfo() + "\"\n";
}

std::string collectors(const std::string& interval) {
  return "collectors:\n  stat_user_tables: { interval: " + interval + " }\n  statio_user_tables: { interval: " +
         interval + " }\n  stat_user_indexes: { interval: " + interval + " }\n";
}

// A notify socket as systemd provides it: a Unix datagram socket whose path is in NOTIFY_SOCKET.
class NotifySocket {
 public:
  NotifySocket() : path_("/tmp/pghealthd-notify-" + std::to_string(::getpid()) + ".sock") {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    ::unlink(path_.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 200000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  // Reads datagrams until one contains `needle` or the timeout passes; keeps everything read.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      messages_.emplace_back(buf, static_cast<std::size_t>(n));
      if (messages_.back().find(needle) != std::string::npos) return true;
    }
    return false;
  }
  [[nodiscard]] int count(const std::string& needle) const {
    int n = 0;
    for (const auto& m : messages_) n += m.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

}  // namespace

TEST_CASE("systemd is told READY, RELOADING, STOPPING, a status and watchdog keep-alives") {
  Cluster pg;
  NotifySocket sock;
  Daemon d("targets:\n" + target("t", pg) + collectors("300ms"),
           {"NOTIFY_SOCKET=" + sock.path(), "WATCHDOG_USEC=400000"});
  REQUIRE(sock.wait_for("READY=1"));
  REQUIRE(sock.wait_for("WATCHDOG=1"));
  REQUIRE(sock.wait_for("WATCHDOG=1", 1s));  // every WatchdogSec/2 = 200 ms
  d.signal(SIGHUP);
  REQUIRE(sock.wait_for("RELOADING=1"));
  REQUIRE(sock.wait_for("READY=1"));
  CHECK(sock.count("MONOTONIC_USEC=") >= 1);
  CHECK(sock.count("STATUS=watching 1 database(s) of 1 target(s)") >= 1);
  d.signal(SIGTERM);
  REQUIRE(sock.wait_for("STOPPING=1"));
}

TEST_CASE("SIGHUP applies a changed config without a gap in /metrics and survives a broken one") {
  Cluster pg;
  pg.exec("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);");
  Daemon d("targets:\n" + target("first", pg) + collectors("300ms"));
  REQUIRE(d.wait_for([](const Scrape& s) { return s.value("pghealthd_table_live_tuples", {{"target", "first"}}).has_value(); }));

  // Scrape all along; the table of the unchanged target must never be missing.
  std::atomic<bool> running{true};
  std::atomic<int> scrapes{0}, gaps{0};
  std::thread scraper([&] {
    while (running) {
      try {
        if (!d.scrape().value("pghealthd_table_live_tuples", {{"target", "first"}, {"relname", "kept"}})) ++gaps;
        ++scrapes;
      } catch (...) {
        ++gaps;
      }
      std::this_thread::sleep_for(20ms);
    }
  });

  d.rewrite_config("log_level: debug\ntargets:\n" + target("first", pg) + target("second", pg) + collectors("200ms"));
  d.signal(SIGHUP);
  auto got = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_up", {{"target", "second"}}) == 1.0 &&
           s.value("pghealthd_table_live_tuples", {{"target", "second"}, {"relname", "kept"}}).has_value();
  });
  REQUIRE(got);
  CHECK(got->value("pghealthd_config_last_reload_successful", {}) == 1.0);

  d.rewrite_config("targets:\n  - name: broken\n    conninfo: [not, a, string]\n");
  d.signal(SIGHUP);
  auto kept = d.wait_for([](const Scrape& s) { return s.value("pghealthd_config_last_reload_successful", {}) == 0.0; });
  REQUIRE(kept);
  CHECK(kept->value("pghealthd_up", {{"target", "second"}}) == 1.0);  // the running config stays
  CHECK_FALSE(kept->value("pghealthd_up", {{"target", "broken"}}).has_value());
  std::this_thread::sleep_for(500ms);
  running = false;
  scraper.join();
  CHECK(scrapes > 5);
  CHECK(gaps == 0);
  const auto log = d.log();
  CHECK(log.find("configuration reloaded targets=2 added=1 replaced=1") != std::string::npos);
  CHECK(log.find("configuration reload failed, keeping the running one: " + d.config_path() + ":4:15:") !=
        std::string::npos);
  // Still serving and collecting after the failed reload.
  CHECK(d.get("/healthz") == "ok\n");
}

TEST_CASE("healthz answers while the loop runs, and readyz waits for a reachable database") {
  Cluster pg(/*start_now=*/false);
  Daemon d("targets:\n" + target("t", pg) + "    connection: { backoff_initial: 100ms, backoff_max: 300ms }\n" +
           collectors("200ms"));
  CHECK(d.get("/healthz") == "ok\n");
  CHECK(d.get("/readyz", "-o /dev/null -w '%{http_code}'") == "503");
  pg.start();
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    ready = d.get("/readyz", "-o /dev/null -w '%{http_code}'") == "200";
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  CHECK(ready);
}
