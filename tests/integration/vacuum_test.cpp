// Automatic VACUUM against a real PostgreSQL: it acts when a table crosses the threshold, and it never
// blocks anyone, never fights another vacuum, never loops, and says why it did or did not act.
#include <catch2/catch.hpp>

#include <signal.h>

#include <future>
#include <thread>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;

namespace {

// pghealthd with fast collections and automatic vacuum; `vacuum_extra` adds keys under `vacuum:`.
std::string config_for(const std::string& conninfo, const std::string& vacuum_extra = "") {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + conninfo + "\"\n"
         "    connection: { backoff_initial: 100ms, backoff_max: 500ms }\n"
         "collectors:\n"
         "  stat_user_tables: { interval: 300ms }\n"
         "  statio_user_tables: { interval: 5s }\n"
         "  stat_user_indexes: { interval: 5s }\n"
         "  xmin_horizon: { interval: 300ms }\n"
         "vacuum:\n"
         "  enabled: true\n"
         "  dead_tuple_ratio: 0.05\n"
         "  min_dead_tuples: 100\n" + vacuum_extra;
}

// Runs of the table with this result, whatever the action (vacuum, analyze).
double runs(const Scrape& s, const std::string& rel, const std::string& result) {
  double n = 0;
  for (const auto& r : s.all("pghealthd_vacuum_runs_total", {{"relname", rel}, {"result", result}})) n += r.value;
  return n;
}

double skipped(const Scrape& s, const std::string& reason) {
  return s.value("pghealthd_vacuum_skipped_total", {{"reason", reason}}).value_or(0);
}

// What a partitioned parent's ANALYZE counts as: its counters prove it from PostgreSQL 15 on; before,
// the server keeps none for parents, and pghealthd claims nothing (maintenance::counters_prove).
std::string parent_result(const Cluster& pg) {
  return pg.version() >= 150000 ? "success" : "unverified";
}

std::string stat(const Cluster& pg, const std::string& column, const std::string& rel) {
  return pg.scalar("SELECT " + column + " FROM pg_stat_user_tables WHERE relname = '" + rel + "'");
}


}  // namespace

TEST_CASE("a bloated table with a hostile name is vacuumed within one check and its ratio falls", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("\"Bloated \"\"Quoted\"\" Name.x\"", 2000, 500) + bloated_table("\"ünï cødé\"", 1000, 300) +
          bloated_table("healthy", 1000, 10));
  Daemon d(config_for(pg.conninfo()));
  auto got = d.wait_for([](const Scrape& s) {
    return runs(s, "Bloated \"Quoted\" Name.x", "success") == 1 && runs(s, "ünï cødé", "success") == 1;
  });
  REQUIRE(got);
  CHECK(stat(pg, "vacuum_count", "Bloated \"Quoted\" Name.x") == "1");
  CHECK(stat(pg, "n_dead_tup", "Bloated \"Quoted\" Name.x") == "0");
  CHECK(stat(pg, "vacuum_count", "ünï cødé") == "1");
  CHECK(stat(pg, "vacuum_count", "healthy") == "0");  // 1% dead: below the threshold
  CHECK(got->value("pghealthd_vacuum_dead_tuples_removed_total", {{"target", "t"}}) == 800.0);
  CHECK(got->value("pghealthd_vacuum_duration_seconds_count", {{"target", "t"}}) == 2.0);
  auto after = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_dead_tuple_ratio", {{"relname", "Bloated \"Quoted\" Name.x"}}) < 0.05;
  });
  REQUIRE(after);
  CHECK(skipped(*after, "below_threshold") > 0);
  const auto log = d.log();
  CHECK(log.find("vacuum finished target=t datname=postgres table=\"public\".\"Bloated \"\"Quoted\"\" Name.x\" "
                 "result=success") != std::string::npos);
  CHECK(log.find("removed=500") != std::string::npos);
  // The health page's maintenance log says the same, with the rows the counters prove removed.
  CHECK(jq(d.get("/status.json"),
           R"(.databases[0].sections[] | select(.title == "Maintenance log") | .rows[])"
           R"(| select(.cells[1] == "Bloated \"Quoted\" Name.x") | .cells[2], .cells[3], .cells[5])") ==
        "vacuum\nsuccess\n500\n");
}

