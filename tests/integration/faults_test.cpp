// Faults pghealthd must survive against a real PostgreSQL: restarts while collecting and vacuuming, a
// frozen server, queries past statement_timeout, no free connection slot, a wrong password, and being
// killed in the middle of a VACUUM. After each: it recovers by itself, and leaves no backend behind.
#include <catch2/catch.hpp>

#include <filesystem>

#include <signal.h>

#include <fstream>
#include <memory>
#include <thread>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;

namespace {

std::string config_for(const std::string& conninfo, const std::string& extra_target = "",
                       const std::string& tail = "") {
  return "targets:\n  - name: t\n    conninfo: \"" + conninfo + "\"\n" + extra_target +
         "collectors:\n  stat_user_tables: { interval: 200ms }\n  statio_user_tables: { interval: 200ms }\n"
         "  stat_user_indexes: { interval: 200ms }\n  xmin_horizon: { interval: 200ms }\n" + tail;
}

const std::string kFastRetry =
    "    connection: { backoff_initial: 100ms, backoff_max: 500ms, connect_timeout: 2s, statement_timeout: 1s }\n";

bool up(const Scrape& s) { return s.value("pghealthd_up", {{"target", "t"}}) == 1.0; }
bool down(const Scrape& s) { return s.value("pghealthd_up", {{"target", "t"}}) == 0.0; }

std::string our_backends(const Cluster& pg) {
  return pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pghealthd'");
}

// SIGSTOPs every process of a server; SIGCONTs them when it goes, so a failed assertion still thaws it.
class Freeze {
 public:
  explicit Freeze(const Cluster& pg) : pids_(pg.server_pids()) {
    for (int pid : pids_) ::kill(pid, SIGSTOP);
  }
  ~Freeze() { thaw(); }
  Freeze(const Freeze&) = delete;
  Freeze& operator=(const Freeze&) = delete;
  void thaw() {
    for (int pid : pids_) ::kill(pid, SIGCONT);
    pids_.clear();
  }
  [[nodiscard]] std::size_t size() const { return pids_.size(); }

 private:
  std::vector<int> pids_;
};

}  // namespace

TEST_CASE("the server restarted fast and immediate while collecting: pghealthd recovers, one backend") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int); INSERT INTO t1 VALUES (1);");
  Daemon d(config_for(pg.conninfo(), kFastRetry));
  REQUIRE(d.wait_for(up));
  for (const std::string mode : {"fast", "immediate"}) {
    INFO("restart -m " << mode);
    pg.restart(mode);
    REQUIRE(d.wait_for([](const Scrape& s) {
      return up(s) && s.value("pghealthd_collector_success", {{"collector", "stat_user_tables"}}) == 1.0 &&
             s.value("pghealthd_table_live_tuples", {{"relname", "t1"}}).has_value();
    }));
    CHECK(eventually([&] { return our_backends(pg) == "1"; }));
  }
}

TEST_CASE("the server restarted while vacuuming: the vacuum fails cleanly and pghealthd carries on") {
  Cluster pg;
  pg.exec(bloated_table("big", 200000, 100000));
  Daemon d(config_for(pg.conninfo(), kFastRetry,
                      "vacuum: { enabled: true, cooldown: 0ms, cost_delay: 100ms, cost_limit: 1, max_per_hour: 100 }\n"));
  REQUIRE(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "1"; }));
  pg.restart("fast");  // fast keeps the statistics (immediate resets them, and the bloat with them)
  auto got = d.wait_for([](const Scrape& s) {
    double ended = 0;
    for (const char* r : {"failed", "cancelled", "timeout"})
      for (const auto& run : s.all("pghealthd_vacuum_runs_total", {{"relname", "big"}, {"result", r}})) ended += run.value;
    return up(s) && ended >= 1;
  });
  REQUIRE(got);
  // It tries again on the restarted server (the table is still bloated), from fresh connections.
  CHECK(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "1"; }));
  CHECK(std::stoi(our_backends(pg)) <= 3);  // collector + vacuum + its watch
}

