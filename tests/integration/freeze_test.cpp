// The freeze collector against a real server: every exported age equals age()/mxid_age() read in SQL, the
// due ratio follows a table's own autovacuum_freeze_max_age, a TOAST table older than its heap counts, a
// multixact-heavy table shows its multixact age, partitioned parents have no age, and every database's
// ages are exported once per target however many of its databases are watched.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <csignal>
#include <string>
#include <vector>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

std::string config_for(const Cluster& pg, const std::string& databases = "") {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + pg.conninfo() + "\"\n" + databases +
         "collectors:\n"
         "  freeze: { interval: 1s }\n"
         "  stat_user_tables: { interval: 1s }\n";
}

// Consumes `n` transaction IDs quickly: one committed transaction with an XID each, in one CALL.
constexpr const char* kBurnProcedure =
    "CREATE PROCEDURE burn_xids(n int) LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  FOR i IN 1..n LOOP PERFORM txid_current(); COMMIT; END LOOP;\n"
    "END $$;";

double as_number(const std::string& s) { return std::stod(s); }

}  // namespace

TEST_CASE("freeze ages equal age() and mxid_age() in SQL, and a low reloption makes the due ratio cross 1",
          "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE aged (id int PRIMARY KEY, doc text) WITH (autovacuum_freeze_max_age = 100000);\n"
          "ALTER TABLE aged ALTER COLUMN doc SET STORAGE EXTERNAL;\n"
          "INSERT INTO aged SELECT g, repeat(md5(g::text), 100) FROM generate_series(1, 20) g;\n"
          "CREATE TABLE shared_rows (id int PRIMARY KEY);\n"
          "INSERT INTO shared_rows VALUES (1);\n"
          "CREATE TABLE parted (id int) PARTITION BY RANGE (id);\n"
          "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);\n" +
          std::string(kBurnProcedure));
  // ~150,000 XIDs: more than aged's own freeze max age, far below the server's (autovacuum stays away).
  pg.exec("CALL burn_xids(150000);");
  // Multixacts: two sessions share-lock the same row, three times over.
  for (int i = 0; i < 3; ++i) {
    Session a(pg.conninfo()), b(pg.conninfo());
    a.exec("BEGIN");
    a.exec("SELECT id FROM shared_rows WHERE id = 1 FOR SHARE");
    b.exec("BEGIN");
    b.exec("SELECT id FROM shared_rows WHERE id = 1 FOR SHARE");
    a.exec("COMMIT");
    b.exec("COMMIT");
  }
  // A TOAST table older than its heap: freeze the heap alone (PROCESS_TOAST exists from 14).
  const bool toast_older = pg.version() >= 140000;
  if (toast_older) pg.exec("VACUUM (FREEZE, PROCESS_TOAST FALSE) aged;");

  Daemon d(config_for(pg));
  const Labels aged{{"relname", "aged"}};
  REQUIRE(d.wait_for([&](const Scrape& s) { return s.value("pghealthd_table_freeze_due_ratio", aged).has_value(); }));
  const auto s = d.scrape();
  // Read after the scrape; nothing writes in between, so the ages have not moved (a margin for safety).
  const auto row = pg.sql(
      "SELECT age(c.relfrozenxid), age(t.relfrozenxid), mxid_age(c.relminmxid), mxid_age(t.relminmxid) "
      "FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname = 'aged'")[0];
  const double heap_age = as_number(*row[0]), toast_age = as_number(*row[1]);
  INFO("heap age " << heap_age << ", TOAST age " << toast_age);
  if (toast_older) CHECK(toast_age > heap_age + 100000);
  CHECK(*s.value("pghealthd_table_xid_age", aged) == Approx(std::max(heap_age, toast_age)).margin(5));
  CHECK(*s.value("pghealthd_table_mxid_age", aged) ==
        Approx(std::max(as_number(*row[2]), as_number(*row[3]))).margin(1));
  CHECK(*s.value("pghealthd_table_freeze_max_age", aged) == 100000);
  CHECK(*s.value("pghealthd_table_freeze_due_ratio", aged) ==
        Approx(std::max(heap_age, toast_age) / 100000).epsilon(0.001));
  CHECK(*s.value("pghealthd_table_freeze_due_ratio", aged) > 1.0);

  // The other tables follow the server's settings.
  const Labels shared{{"relname", "shared_rows"}};
  const double server_max = as_number(pg.scalar("SHOW autovacuum_freeze_max_age"));
  CHECK(*s.value("pghealthd_table_freeze_max_age", shared) == server_max);
  const double shared_mxid = as_number(pg.scalar("SELECT mxid_age(relminmxid) FROM pg_class WHERE relname = 'shared_rows'"));
  CHECK(shared_mxid >= 1);  // the share locks made multixacts
  CHECK(*s.value("pghealthd_table_mxid_age", shared) == Approx(shared_mxid).margin(1));
  CHECK(*s.value("pghealthd_table_xid_age", shared) ==
        Approx(as_number(pg.scalar("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'shared_rows'"))).margin(5));

  // A partitioned parent has no storage and no age; its partition has both.
  CHECK_FALSE(s.value("pghealthd_table_xid_age", {{"relname", "parted"}}).has_value());
  CHECK(s.value("pghealthd_table_xid_age", {{"relname", "parted_1"}}).has_value());

  // Every database of the server, once, with pg_database's ages.
  for (const auto& db : pg.sql("SELECT datname, age(datfrozenxid), mxid_age(datminmxid) FROM pg_database")) {
    INFO("database " << *db[0]);
    const auto xid = s.all("pghealthd_database_xid_age", {{"target", "t"}, {"datname", *db[0]}});
    REQUIRE(xid.size() == 1);
    CHECK(xid[0].value == Approx(as_number(*db[1])).margin(5));
    const auto mxid = s.all("pghealthd_database_mxid_age", {{"target", "t"}, {"datname", *db[0]}});
    REQUIRE(mxid.size() == 1);
    CHECK(mxid[0].value == Approx(as_number(*db[2])).margin(1));
  }
  CHECK(s.value("pghealthd_collector_success", {{"collector", "freeze"}}) == 1.0);
  CHECK(d.stop() == 0);
}