TEST_CASE("dry run decides, logs and counts, but changes nothing", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("bloated", 1000, 400));
  Daemon d(config_for(pg.conninfo(), "  dry_run: true\n"));
  auto got = d.wait_for([](const Scrape& s) { return runs(s, "bloated", "dry_run") >= 2; });
  REQUIRE(got);
  CHECK(skipped(*got, "dry_run") >= 2);
  CHECK(runs(*got, "bloated", "success") == 0);
  CHECK(stat(pg, "vacuum_count", "bloated") == "0");
  CHECK(stat(pg, "n_dead_tup", "bloated") == "400");
  CHECK(d.log().find("dry run: would vacuum_analyze") != std::string::npos);
}

TEST_CASE("cooldown and the hourly limit hold", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("first", 1000, 400) + bloated_table("second", 1000, 300));
  Daemon d(config_for(pg.conninfo(), "  cooldown: 1h\n  max_per_hour: 1\n"));
  // The table with most dead rows goes first; the hourly budget of one stops the other.
  auto got = d.wait_for([](const Scrape& s) {
    return runs(s, "first", "success") == 1 && skipped(s, "rate_limited") >= 2;
  });
  REQUIRE(got);
  CHECK(stat(pg, "vacuum_count", "second") == "0");
  // Bloat the vacuumed table again: within its cooldown it is left alone.
  pg.exec("DELETE FROM first WHERE id <= 800");
  REQUIRE(d.wait_for([](const Scrape& s) { return skipped(s, "cooldown") >= 3; }));
  CHECK(stat(pg, "vacuum_count", "first") == "1");
  CHECK(runs(d.scrape(), "first", "success") == 1);
  CHECK(d.log().find("reason=rate_limited") != std::string::npos);
}

TEST_CASE("a table held by another session's ACCESS EXCLUSIVE lock is skipped and the holder never waits", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("locked", 1000, 400));
  Session holder(pg.conninfo());
  holder.exec("BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE;");
  Daemon d(config_for(pg.conninfo(), "  cooldown: 0ms\n  lock_timeout: 500ms\n"));
  auto got = d.wait_for([](const Scrape& s) { return runs(s, "locked", "lock_not_available") >= 1; }, 20s);
  REQUIRE(got);
  // Nothing of ours waits for a lock, so the holder is never blocked by us.
  CHECK(pg.scalar("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                  "WHERE NOT l.granted AND a.application_name = 'pghealthd'") == "0");
  const auto t0 = std::chrono::steady_clock::now();
  holder.exec("SELECT count(*) FROM locked");
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  holder.exec("COMMIT");
  REQUIRE(d.wait_for([](const Scrape& s) { return runs(s, "locked", "success") == 1; }));
}

TEST_CASE("a session that queues behind our VACUUM waits no longer than lock_timeout", "[versions]") {
  Cluster pg;
  // Large enough, and throttled hard, so the VACUUM would run for minutes.
  pg.exec(bloated_table("big", 200000, 100000));
  Daemon d(config_for(pg.conninfo(), "  lock_timeout: 500ms\n  cost_delay: 100ms\n  cost_limit: 1\n"));
  REQUIRE(eventually([&] { return d.log().find("vacuum started") != std::string::npos; }));
  std::this_thread::sleep_for(300ms);  // let it take its lock
  Session ddl(pg.conninfo());
  const auto t0 = std::chrono::steady_clock::now();
  ddl.exec("BEGIN; LOCK TABLE big IN ACCESS EXCLUSIVE MODE; COMMIT;");  // what ALTER TABLE would take
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited < 2s);  // lock_timeout 500 ms plus the watch's polling, never the VACUUM's minutes
  auto got = d.wait_for([](const Scrape& s) { return runs(s, "big", "cancelled") == 1; }, 10s);
  REQUIRE(got);
  CHECK(d.log().find("yielding: a session has waited") != std::string::npos);
}

