// Many databases on one target: max_connections bounds the backends pghealthd opens, every database still
// gets its metrics, a database waiting for a connection is not reported down, and the databases' runs are
// spread over the interval. Checked in pg_stat_activity and /metrics, as a DBA would.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> make_databases(Cluster& pg, int n) {
  std::vector<std::string> names;
  std::string create;
  for (int i = 1; i <= n; ++i) {
    names.push_back("d" + std::to_string(i));
    create += "CREATE DATABASE " + names.back() + ";\n";
  }
  pg.exec(create);
  for (const auto& db : names) pg.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);", db);
  return names;
}

std::string config_for(const Cluster& pg, const std::vector<std::string>& dbs, int max_connections,
                       const std::string& interval) {
  std::string list;
  for (const auto& db : dbs) list += (list.empty() ? "" : ", ") + db;
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + pg.conninfo() + "\"\n"
         "    databases: [" + list + "]\n"
         "    connection: { max_connections: " + std::to_string(max_connections) +
         ", backoff_initial: 100ms, backoff_max: 500ms, statement_timeout: 5s }\n"
         "collectors:\n"
         "  stat_user_tables: { interval: " + interval + " }\n"
         "  statio_user_tables: { interval: " + interval + " }\n"
         "  stat_user_indexes: { interval: " + interval + " }\n"
         "  xmin_horizon: { interval: " + interval + " }\n";
}

constexpr const char* kOurBackends =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pghealthd' AND backend_type = 'client backend'";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// SIGSTOPs one backend; SIGCONTs it when it goes, so a failed assertion still thaws it.
struct StoppedBackend {
  explicit StoppedBackend(int backend) : pid(backend) { ::kill(pid, SIGSTOP); }
  ~StoppedBackend() { ::kill(pid, SIGCONT); }
  StoppedBackend(const StoppedBackend&) = delete;
  StoppedBackend& operator=(const StoppedBackend&) = delete;
  int pid;
};

}  // namespace