TEST_CASE("with several databases watched, each database's ages are exported once, and a watch that goes "
          "hands the duty over") {
  Cluster pg;
  pg.exec("CREATE DATABASE a;\nCREATE DATABASE b;\nCREATE DATABASE c;");
  Daemon d(config_for(pg, "    databases: [a, b, c]\n"));
  auto once_each = [&](const Scrape& s, const std::vector<std::string>& dbs) {
    for (const auto& db : dbs)
      if (s.all("pghealthd_database_xid_age", {{"datname", db}}).size() != 1) return false;
    return true;
  };
  const std::vector<std::string> all = {"a", "b", "c", "postgres", "template0", "template1"};
  REQUIRE(d.wait_for([&](const Scrape& s) {
    return once_each(s, all) &&
           s.all("pghealthd_collector_success", {{"collector", "freeze"}}).size() == 3;
  }));
  CHECK(d.scrape().all("pghealthd_database_xid_age").size() == all.size());

  // The watch of "a" (the first by name, the one that reports) goes; "b" takes over: every database's
  // series are still there, never twice.
  d.rewrite_config(config_for(pg, "    databases: [b, c]\n"));
  d.signal(SIGHUP);
  REQUIRE(d.wait_for([&](const Scrape& s) {
    return s.all("pghealthd_table_xid_age", {{"datname", "a"}}).empty() &&
           s.all("pghealthd_collector_success", {{"datname", "a"}}).empty() && once_each(s, all);
  }));
  CHECK(d.scrape().all("pghealthd_database_xid_age").size() == all.size());
  CHECK(d.stop() == 0);
}

namespace {

std::string freeze_config(const Cluster& pg, const std::string& freeze, const std::string& vacuum = "") {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + pg.conninfo() + "\"\n"
         "collectors:\n"
         "  freeze: { interval: 1s }\n"
         "  stat_user_tables: { interval: 1s }\n"
         "freeze:\n"
         "  enabled: true\n" + freeze + vacuum;
}

double freeze_runs(const Scrape& s, const std::string& rel, const std::string& result) {
  return s.value("pghealthd_vacuum_runs_total", {{"relname", rel}, {"action", "freeze"}, {"result", result}})
      .value_or(0);
}

// "HH:MM" of UTC now plus `minutes` (wrapping at midnight).
std::string utc_in(int minutes) {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count() + minutes;
  const long m = ((t % 1440) + 1440) % 1440;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld", m / 60, m % 60);
  return buf;
}

int utc_second() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(now).count() % 60);
}

}  // namespace