TEST_CASE("a role without the right to vacuum gets permission_denied", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("not_mine", 1000, 400) + "CREATE ROLE watcher LOGIN IN ROLE pg_monitor;");
  std::string conninfo = pg.conninfo();
  conninfo.replace(conninfo.find("user=postgres"), 13, "user=watcher");
  Daemon d(config_for(conninfo));
  auto got = d.wait_for([](const Scrape& s) { return runs(s, "not_mine", "permission_denied") >= 1; });
  REQUIRE(got);
  CHECK(runs(*got, "not_mine", "success") == 0);
  CHECK(stat(pg, "vacuum_count", "not_mine") == "0");
}

TEST_CASE("an open transaction holding the horizon is named and the table is not vacuumed in a loop", "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE held (id int PRIMARY KEY, pad text); "
          "INSERT INTO held SELECT g, 'x' FROM generate_series(1, 1000) g; ANALYZE held;");
  Session old(pg.conninfo());
  old.exec("SET application_name = 'forgotten-report'; BEGIN ISOLATION LEVEL REPEATABLE READ; "
           "SELECT count(*) FROM held;");  // its snapshot still sees the rows deleted next
  pg.exec("DELETE FROM held WHERE id <= 500");
  Daemon d(config_for(pg.conninfo(), "  cooldown: 0ms\n"));
  auto got = d.wait_for([](const Scrape& s) {
    return runs(s, "held", "success") == 1 && skipped(s, "xmin_horizon_held") >= 3;
  });
  REQUIRE(got);
  CHECK(got->value("pghealthd_xmin_horizon_age_transactions", {{"source", "transaction"}}) >= 1.0);
  CHECK(got->value("pghealthd_xmin_horizon_age_seconds", {{"source", "transaction"}}) > 0.0);
  const auto log = d.log();
  CHECK(log.find("dead rows remain after vacuum: the xmin horizon is held") != std::string::npos);
  CHECK(log.find("source=transaction holder=\"pid " + std::to_string(old.pid())) != std::string::npos);
  CHECK(log.find("application forgotten-report") != std::string::npos);
  CHECK(stat(pg, "vacuum_count", "held") == "1");  // no loop while the horizon is held
  // The health page names the holder, and its log says why the table is left alone.
  const auto status = d.get("/status.json");
  CHECK(jq(status, ".databases[0].sections[] | select(.title == \"xmin horizon\") | .rows[0].cells[0:2] | join(\" \")")
            .find("transaction pid " + std::to_string(old.pid())) == 0);
  CHECK(jq(status, ".databases[0].sections[] | select(.title == \"Maintenance log\") | .rows[] "
                   "| select(.cells[1] == \"held\" and .cells[3] == \"skipped\") | .note")
            .find("xmin_horizon_held: ") == 0);

  old.exec("COMMIT");  // the horizon moves: now the vacuum can help, and it runs again
  REQUIRE(d.wait_for([](const Scrape& s) { return runs(s, "held", "success") == 2; }));
  CHECK(stat(pg, "n_dead_tup", "held") == "0");
}

TEST_CASE("two daemons on one database never vacuum at the same time", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("a1", 20000, 5000) + bloated_table("a2", 20000, 5000) + bloated_table("a3", 20000, 5000));
  const std::string slow = "  cost_delay: 20ms\n  cost_limit: 20\n  max_per_hour: 100\n";
  Daemon one(config_for(pg.conninfo(), slow));
  Daemon two(config_for(pg.conninfo(), slow));
  REQUIRE(eventually([&] {
    return stat(pg, "vacuum_count", "a1") == "1" && stat(pg, "vacuum_count", "a2") == "1" &&
           stat(pg, "vacuum_count", "a3") == "1";
  }, 60s));
  auto total_runs = [&](const char* result) {
    const auto s1 = one.scrape(), s2 = two.scrape();
    double total = 0;
    for (const char* t : {"a1", "a2", "a3"}) total += runs(s1, t, result) + runs(s2, t, result);
    return total;
  };
  // Each table once, by one of them (the daemon records a run just after the server counts it).
  CHECK(eventually([&] { return total_runs("success") == 3.0; }, 5s));
  CHECK(skipped(one.scrape(), "not_leader") + skipped(two.scrape(), "not_leader") >= 1.0);
  std::this_thread::sleep_for(1s);
  CHECK(total_runs("success") == 3.0);
  for (const char* t : {"a1", "a2", "a3"}) CHECK(stat(pg, "vacuum_count", t) == "1");
}