TEST_CASE("a frozen server: deadlines fire, /metrics answers promptly, up turns 0, then recovery") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int);");
  Daemon d(config_for(pg.conninfo(), kFastRetry));
  REQUIRE(d.wait_for(up));
  const auto pids = pg.server_pids();
  REQUIRE(pids.size() >= 2);
  for (int pid : pids) ::kill(pid, SIGSTOP);
  struct Thaw {
    std::vector<int> pids;
    ~Thaw() {
      for (int pid : pids) ::kill(pid, SIGCONT);
    }
  } thaw{pids};
  std::chrono::steady_clock::duration slowest{};
  auto frozen = d.wait_for(
      [&](const Scrape& s) {
        const auto t0 = std::chrono::steady_clock::now();
        (void)d.get("/healthz");
        slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
        return down(s) && s.all("pghealthd_table_live_tuples").empty();
      },
      40s);
  REQUIRE(frozen);
  CHECK(slowest < 1s);
  for (int pid : pids) ::kill(pid, SIGCONT);
  REQUIRE(d.wait_for([](const Scrape& s) {
    return up(s) && s.value("pghealthd_table_live_tuples", {{"relname", "t1"}}).has_value();
  }, 40s));
  CHECK(eventually([&] { return our_backends(pg) == "1"; }));
}

TEST_CASE("a query past statement_timeout fails that run only, and the connection stays") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int);");
  Daemon d(config_for(pg.conninfo(), "    connection: { statement_timeout: 1ms }\n"));
  auto got = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_collector_success", {{"collector", "stat_user_tables"}}) == 0.0 && up(s);
  });
  REQUIRE(got);
  CHECK(d.log().find("canceling statement due to statement timeout (SQLSTATE 57014)") != std::string::npos);
  CHECK(our_backends(pg) == "1");
}

TEST_CASE("no free connection slot: a clear error, backoff, and recovery when slots free up") {
  Cluster pg;
  pg.exec("ALTER SYSTEM SET max_connections = 12; ALTER SYSTEM SET superuser_reserved_connections = 3;");
  pg.restart("fast");
  pg.exec("CREATE ROLE watcher LOGIN IN ROLE pg_monitor; CREATE ROLE filler LOGIN;");
  std::string base = pg.conninfo();
  std::string filler = base, watcher = base;
  filler.replace(filler.find("user=postgres"), 13, "user=filler");
  watcher.replace(watcher.find("user=postgres"), 13, "user=watcher");
  std::vector<std::unique_ptr<Session>> hogs;
  for (int i = 0; i < 9; ++i) hogs.push_back(std::make_unique<Session>(filler));  // every non-reserved slot
  Daemon d(config_for(watcher, kFastRetry));
  REQUIRE(d.wait_for(down));
  std::this_thread::sleep_for(1500ms);
  const auto log = d.log();
  INFO(log);
  CHECK((log.find("remaining connection slots are reserved") != std::string::npos ||
         log.find("too many clients already") != std::string::npos));
  // Logged once per reason, not on every retry of the backoff.
  std::size_t lines = 0;
  for (std::size_t at = log.find("database unreachable, retrying"); at != std::string::npos;
       at = log.find("database unreachable, retrying", at + 1))
    ++lines;
  CHECK(lines == 1);
  hogs.clear();
  REQUIRE(d.wait_for(up));
}