TEST_CASE("with more databases than max_connections they take turns within the bound and none is reported down") {
  Cluster pg;
  const auto dbs = make_databases(pg, 8);
  Session watcher(pg.conninfo());
  Daemon d(config_for(pg, dbs, 2, "1s"));

  // Until every database has been collected three times (its first run and two turns later), watch the
  // backends in pg_stat_activity and every scrape.
  int most_backends = 0;
  double most_connections_metric = 0;
  std::map<std::string, std::set<double>> successes;  // stat_user_tables runs seen per database
  std::set<std::string> seen_up, went_down;
  const auto deadline = Clock::now() + std::chrono::seconds(40);
  auto done = [&] {
    return std::all_of(dbs.begin(), dbs.end(), [&](const std::string& db) { return successes[db].size() >= 3; });
  };
  while (!done() && Clock::now() < deadline) {
    most_backends = std::max(most_backends, std::stoi(watcher.exec(kOurBackends)));
    const auto s = d.scrape();
    most_connections_metric = std::max(most_connections_metric, s.value("pghealthd_connections", {{"target", "t"}}).value_or(-1));
    for (const auto& db : dbs) {
      const auto up = s.value("pghealthd_up", {{"datname", db}});
      if (up == 1.0) seen_up.insert(db);
      if (up == 0.0 && seen_up.count(db)) went_down.insert(db);
      if (auto t = s.value("pghealthd_collector_last_success_timestamp_seconds",
                           {{"datname", db}, {"collector", "stat_user_tables"}}))
        successes[db].insert(*t);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& db : dbs) {
    INFO("database " << db);
    CHECK(successes[db].size() >= 3);
  }
  // Two of ours at most; one more while a handed-over backend finishes exiting (PQfinish is asynchronous).
  CHECK(most_backends >= 1);
  CHECK(most_backends <= 3);
  CHECK(most_connections_metric <= 2);
  CHECK(most_connections_metric >= 1);
  CHECK(went_down.empty());
  const auto last = d.scrape();
  CHECK(last.value("pghealthd_connections_max", {{"target", "t"}}) == 2.0);
  for (const auto& db : dbs) {
    INFO("database " << db);
    CHECK(last.value("pghealthd_up", {{"datname", db}}) == 1.0);
    for (const char* c : {"stat_user_tables", "statio_user_tables", "stat_user_indexes", "xmin_horizon"})
      CHECK(last.value("pghealthd_collector_success", {{"datname", db}, {"collector", c}}) == 1.0);
    CHECK(last.value("pghealthd_table_live_tuples", {{"datname", db}, {"relname", "t"}}).has_value());
  }
  CHECK(d.log().find("unreachable") == std::string::npos);
}

TEST_CASE("with no more databases than max_connections each keeps its connection and runs are spread") {
  Cluster pg;
  const auto dbs = make_databases(pg, 4);  // their phases in a 2 s interval: 0.22, 1.67, 1.61 and 0.97 s
  Session watcher(pg.conninfo());
  Daemon d(config_for(pg, dbs, 5, "2s"));
  REQUIRE(d.wait_for([&](const Scrape& s) {
    return std::all_of(dbs.begin(), dbs.end(), [&](const std::string& db) {
      return s.value("pghealthd_collector_success", {{"datname", db}, {"collector", "stat_user_tables"}}) == 1.0;
    });
  }));
  const std::string pids_sql =
      "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE application_name = 'pghealthd'";
  const auto pids_before = watcher.exec(pids_sql);
  CHECK(std::count(pids_before.begin(), pids_before.end(), ',') == 3);  // four backends

  // Each database's runs after the first one: with the phase shift they land at different moments of the
  // interval instead of together.
  std::map<std::string, std::vector<double>> runs;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  auto enough = [&] {
    return std::all_of(dbs.begin(), dbs.end(), [&](const std::string& db) { return runs[db].size() >= 3; });
  };
  while (!enough() && Clock::now() < deadline) {
    const auto s = d.scrape();
    for (const auto& db : dbs)
      if (auto t = s.value("pghealthd_collector_last_success_timestamp_seconds",
                           {{"datname", db}, {"collector", "stat_user_tables"}}))
        if (runs[db].empty() || runs[db].back() != *t) runs[db].push_back(*t);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(enough());
  // The same backends all along: no reconnection when nobody waits for a slot.
  CHECK(watcher.exec(pids_sql) == pids_before);
  // The second run of each database, as a position in the interval: spread over more than a second of it.
  double lo = 1e300, hi = 0;
  for (const auto& db : dbs) {
    lo = std::min(lo, runs[db][1]);
    hi = std::max(hi, runs[db][1]);
  }
  CHECK(hi - lo > 1.0);
  // Fixed rate: successive runs of one database are one interval apart.
  for (const auto& db : dbs) {
    INFO("database " << db);
    CHECK(runs[db][2] - runs[db][1] == Approx(2.0).margin(0.3));
  }
}

TEST_CASE("automatic vacuum of many databases stays within max_connections plus two per max_concurrent") {
  Cluster pg;
  const auto dbs = make_databases(pg, 6);
  for (const auto& db : dbs)
    pg.exec("CREATE TABLE bloated (id int PRIMARY KEY, pad text);\n"
            "INSERT INTO bloated SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g;\n"
            "ANALYZE bloated;\nDELETE FROM bloated WHERE id <= 500;\n",
            db);
  Session watcher(pg.conninfo());
  Daemon d(config_for(pg, dbs, 2, "300ms") +
           "vacuum:\n  enabled: true\n  max_concurrent: 1\n  max_per_hour: 100\n  dead_tuple_ratio: 0.05\n");
  // Bound: 2 collector connections + 2 for the one database being vacuumed; and up to 2 more for a few
  // milliseconds while closed backends finish exiting (PQfinish runs off the loop, the server's backend
  // exits after it), since connections are handed over all the time here.
  int most_backends = 0;
  auto all_vacuumed = [&](const Scrape& s) {
    return std::all_of(dbs.begin(), dbs.end(), [&](const std::string& db) {
      return s.value("pghealthd_vacuum_runs_total", {{"datname", db}, {"relname", "bloated"}, {"action", "vacuum"}, {"result", "success"}})
                 .value_or(0) >= 1;
    });
  };
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  bool done = false;
  while (!done && Clock::now() < deadline) {
    most_backends = std::max(most_backends, std::stoi(watcher.exec(kOurBackends)));
    done = all_vacuumed(d.scrape());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(done);
  CHECK(most_backends <= 6);
  CHECK(most_backends >= 3);  // a vacuum did run beside collections
  // Once nothing is left to vacuum, no vacuum connection stays open: only the collectors' two remain.
  CHECK(eventually([&] { return std::stoi(watcher.exec(kOurBackends)) <= 2; }, std::chrono::seconds(10)));
  for (const auto& db : dbs) CHECK(pg.scalar("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'bloated'", db) == "0");
}

TEST_CASE("collectors queued behind a stuck one run on a spare slot within max_connections, and a small database "
          "keeps one connection") {
  Cluster pg;
  const auto dbs = make_databases(pg, 1);
  Session watcher(pg.conninfo());
  const std::vector<std::string> collectors = {"stat_user_tables", "statio_user_tables", "stat_user_indexes",
                                               "xmin_horizon"};
  for (const int max_connections : {1, 2}) {
    INFO("max_connections " << max_connections);
    Daemon d(config_for(pg, dbs, max_connections, "1s"));
    REQUIRE(d.wait_for([&](const Scrape& s) {
      return std::all_of(collectors.begin(), collectors.end(), [&](const std::string& c) {
        return s.value("pghealthd_collector_success", {{"datname", "d1"}, {"collector", c}}) == 1.0;
      });
    }));
    // Its collectors take milliseconds: never 250 ms of waiting, so one connection, whatever the bound.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const auto pid = watcher.exec(
        "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'pghealthd' AND "
        "backend_type = 'client backend'");
    REQUIRE(pid.find(',') == std::string::npos);

    // The next collector sent to that backend hangs (statement_timeout 5 s cannot fire in a stopped process).
    double frozen_at = 0;
    std::string backends;
    Scrape s("");
    {
      StoppedBackend stopped(std::stoi(pid));
      frozen_at = unix_now();
      std::this_thread::sleep_for(std::chrono::seconds(4));
      s = d.scrape();
      backends = watcher.exec(kOurBackends);
    }
    int ran = 0;  // collectors that succeeded well after the freeze
    std::ostringstream times;
    for (const auto& c : collectors) {
      const auto at = s.value("pghealthd_collector_last_success_timestamp_seconds", {{"datname", "d1"}, {"collector", c}});
      times << c << "=" << (at ? *at - frozen_at : -1) << " ";
      if (at && *at > frozen_at + 1.5) ++ran;
    }
    INFO("last successes, seconds after the freeze: " << times.str());
    if (max_connections == 1) {
      CHECK(ran == 0);  // every collector waits behind the stuck one: the bound holds
      CHECK(backends == "1");
    } else {
      CHECK(ran == 3);  // all but the stuck one, on the second connection
      CHECK(backends == "2");
      CHECK(s.value("pghealthd_connections", {{"target", "t"}}) == 2.0);
      CHECK(d.log().find("extra connection opened target=t datname=d1") != std::string::npos);
    }
    CHECK(d.stop() == 0);
  }
}

TEST_CASE("the statistics collectors due together read one copy of the statistics, in one read-only transaction") {
  Cluster pg;
  const auto dbs = make_databases(pg, 1);
  // Every statement in the server's log, with its session's application and virtual transaction id.
  pg.exec("ALTER SYSTEM SET log_statement = 'all'; ALTER SYSTEM SET log_line_prefix = '@@%a|%v|'; "
          "SELECT pg_reload_conf();");
  // One connection: no lane can take one of them away (a slow machine could make one wait 250 ms).
  Daemon d(config_for(pg, dbs, 1, "2s"));
  REQUIRE(d.wait_for([&](const Scrape& s) {
    return s.value("pghealthd_collector_success", {{"datname", "d1"}, {"collector", "stat_user_indexes"}}) == 1.0 &&
           s.value("pghealthd_collector_success", {{"datname", "d1"}, {"collector", "statio_user_tables"}}) == 1.0;
  }));
  std::this_thread::sleep_for(std::chrono::seconds(6));  // runs at 0, phase + 2 and phase + 4, phase < 2
  CHECK(d.stop() == 0);

  // pghealthd's statements, grouped by virtual transaction: each marker names one collector's statement.
  const std::vector<std::pair<std::string, std::string>> markers = {
      {"stat_user_tables", "pg_stat_get_dead_tuples(c.oid)"},
      {"statio_user_tables", "pg_stat_get_blocks_hit(c.oid)"},
      {"stat_user_indexes", "pg_stat_get_tuples_fetched(i.oid)"}};
  std::map<std::string, std::string> by_transaction;  // vxid -> its statements
  const auto log = pg.server_log();
  std::size_t at = 0;
  while ((at = log.find("\n@@pghealthd|", at)) != std::string::npos) {
    const auto vxid_at = at + std::string("\n@@pghealthd|").size();
    const auto bar = log.find('|', vxid_at);
    const auto end = log.find("\n@@", vxid_at);
    by_transaction[log.substr(vxid_at, bar - vxid_at)] += log.substr(bar, end == std::string::npos ? end : end - bar);
    at = vxid_at;
  }
  REQUIRE(!by_transaction.empty());
  int shared = 0;   // transactions that read all three views, after a BEGIN READ ONLY, and were committed
  int partial = 0;  // ones that read some statistics view, not all three
  for (const auto& [vxid, statements] : by_transaction) {
    int views = 0;
    for (const auto& [name, marker] : markers) views += statements.find(marker) != std::string::npos ? 1 : 0;
    if (views == 3 && statements.find("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY") != std::string::npos &&
        statements.find("COMMIT") != std::string::npos)
      ++shared;
    else if (views > 0)
      ++partial;
  }
  INFO("transactions reading all three views: " << shared << ", some: " << partial);
  // Collecting every 2 s for 6+ s: the three ran together every time (the first run, when nothing is known
  // of their durations, included; their schedules share one origin, so they are queued together even on a
  // slow machine).
  CHECK(shared >= 3);
  CHECK(partial == 0);
}