TEST_CASE("shutdown during a long VACUUM cancels it and leaves no backend behind", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("big", 200000, 100000));
  Daemon d(config_for(pg.conninfo(), "  cost_delay: 100ms\n  cost_limit: 1\n"));
  REQUIRE(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "1"; }));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(d.stop(10s) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(eventually(
      [&] {
        return pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pghealthd'") == "0" &&
               pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "0";
      },
      5s));
}

TEST_CASE("a partitioned table: partitions are vacuumed one by one and the parent is analyzed", "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);\n"
          "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
          "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
          "INSERT INTO events SELECT g, '2025-03-01' FROM generate_series(1, 1000) g;\n"
          "INSERT INTO events SELECT g, '2026-03-01' FROM generate_series(1, 1000) g;\n"
          "ANALYZE events_2025; ANALYZE events_2026;\n"
          "DELETE FROM events WHERE at < '2026-01-01' AND id <= 400;\n");
  Daemon d(config_for(pg.conninfo()));
  const auto parent = parent_result(pg);
  auto got = d.wait_for([&](const Scrape& s) {
    return runs(s, "events_2025", "success") == 1 && runs(s, "events", parent) == 1;
  });
  REQUIRE(got);
  CHECK(stat(pg, "vacuum_count", "events_2025") == "1");
  CHECK(stat(pg, "vacuum_count", "events_2026") == "0");
  // The parent was analyzed (inherited statistics exist), never vacuumed as a whole.
  CHECK(pg.scalar("SELECT count(*) > 0 FROM pg_statistic WHERE starelid = 'events'::regclass AND stainherit") ==
        "t");
  CHECK(d.log().find("analyze started target=t datname=postgres table=\"public\".\"events\"") != std::string::npos);
}

// --- engine v2: the three untruths it no longer tells, reloads, pruning --------------------------------------

TEST_CASE("another session's temporary table full of dead rows is never acted on: reason temporary", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("real_table", 1000, 400));
  Session idle(pg.conninfo());
  idle.exec("CREATE TEMP TABLE scratch (id int, pad text); "
            "INSERT INTO scratch SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g; ANALYZE scratch; "
            "DELETE FROM scratch WHERE id <= 1500;");
  // The server shows it as a bloated table (of pg_temp_N): without the rule it would be a candidate.
  // (Before 15 an idle session sends its statistics only at its next transaction's end, 0.5 s apart.)
  REQUIRE(eventually([&] {
    idle.exec(kFlushStats);
    return stat(pg, "n_dead_tup", "scratch") == "1500";
  }, 10s));
  Daemon d(config_for(pg.conninfo(), "  cooldown: 0ms\n"));
  auto got = d.wait_for([](const Scrape& s) {
    return runs(s, "real_table", "success") == 1 && skipped(s, "temporary") >= 3;
  });
  REQUIRE(got);
  CHECK(got->all("pghealthd_vacuum_runs_total", {{"relname", "scratch"}}).empty());
  CHECK(stat(pg, "vacuum_count", "scratch") == "0");
  CHECK(stat(pg, "n_dead_tup", "scratch") == "1500");
  const auto log = d.log();
  CHECK(log.find("reason=temporary") != std::string::npos);
  CHECK(log.find("xmin horizon is held") == std::string::npos);  // nothing blamed on an unrelated holder
}