TEST_CASE("with freeze enabled, a table past min_age_ratio of its freeze max age is frozen once: its age drops "
          "and the run is counted as a freeze", "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE aged (id int PRIMARY KEY, doc text) WITH (autovacuum_freeze_max_age = 100000);\n"
          "INSERT INTO aged SELECT g, md5(g::text) FROM generate_series(1, 1000) g;\n"
          "CREATE TABLE young (id int);\n" + std::string(kBurnProcedure));
  pg.exec("CALL burn_xids(60000);");  // aged: 0.6 of its own 100,000; young: 0.0003 of the server's 200 million
  const auto age_of = [&](const std::string& rel) {
    return as_number(pg.scalar("SELECT age(relfrozenxid) FROM pg_class WHERE relname = '" + rel + "'"));
  };
  REQUIRE(age_of("aged") >= 60000);

  Daemon d(freeze_config(pg, "  min_age_ratio: 0.5\n"));
  REQUIRE(d.wait_for([](const Scrape& s) { return freeze_runs(s, "aged", "success") == 1.0; }, std::chrono::seconds(60)));
  CHECK(age_of("aged") < 50000);  // what the catalog says, not what pghealthd says
  // The next freeze collection exports the new age: below min_age_ratio.
  REQUIRE(d.wait_for([](const Scrape& s) {
    const auto r = s.value("pghealthd_table_freeze_due_ratio", {{"relname", "aged"}});
    return r && *r < 0.5;
  }));
  const auto log = d.log();
  CHECK(log.find("freeze started target=t datname=postgres table=\"public\".\"aged\"") != std::string::npos);
  CHECK(log.find("freeze finished target=t datname=postgres table=\"public\".\"aged\" result=success") !=
        std::string::npos);
  CHECK(log.find("xid_age_after=") != std::string::npos);
  // Once: below the threshold now; and the young table never was a candidate.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto s = d.scrape();
  CHECK(freeze_runs(s, "aged", "success") == 1.0);
  CHECK(s.all("pghealthd_vacuum_runs_total", {{"relname", "young"}}).empty());
  CHECK(d.stop() == 0);
}

TEST_CASE("a freeze still running when its window closes is cancelled, and counted as cancelled") {
  Cluster pg;
  pg.exec(bloated_table("big", 200000, 0) + "ALTER TABLE big SET (autovacuum_freeze_max_age = 100000);\n" +
          std::string(kBurnProcedure));
  pg.exec("CALL burn_xids(60000);");
  // A window that opened a minute ago and closes at the next minute (or the one after, so the freeze has
  // time to start); the freeze is throttled to take minutes.
  const std::string window = "[{start: \"" + utc_in(-1) + "\", end: \"" + utc_in(utc_second() < 45 ? 1 : 2) + "\"}]";
  Daemon d(freeze_config(pg, "  windows: " + window + "\n",
                         "vacuum:\n  enabled: false\n  cost_delay: 100ms\n  cost_limit: 1\n"));
  const Labels big{{"relname", "big"}};
  REQUIRE(d.wait_for([&](const Scrape&) { return d.log().find("freeze started") != std::string::npos; },
                     std::chrono::seconds(30)));
  const auto ended = d.wait_for([](const Scrape& s) { return freeze_runs(s, "big", "cancelled") == 1.0; },
                                std::chrono::seconds(150));
  const auto log = d.log();
  INFO(log);
  REQUIRE(ended);
  CHECK(log.find("cancelling the running freeze target=t datname=postgres table=\"public\".\"big\" "
                 "why=\"the freeze window closed\"") != std::string::npos);
  // Nothing of ours runs on the server any more.
  CHECK(eventually([&] { return pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "0"; },
                   std::chrono::seconds(10)));
  CHECK(d.stop() == 0);
}

TEST_CASE("a role without the right to vacuum gets permission_denied for its freeze, once per cooldown",
          "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE not_mine (id int PRIMARY KEY) WITH (autovacuum_freeze_max_age = 100000);\n"
          "INSERT INTO not_mine SELECT generate_series(1, 100);\n"
          "CREATE ROLE watcher LOGIN IN ROLE pg_monitor;\n" + std::string(kBurnProcedure));
  pg.exec("CALL burn_xids(60000);");
  const auto before = pg.scalar("SELECT relfrozenxid FROM pg_class WHERE relname = 'not_mine'");
  std::string conninfo = pg.conninfo();
  conninfo.replace(conninfo.find("user=postgres"), 13, "user=watcher");
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + conninfo + "\"\n"
           "collectors:\n  freeze: { interval: 1s }\n  stat_user_tables: { interval: 1s }\n"
           "freeze:\n  enabled: true\n");
  REQUIRE(d.wait_for([](const Scrape& s) { return freeze_runs(s, "not_mine", "permission_denied") == 1.0; }));
  // Checked every second, but within the cooldown (1 h) it is not tried again: skipped as cooldown.
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_vacuum_skipped_total", {{"reason", "cooldown"}}).value_or(0) >= 3;
  }));
  const auto s = d.scrape();
  CHECK(freeze_runs(s, "not_mine", "permission_denied") == 1.0);
  CHECK(freeze_runs(s, "not_mine", "success") == 0.0);
  CHECK(pg.scalar("SELECT relfrozenxid FROM pg_class WHERE relname = 'not_mine'") == before);
  CHECK(d.stop() == 0);
}