TEST_CASE("a wrong password: one clear log line, backoff, never the password, and a fixed file recovers") {
  Cluster pg;
  pg.exec("CREATE ROLE watcher LOGIN PASSWORD 'Right-Pa55' IN ROLE pg_monitor;");
  std::system(("sed -i '1i local all watcher scram-sha-256' " + pg.scalar("SHOW hba_file")).c_str());
  pg.exec("SELECT pg_reload_conf();");
  const std::string pwfile = "/tmp/pghealthd-pw-" + std::to_string(::getpid());
  std::ofstream(pwfile) << "Wrong-Guess-77\n";
  std::filesystem::permissions(pwfile, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string conninfo = pg.conninfo();
  conninfo.replace(conninfo.find("user=postgres"), 13, "user=watcher");
  Daemon d(config_for(conninfo, kFastRetry + "    password_file: " + pwfile + "\n"));
  REQUIRE(d.wait_for(down));
  std::this_thread::sleep_for(1500ms);
  auto log = d.log();
  CHECK(log.find("password authentication failed for user \"watcher\"") != std::string::npos);
  CHECK(log.find("Wrong-Guess-77") == std::string::npos);
  CHECK(d.get("/metrics").find("Wrong-Guess-77") == std::string::npos);
  CHECK(run("cat /proc/" + std::to_string(d.pid()) + "/cmdline").find("Wrong-Guess-77") == std::string::npos);
  std::ofstream(pwfile) << "Right-Pa55\n";  // re-read at the next attempt: no restart needed
  REQUIRE(d.wait_for(up));
  CHECK(d.log().find("Right-Pa55") == std::string::npos);
  std::remove(pwfile.c_str());
}

TEST_CASE("pghealthd killed with SIGKILL during a VACUUM: the server ends that VACUUM within seconds") {
  Cluster pg;
  pg.exec(bloated_table("big", 200000, 100000));
  Daemon d(config_for(pg.conninfo(), "", "vacuum: { enabled: true, cost_delay: 100ms, cost_limit: 1 }\n"));
  REQUIRE(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "1"; }));
  d.signal(SIGKILL);
  // client_connection_check_interval (1 s) lets the server notice the vanished client mid-VACUUM.
  CHECK(eventually(
      [&] {
        return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "0" && our_backends(pg) == "0";
      },
      10s));
}

TEST_CASE("shutdown with two engines cancelling against a SIGSTOPped server exits within 10 s, and a connect "
          "to a healthy target during the freeze still succeeds") {
  Cluster a, b;
  a.exec("CREATE DATABASE d1; CREATE DATABASE d2;");
  for (const char* db : {"d1", "d2"}) a.exec(bloated_table("big", 200000, 100000), db);
  b.exec("CREATE TABLE t1 (id int);");
  const std::string rest =
      "collectors:\n  stat_user_tables: { interval: 200ms }\n  statio_user_tables: { interval: 200ms }\n"
      "  stat_user_indexes: { interval: 200ms }\n  xmin_horizon: { interval: 200ms }\n"
      "vacuum: { enabled: true, max_concurrent: 2, cost_delay: 100ms, cost_limit: 1 }\n";
  Daemon d("targets:\n  - name: a\n    conninfo: \"" + a.conninfo() + "\"\n    databases: [d1, d2]\n" + rest);
  // Both VACUUMs run for minutes at this cost limit.
  REQUIRE(eventually([&] { return a.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "2"; }, 60s));
  Freeze frozen(a);
  REQUIRE(frozen.size() >= 2);
  // Removing target a stops both vacuum engines: each sends a cancel that the frozen server never answers.
  d.rewrite_config("targets:\n  - name: b\n    conninfo: \"" + b.conninfo() + "\"\n" + rest);
  d.signal(SIGHUP);
  // b's connect must not wait behind those cancels.
  CHECK(d.wait_for([](const Scrape& s) { return s.value("pghealthd_up", {{"target", "b"}}) == 1.0; }, 10s));
  // stop() returns -1 when SIGTERM did not end the process within the bound.
  const auto t0 = std::chrono::steady_clock::now();
  const int status = d.stop(10s);
  INFO("shutdown took " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
  INFO(d.log());
  CHECK(status == 0);
  frozen.thaw();  // the clusters' teardown needs a live server
}