TEST_CASE("VACUUM's far-in-the-past WARNING is a success whose leftovers name the horizon's holder", "[versions]") {
  Cluster pg;
  // The smallest autovacuum_freeze_max_age: VACUUM warns once the oldest xmin is 100,000 transactions old.
  pg.exec("ALTER SYSTEM SET autovacuum_freeze_max_age = 100000");
  pg.restart("fast");
  pg.exec("CREATE TABLE held (id int PRIMARY KEY, pad text); "
          "INSERT INTO held SELECT g, 'x' FROM generate_series(1, 1000) g; ANALYZE held;");
  Session old(pg.conninfo());
  old.exec("SET application_name = 'nightly-export'; BEGIN ISOLATION LEVEL REPEATABLE READ; "
           "SELECT count(*) FROM held;");
  pg.exec("DELETE FROM held WHERE id <= 500");
  // Burn 150,000 transaction ids with the snapshot held.
  int status = -1;
  run("printf 'SELECT txid_current();\\n' >/tmp/pghealthd-burn-xids.sql && "
      "\"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pgbench\" -n -c 4 -j 2 -t 37500 "
      "-f /tmp/pghealthd-burn-xids.sql -h " + pg.socket_dir() + " -p 5432 -U postgres postgres >/dev/null",
      &status);
  REQUIRE(status == 0);
  REQUIRE(std::stoll(pg.scalar("SELECT age(backend_xmin) FROM pg_stat_activity WHERE pid = " +
                               std::to_string(old.pid()))) > 100000);
  Daemon d(config_for(pg.conninfo(), "  cooldown: 0ms\n"));
  auto got = d.wait_for([](const Scrape& s) { return runs(s, "held", "success") >= 1; }, 60s);
  REQUIRE(got);
  CHECK(runs(*got, "held", "permission_denied") == 0);
  // The run is counted first; the holder is looked up after it (one more query), then logged.
  CHECK(eventually([&] {
    return d.log().find("dead rows remain after vacuum: the xmin horizon is held") != std::string::npos;
  }, 10s));
  const auto log = d.log();
  CHECK(log.find("horizon_warning=true") != std::string::npos);
  CHECK(log.find("holder=\"pid " + std::to_string(old.pid())) != std::string::npos);
  CHECK(log.find("application nightly-export") != std::string::npos);
  old.exec("COMMIT");
}

TEST_CASE("a reload that changes a collector interval leaves a running VACUUM alone, and excluding its table "
          "cancels it", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("big", 200000, 100000));
  const std::string slow = "  cost_delay: 100ms\n  cost_limit: 1\n";
  Daemon d(config_for(pg.conninfo(), slow));
  REQUIRE(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "1"; }));
  const std::string pid = pg.scalar("SELECT pid FROM pg_stat_progress_vacuum");

  // Only a collector interval changes: every watch is replaced, the engine is not.
  std::string changed = config_for(pg.conninfo(), slow);
  changed.replace(changed.find("statio_user_tables: { interval: 5s }"), 36, "statio_user_tables: { interval: 7s }");
  d.rewrite_config(changed);
  d.signal(SIGHUP);
  REQUIRE(eventually([&] { return d.log().find("configuration reloaded") != std::string::npos; }, 10s));
  CHECK(d.log().find("replaced=1") != std::string::npos);
  // Give a wrongly torn-down engine time to show it: collections run every 300 ms.
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_collector_success", {{"collector", "stat_user_tables"}}) == 1.0 &&
           s.value("pghealthd_vacuum_skipped_total", {{"reason", "below_threshold"}}).has_value();
  }));
  std::this_thread::sleep_for(2s);
  CHECK(pg.scalar("SELECT pid FROM pg_stat_progress_vacuum") == pid);  // the same backend, still vacuuming
  CHECK(runs(d.scrape(), "big", "cancelled") == 0);
  CHECK(d.log().find("cancelling the running vacuum") == std::string::npos);

  // Now the table is excluded: the running VACUUM must stop, and say why.
  d.rewrite_config(changed + "  tables:\n    - { schema: public, table: big, exclude: true }\n");
  d.signal(SIGHUP);
  auto got = d.wait_for([](const Scrape& s) { return runs(s, "big", "cancelled") == 1; }, 15s);
  REQUIRE(got);
  CHECK(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "0"; }, 5s));
  CHECK(d.log().find("cancelling the running vacuum target=t datname=postgres table=\"public\".\"big\" "
                     "why=\"the table is now excluded by a vacuum.tables rule\"") != std::string::npos);
}

