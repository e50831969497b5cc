// Autovacuum's three triggers as the server computes them (issue 16, part 1), on a real server of every
// version: an insert-only table's insert due ratio crosses 1 exactly where relation_needs_vacanalyze()'s
// formula says, the analyze due ratio follows n_mod_since_analyze, the server's and the table's switches are
// exported, and `pghealthd check` calls a table without autovacuum and a server without it what they are.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

std::string config_for(const Cluster& pg) {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + pg.conninfo() + "\"\n"
         "collectors:\n"
         "  stat_user_tables: { interval: 300ms }\n";
}

double number(const std::string& s) { return std::stod(s); }

// Waits until pghealthd exports `n_ins_since_vacuum` as SQL has it now, and returns the scrape.
Scrape scrape_when(const Daemon& d, const std::string& relname, const std::string& family, double value) {
  auto s = d.wait_for([&](const Scrape& x) {
    const auto v = x.value(family, {{"relname", relname}});
    return v && *v == Approx(value);
  });
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("an insert-only table's insert due ratio crosses 1 where the server's formula says", "[versions]") {
  Cluster pg(/*start_now=*/true, /*autovacuum=*/true);
  // Autovacuum on, so that the triggers are live, but its launcher asleep: nothing vacuums under the test.
  pg.exec("ALTER SYSTEM SET autovacuum_naptime = '1d'; SELECT pg_reload_conf();");
  pg.exec("CREATE TABLE events (id int, note text) WITH (autovacuum_vacuum_insert_threshold = 100, "
          "autovacuum_vacuum_insert_scale_factor = 0.5, autovacuum_analyze_threshold = 10, "
          "autovacuum_analyze_scale_factor = 0.1);\n"
          "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 1000) g;\n");
  // A session flushes its statistics after the fact: the inserts must be counted before the VACUUM that
  // resets the counter, or they arrive after it and count again.
  const auto inserted = [&] {
    return number(pg.scalar("SELECT n_ins_since_vacuum FROM pg_stat_user_tables WHERE relname = 'events'"));
  };
  REQUIRE(eventually([&] { return inserted() == 1000; }));
  pg.exec("VACUUM ANALYZE events;");
  REQUIRE(eventually([&] { return inserted() == 0; }));
  // The threshold as relation_needs_vacanalyze() computes it: on 18 scaled by the unfrozen pages.
  const auto row = pg.sql("SELECT reltuples, relpages, " +
                          std::string(pg.version() >= 180000 ? "relallfrozen" : "0") +
                          " FROM pg_class WHERE relname = 'events'")[0];
  const double reltuples = number(*row[0]), relpages = number(*row[1]), frozen = number(*row[2]);
  const double unfrozen = relpages > 0 && frozen > 0 ? 1 - std::min(frozen, relpages) / relpages : 1.0;
  const double threshold = 100 + 0.5 * reltuples * unfrozen;
  INFO("reltuples " << reltuples << ", relpages " << relpages << ", relallfrozen " << frozen << ", threshold "
                    << threshold);
  REQUIRE(reltuples == 1000);

  Daemon d(config_for(pg));
  scrape_when(d, "events", "pghealthd_table_autovacuum_insert_due_ratio", 0.0);
  // Exactly the threshold: a ratio of 1, which autovacuum does not act on yet (it needs more than that).
  const int at = static_cast<int>(threshold);
  pg.exec("INSERT INTO events SELECT g, 'x' FROM generate_series(1, " + std::to_string(at) + ") g;");
  REQUIRE(eventually([&] { return inserted() == at; }));
  auto s = scrape_when(d, "events", "pghealthd_table_autovacuum_insert_due_ratio", at / threshold);
  CHECK(*s.value("pghealthd_table_autovacuum_insert_due_ratio", {{"relname", "events"}}) <= 1.0);
  pg.exec("INSERT INTO events VALUES (0, 'one more');");
  REQUIRE(eventually([&] { return inserted() == at + 1; }));
  s = scrape_when(d, "events", "pghealthd_table_autovacuum_insert_due_ratio", (at + 1) / threshold);
  CHECK(*s.value("pghealthd_table_autovacuum_insert_due_ratio", {{"relname", "events"}}) > 1.0);
  // The analyze trigger: modified rows since the ANALYZE over 10 + 0.1 x reltuples.
  const double modified =
      number(pg.scalar("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'events'"));
  CHECK(*s.value("pghealthd_table_autoanalyze_due_ratio", {{"relname", "events"}}) ==
        Approx(modified / (10 + 0.1 * reltuples)));
  // The dead-row trigger keeps its meaning: no dead rows here.
  CHECK(s.value("pghealthd_table_autovacuum_due_ratio", {{"relname", "events"}}) == 0.0);
  CHECK(s.value("pghealthd_table_autovacuum_enabled", {{"relname", "events"}}) == 1.0);
  CHECK(s.value("pghealthd_autovacuum_enabled", {{"datname", "postgres"}}) == 1.0);

  // Inserts trigger nothing where the table turned the insert trigger off.
  pg.exec("ALTER TABLE events SET (autovacuum_vacuum_insert_threshold = -1);");
  REQUIRE(d.wait_for([](const Scrape& x) {
    return !x.value("pghealthd_table_autovacuum_insert_due_ratio", {{"relname", "events"}}).has_value();
  }));
}

TEST_CASE("autovacuum off for a table with dead rows, and off on the server, are what check and the metrics say",
          "[versions]") {
  Cluster pg;  // autovacuum off on the server, as the test clusters have it
  pg.exec("CREATE TABLE neglected (id int, pad text) WITH (autovacuum_enabled = false);\n"
          "INSERT INTO neglected SELECT g, repeat('x', 50) FROM generate_series(1, 2000) g;\n"
          "DELETE FROM neglected WHERE id <= 600;\n");  // 30% dead
  Daemon d(config_for(pg));
  auto s = d.wait_for([](const Scrape& x) { return x.value("pghealthd_autovacuum_enabled", {}).has_value(); });
  REQUIRE(s);
  CHECK(s->value("pghealthd_autovacuum_enabled", {{"datname", "postgres"}}) == 0.0);
  CHECK(s->value("pghealthd_table_autovacuum_enabled", {{"relname", "neglected"}}) == 0.0);
  CHECK_FALSE(s->value("pghealthd_table_autovacuum_due_ratio", {{"relname", "neglected"}}).has_value());

  const auto notes = run(std::string(PGHEALTHD_BINARY) + " check --format json --conninfo '" + pg.conninfo() +
                         "' | jq -r '.databases[].sections[] | select(.title == \"Autovacuum\") | .rows[] | "
                         "(.cells[0] + \" \" + .status + \" \" + .note)'");
  INFO(notes);
  CHECK(notes.find("(server) CRITICAL autovacuum (or track_counts) is off on the server") != std::string::npos);
  CHECK(notes.find("neglected CRITICAL autovacuum is off on the server and 30.00% of its rows are dead") !=
        std::string::npos);

  // On again for the server (the table keeps its own switch): the table's own reason remains.
  pg.exec("ALTER SYSTEM SET autovacuum = on; ALTER SYSTEM SET autovacuum_naptime = '1d'; SELECT pg_reload_conf();");
  REQUIRE(d.wait_for([](const Scrape& x) { return x.value("pghealthd_autovacuum_enabled", {}) == 1.0; }));
  const auto again = run(std::string(PGHEALTHD_BINARY) + " check --format json --conninfo '" + pg.conninfo() +
                         "' | jq -r '.databases[].sections[] | select(.title == \"Autovacuum\") | .rows[] | "
                         "(.cells[0] + \" \" + .status + \" \" + .note)'");
  INFO(again);
  CHECK(again.find("(server)") == std::string::npos);
  CHECK(again.find("neglected CRITICAL autovacuum is off for the table and 30.00% of its rows are dead") !=
        std::string::npos);
}