TEST_CASE("the hourly budget survives a reload that replaces every watch", "[versions]") {
  Cluster pg;
  pg.exec(bloated_table("first", 1000, 400) + bloated_table("second", 1000, 300));
  const std::string budget = "  max_per_hour: 1\n";
  Daemon d(config_for(pg.conninfo(), budget));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return runs(s, "first", "success") == 1 && skipped(s, "rate_limited") >= 2;
  }));
  std::string changed = config_for(pg.conninfo(), budget);
  changed.replace(changed.find("stat_user_indexes: { interval: 5s }"), 35, "stat_user_indexes: { interval: 6s }");
  d.rewrite_config(changed);
  d.signal(SIGHUP);
  REQUIRE(eventually([&] { return d.log().find("replaced=1") != std::string::npos; }, 10s));
  // A new engine would have a fresh budget and vacuum `second` at its first check; the kept one still
  // counts `first` in this hour.
  const double before = skipped(d.scrape(), "rate_limited");
  REQUIRE(d.wait_for([&](const Scrape& s) { return skipped(s, "rate_limited") >= before + 3; }));
  CHECK(runs(d.scrape(), "second", "success") == 0);
  CHECK(stat(pg, "vacuum_count", "second") == "0");
}

TEST_CASE("partition churn: the per-table vacuum series of dropped partitions go, back to the baseline", "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE keep (id int PRIMARY KEY, pad text);\n"
          "INSERT INTO keep SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g; ANALYZE keep;\n"
          "DELETE FROM keep WHERE id <= 400;\n");
  Daemon d(config_for(pg.conninfo(), "  max_per_hour: 1000\n"));
  auto count = [](const Scrape& s) { return s.all("pghealthd_vacuum_runs_total").size(); };
  auto baseline = d.wait_for([](const Scrape& s) { return runs(s, "keep", "success") == 1; });
  REQUIRE(baseline);
  REQUIRE(count(*baseline) == 1);
  const auto parent = parent_result(pg);
  // Three generations of a partitioned table, each bloated, maintained and dropped.
  for (int cycle = 1; cycle <= 3; ++cycle) {
    INFO("cycle " << cycle);
    std::string sql = "CREATE TABLE events (id int, at int, pad text) PARTITION BY RANGE (at);\n";
    for (int i = 1; i <= 6; ++i)
      sql += "CREATE TABLE events_" + std::to_string(i) + " PARTITION OF events FOR VALUES FROM (" +
             std::to_string(i * 100) + ") TO (" + std::to_string(i * 100 + 100) + ");\n";
    sql += "INSERT INTO events SELECT g, 100 + g % 600, repeat('x', 50) FROM generate_series(1, 6000) g;\n"
           "ANALYZE events_1, events_2, events_3, events_4, events_5, events_6;\n"
           "DELETE FROM events WHERE id % 2 = 0;\n";
    pg.exec(sql);
    auto all_done = d.wait_for([&](const Scrape& s) {
      for (int i = 1; i <= 6; ++i)
        if (runs(s, "events_" + std::to_string(i), "success") != 1) return false;
      return runs(s, "events", parent) == 1;
    });
    REQUIRE(all_done);
    CHECK(count(*all_done) == 8);  // keep, six partitions, the parent's ANALYZE
    pg.exec("DROP TABLE events");
    auto after = d.wait_for([&](const Scrape& s) { return count(s) == 1; }, 10s);
    REQUIRE(after);
    CHECK(runs(*after, "keep", "success") == 1);  // the table that stays keeps its history
  }
}
