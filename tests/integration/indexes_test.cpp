// Index health and sequences against a real server (issue 14): an index left invalid by a failed
// CREATE UNIQUE INDEX CONCURRENTLY is flagged while one being built at the same moment is not; duplicate
// and prefix pairs are flagged beside partial and expression look-alikes that must not be; unused needs
// statistics old enough to judge; sequences' used ratios follow their column types and own limits; a
// pg_monitor-only role counts the sequences it cannot read; targets[].labels reach every series; and
// `pghealthd check` says what to do. Every value is compared with what SQL says.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "collectors/collector.h"
#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;

namespace {

std::string config_for(const Cluster& pg, const std::string& extra = "", const std::string& target_extra = "",
                       const std::string& conninfo = "") {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + (conninfo.empty() ? pg.conninfo() : conninfo) + "\"\n" + target_extra +
         "collectors:\n"
         "  stat_user_indexes: { interval: 300ms }\n"
         "  sequences: { interval: 300ms }\n" + extra;
}

double number(const std::optional<std::string>& v) { return std::stod(v.value()); }

// A table whose indexes exercise every redundancy rule and its look-alikes.
constexpr const char* kIndexZoo =
    "CREATE TABLE zoo (id int PRIMARY KEY, a int NOT NULL, b int, c text, code text);\n"
    "INSERT INTO zoo SELECT g, g % 100, g % 7, md5(g::text), md5(g::text) FROM generate_series(1, 2000) g;\n"
    // Duplicates: the oldest plain one is kept; a unique constraint's index is kept over a plain twin.
    "CREATE INDEX zoo_a ON zoo (a);\n"
    "CREATE INDEX zoo_a_again ON zoo (a);\n"
    "ALTER TABLE zoo ADD CONSTRAINT zoo_code_key UNIQUE (code);\n"
    "CREATE INDEX zoo_code_plain ON zoo (code);\n"
    // Prefix: (b) leads (b, c); a partial (b) with the same predicate as a partial (b, c) too.
    "CREATE INDEX zoo_b ON zoo (b);\n"
    "CREATE INDEX zoo_b_c ON zoo (b, c);\n"
    "CREATE INDEX zoo_b_open ON zoo (b) WHERE a > 50;\n"
    "CREATE INDEX zoo_b_c_open ON zoo (b, c) WHERE a > 50;\n"
    // Look-alikes that are not redundant: another predicate, an expression, another ordering, another
    // operator class, another access method.
    "CREATE INDEX zoo_b_closed ON zoo (b) WHERE a <= 50;\n"
    "CREATE INDEX zoo_lower_c ON zoo (lower(c));\n"
    "CREATE INDEX zoo_lower_c_b ON zoo (lower(c), b);\n"
    "CREATE INDEX zoo_c_desc ON zoo (c DESC);\n"
    "CREATE INDEX zoo_c_pattern ON zoo (c text_pattern_ops);\n"
    "CREATE INDEX zoo_c_hash ON zoo USING hash (c);\n"
    // Identical expression indexes are duplicates.
    "CREATE INDEX zoo_upper_c ON zoo (upper(c));\n"
    "CREATE INDEX zoo_upper_c_again ON zoo (upper(c));\n"
    "VACUUM ANALYZE zoo;\n";

}  // namespace

TEST_CASE("duplicate and prefix indexes are flagged with what covers them, their look-alikes are not",
          "[versions]") {
  Cluster pg;
  pg.exec(kIndexZoo);
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) { return !s.all("pghealthd_index_redundant").empty(); }));
  const auto s = d.scrape();
  std::map<std::string, std::pair<std::string, std::string>> got;  // index -> (kind, covered_by)
  for (const auto& r : s.all("pghealthd_index_redundant")) {
    CHECK(r.value == 1.0);
    got[r.labels.at("indexrelname")] = {r.labels.at("kind"), r.labels.at("covered_by")};
  }
  const std::map<std::string, std::pair<std::string, std::string>> want{
      {"zoo_a_again", {"duplicate", "zoo_a"}},
      {"zoo_code_plain", {"duplicate", "zoo_code_key"}},
      {"zoo_b", {"prefix", "zoo_b_c"}},
      {"zoo_b_open", {"prefix", "zoo_b_c_open"}},
      {"zoo_upper_c_again", {"duplicate", "zoo_upper_c"}},
  };
  CHECK(got == want);
  // Every index of the table is valid, and has its series.
  for (const auto& row : pg.sql("SELECT indexrelid::regclass::text, indisvalid FROM pg_index "
                                "WHERE indrelid = 'zoo'::regclass")) {
    INFO(*row[0]);
    CHECK(s.value("pghealthd_index_valid", {{"indexrelname", *row[0]}}) == (*row[1] == "t" ? 1.0 : 0.0));
  }
}

TEST_CASE("between full runs, index series follow scans and DDL: a dropped, a renamed index, a renamed schema",
          "[versions]") {
  Cluster pg;
  pg.exec(kIndexZoo);
  pg.exec("CREATE SCHEMA shop;\n"
          "CREATE TABLE shop.orders (id int PRIMARY KEY, v int);\n"
          "CREATE INDEX orders_v ON shop.orders (v);\n");
  Daemon d(config_for(pg, "log_level: debug\n"));
  const auto redundant = [](const Scrape& s, const std::string& index) {
    const auto r = s.all("pghealthd_index_redundant", {{"indexrelname", index}});
    return r.empty() ? std::string() : r[0].labels.at("kind") + " of " + r[0].labels.at("covered_by");
  };
  REQUIRE(d.wait_for([&](const Scrape& s) { return redundant(s, "zoo_a_again") == "duplicate of zoo_a"; }));
  // Scans reach the series on the runs that read counters only (the light ones, between full runs).
  const double before = d.scrape().value("pghealthd_index_scans_total", {{"indexrelname", "zoo_pkey"}}).value_or(-1);
  REQUIRE(before >= 0);
  pg.exec("SET enable_seqscan = off; SELECT * FROM zoo WHERE id = 7; SELECT * FROM zoo WHERE id = 8;");
  REQUIRE(d.wait_for([&](const Scrape& s) {
    return s.value("pghealthd_index_scans_total", {{"indexrelname", "zoo_pkey"}}).value_or(0) >= before + 2;
  }));
  // A rename between two runs: the light run after it sees the index's other version and asks for a full
  // run at once (a periodic full run would pick the name up too, but says nothing).
  REQUIRE_THAT(d.log(), !Catch::Contains("definitions changed"));
  pg.exec("ALTER INDEX zoo_b RENAME TO zoo_b_renamed;");
  REQUIRE(d.wait_for([](const Scrape& s) { return !s.all("pghealthd_index_valid", {{"indexrelname", "zoo_b_renamed"}}).empty(); }));
  CHECK_THAT(d.log(), Catch::Contains("definitions changed, full run"));
  // A drop and a schema renamed.
  pg.exec("DROP INDEX zoo_a;\n"
          "ALTER SCHEMA shop RENAME TO store;\n");
  const auto s = d.wait_for([&](const Scrape& now) {
    return now.all("pghealthd_index_valid", {{"indexrelname", "zoo_a"}}).empty() &&
           !now.all("pghealthd_index_valid", {{"indexrelname", "zoo_b_renamed"}}).empty() &&
           !now.all("pghealthd_index_valid", {{"schemaname", "store"}, {"indexrelname", "orders_v"}}).empty();
  });
  REQUIRE(s);
  CHECK(redundant(*s, "zoo_a_again").empty());  // its twin is gone: no longer a duplicate
  CHECK(redundant(*s, "zoo_b_renamed") == "prefix of zoo_b_c");
  CHECK(s->all("pghealthd_index_valid", {{"indexrelname", "zoo_b"}}).empty());
  CHECK(s->all("pghealthd_index_valid", {{"schemaname", "shop"}}).empty());
  // And every index has its series, under the names the catalog has now.
  const auto indexes = pg.sql("SELECT count(*) FROM pg_stat_user_indexes");
  CHECK(s->all("pghealthd_index_valid").size() == std::stoul(*indexes.at(0)[0]));
  // A table renamed changes none of its indexes' own catalog rows, only the database's catalog sum: the
  // light run after it asks for a full run too (a periodic one would not say "definitions changed").
  const auto changes = [&] {
    const auto log = d.log();
    std::size_t n = 0;
    for (auto at = log.find("definitions changed, full run"); at != std::string::npos;
         at = log.find("definitions changed, full run", at + 1))
      ++n;
    return n;
  };
  const auto before_rename = changes();
  pg.exec("ALTER TABLE store.orders RENAME TO purchases;");
  REQUIRE(d.wait_for([](const Scrape& now) {
    return !now.all("pghealthd_index_valid", {{"relname", "purchases"}, {"indexrelname", "orders_v"}}).empty() &&
           now.all("pghealthd_index_valid", {{"relname", "orders"}}).empty();
  }));
  CHECK(changes() > before_rename);
}

TEST_CASE("a partitioned table: its partitions' indexes are judged, its own are not, and check names the parent to drop",
          "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE \"Events\" (id int, at date, kind text) PARTITION BY RANGE (at);\n"
          "CREATE TABLE events_2025 PARTITION OF \"Events\" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
          "CREATE TABLE events_2026 PARTITION OF \"Events\" FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
          "CREATE INDEX \"Events_kind\" ON \"Events\" (kind);\n"
          "CREATE INDEX \"Events_kind_again\" ON \"Events\" (kind);\n");
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) { return s.all("pghealthd_index_redundant").size() == 2; }));
  const auto s = d.scrape();
  // The parents' indexes have no storage and no scans: no series of their own.
  CHECK(s.all("pghealthd_index_valid", {{"relname", "Events"}}).empty());
  for (const char* partition : {"events_2025", "events_2026"}) {
    INFO(partition);
    const auto redundant = s.all("pghealthd_index_redundant", {{"relname", partition}});
    REQUIRE(redundant.size() == 1);
    CHECK(redundant[0].labels.at("kind") == "duplicate");
    CHECK(redundant[0].labels.at("indexrelname") == std::string(partition) + "_kind_idx1");
    CHECK(redundant[0].labels.at("covered_by") == std::string(partition) + "_kind_idx");
    CHECK(s.all("pghealthd_index_valid", {{"relname", partition}}).size() == 2);
  }
  // An attached index cannot be dropped alone: check points at the partitioned index, quoted.
  const auto out = run(std::string(PGHEALTHD_BINARY) + " check --format json --conninfo '" + pg.conninfo() +
                       "' | jq -r '.databases[].sections[] | select(.title == \"Index health\") | .rows[].note'");
  INFO(out);
  CHECK(out.find("DROP INDEX \"Events_kind_again\"") != std::string::npos);
  CHECK(out.find("DROP INDEX CONCURRENTLY \"public\".\"events_2025_kind_idx1\"") == std::string::npos);
}

TEST_CASE("an index left invalid by a failed CREATE UNIQUE INDEX CONCURRENTLY is flagged, one being built is not",
          "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE accounts (id int PRIMARY KEY, email text, team int);\n"
          "INSERT INTO accounts SELECT g, 'user' || (g % 500) || '@example.com', g % 10 FROM generate_series(1, 1000) g;");
  // Duplicate emails: the unique build fails and leaves its index behind, invalid.
  std::string failure;
  try {
    Session(pg.conninfo()).exec("CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)");
  } catch (const std::exception& e) {
    failure = e.what();
  }
  INFO(failure);
  REQUIRE(failure.find("could not create unique index") != std::string::npos);
  REQUIRE(pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass") == "f");

  // Another build, held open: a writer's transaction keeps CREATE INDEX CONCURRENTLY waiting with its
  // index already in the catalogue, invalid, and listed in pg_stat_progress_create_index.
  Session writer(pg.conninfo());
  writer.exec("BEGIN");
  writer.exec("INSERT INTO accounts VALUES (5000, 'new@example.com', 1)");
  std::thread build([&] {
    Session builder(pg.conninfo());
    builder.exec("CREATE INDEX CONCURRENTLY accounts_team ON accounts (team)");
  });
  REQUIRE(eventually([&] {
    return pg.scalar("SELECT count(*) FROM pg_index WHERE indexrelid::regclass::text = 'accounts_team'") == "1";
  }));
  REQUIRE(pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_team'::regclass") == "f");

  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_index_valid", {{"indexrelname", "accounts_team"}}).has_value();
  }));
  auto s = d.scrape();
  CHECK(s.value("pghealthd_index_valid", {{"indexrelname", "accounts_email_key"}}) == 0.0);
  CHECK(s.value("pghealthd_index_valid", {{"indexrelname", "accounts_team"}}) == 1.0);  // being built
  CHECK(s.value("pghealthd_index_valid", {{"indexrelname", "accounts_pkey"}}) == 1.0);

  writer.exec("COMMIT");
  build.join();
  REQUIRE(pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_team'::regclass") == "t");
  // Dropped and rebuilt: the flag goes with the index.
  pg.exec("DROP INDEX CONCURRENTLY accounts_email_key;");
  REQUIRE(d.wait_for([](const Scrape& x) {
    return !x.value("pghealthd_index_valid", {{"indexrelname", "accounts_email_key"}}).has_value();
  }));
  CHECK(d.scrape().value("pghealthd_index_valid", {{"indexrelname", "accounts_team"}}) == 1.0);
}

TEST_CASE("unused needs statistics old enough: nothing after a fresh reset, the truly unused index once they are",
          "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, note text);\n"
          "CREATE UNIQUE INDEX orders_id_customer ON orders (id, customer);\n"
          "ALTER TABLE orders REPLICA IDENTITY USING INDEX orders_id_customer;\n"
          "CREATE INDEX orders_note ON orders (note);\n"
          "CREATE INDEX orders_customer ON orders (customer);\n"
          "INSERT INTO orders SELECT g, g % 50, md5(g::text) FROM generate_series(1, 20000) g;\n"
          "VACUUM ANALYZE orders;\n"
          "SELECT pg_stat_reset();\n");
  // After the reset: one index is used, the others never are.
  pg.exec("SET enable_seqscan = off; SELECT count(*) FROM orders WHERE customer = 7;");
  const auto reset = number(pg.sql("SELECT date_part('epoch', stats_reset) FROM pg_stat_database "
                                   "WHERE datname = current_database()")[0][0]);

  SECTION("a fresh reset: nothing is unused at the default 7 days, and the reset time is exported") {
    Daemon d(config_for(pg));
    REQUIRE(d.wait_for([](const Scrape& s) { return !s.all("pghealthd_index_unused").empty(); }));
    const auto s = d.scrape();
    for (const auto& r : s.all("pghealthd_index_unused")) {
      INFO(r.labels.at("indexrelname"));
      CHECK(r.value == 0.0);
    }
    CHECK(s.value("pghealthd_database_stats_reset_timestamp_seconds", {{"datname", "postgres"}}) ==
          Approx(reset).margin(0.001));
  }

  SECTION("statistics older than unused_min_stats_age: only the never-scanned index that protects nothing") {
    std::this_thread::sleep_for(2500ms);
    Daemon d(config_for(pg, "indexes: { unused_min_stats_age: 2s }\n"));
    REQUIRE(d.wait_for([](const Scrape& s) { return !s.all("pghealthd_index_unused").empty(); }));
    const auto s = d.scrape();
    CHECK(s.value("pghealthd_index_unused", {{"indexrelname", "orders_note"}}) == 1.0);
    CHECK(s.value("pghealthd_index_unused", {{"indexrelname", "orders_customer"}}) == 0.0);  // scanned
    CHECK(s.value("pghealthd_index_unused", {{"indexrelname", "orders_pkey"}}) == 0.0);      // a constraint
    CHECK(s.value("pghealthd_index_unused", {{"indexrelname", "orders_id_customer"}}) == 0.0);  // replica identity
    CHECK(pg.scalar("SELECT indisreplident FROM pg_index WHERE indexrelid = 'orders_id_customer'::regclass") == "t");
    // Scan counts as SQL has them; the last scan (16+) as SQL has it, absent where never scanned.
    for (const auto& row : pg.sql("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes")) {
      INFO(*row[0]);
      CHECK(s.value("pghealthd_index_scans_total", {{"indexrelname", *row[0]}}) == number(row[1]));
    }
    if (pg.version() >= 160000) {
      const auto last = number(pg.sql("SELECT date_part('epoch', last_idx_scan) FROM pg_stat_user_indexes "
                                      "WHERE indexrelname = 'orders_customer'")[0][0]);
      CHECK(s.value("pghealthd_index_last_scan_timestamp_seconds", {{"indexrelname", "orders_customer"}}) ==
            Approx(last).margin(0.001));
    }
    CHECK_FALSE(s.value("pghealthd_index_last_scan_timestamp_seconds", {{"indexrelname", "orders_note"}}).has_value());

    // pghealthd check says the same, with the statement to run.
    const std::string cfg = "/tmp/pghealthd-indexes-check-" + std::to_string(::getpid()) + ".yaml";
    run("cat > " + cfg + " <<'EOF'\n" + config_for(pg, "indexes: { unused_min_stats_age: 2s }\n") + "EOF\n");
    const auto out = run(std::string(PGHEALTHD_BINARY) + " check --format json --config " + cfg +
                         " | jq -r '.databases[].sections[] | select(.title == \"Index health\") | .rows[].note'");
    std::remove(cfg.c_str());
    INFO(out);
    CHECK(out.find("DROP INDEX CONCURRENTLY \"public\".\"orders_note\"") != std::string::npos);
    CHECK(out.find("DROP INDEX CONCURRENTLY \"public\".\"orders_customer\"") == std::string::npos);
  }
}

TEST_CASE("sequences: used ratios as SQL computes them from the column type and the sequence's own limit",
          "[versions]") {
  Cluster pg;
  pg.exec("CREATE TABLE ident (id int GENERATED BY DEFAULT AS IDENTITY, v int);\n"
          "CREATE TABLE legacy (id serial PRIMARY KEY);\n"
          "CREATE SEQUENCE wide_seq AS bigint;\n"  // bigint range, feeding an integer column by DEFAULT
          "CREATE TABLE fed (id int DEFAULT nextval('wide_seq'));\n"
          "CREATE SEQUENCE small_seq AS bigint MAXVALUE 1000;\n"
          "CREATE SEQUENCE \"odd \"\"seq\"\"\" INCREMENT -1;\n"
          "CREATE SEQUENCE untouched_seq;\n"
          "SELECT setval(pg_get_serial_sequence('ident', 'id'), 2000000000);\n"
          "SELECT setval('legacy_id_seq', 2147483000);\n"
          "SELECT setval('wide_seq', 1073741824);\n"
          "SELECT setval('small_seq', 901);\n"
          "SELECT nextval('\"odd \"\"seq\"\"\"');\n");
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_sequence_used_ratio", {{"sequencename", "small_seq"}}).has_value();
  }));
  const auto s = d.scrape();
  auto ratio = [&](const std::string& name) { return s.value("pghealthd_sequence_used_ratio", {{"sequencename", name}}); };
  const double int_max = 2147483647.0;
  CHECK(ratio("ident_id_seq") == Approx((2000000000.0 - 1) / (int_max - 1)));
  CHECK(ratio("legacy_id_seq") == Approx((2147483000.0 - 1) / (int_max - 1)));
  CHECK(ratio("wide_seq") == Approx((1073741824.0 - 1) / (int_max - 1)));  // the integer column bounds it
  CHECK(ratio("small_seq") == Approx(900.0 / 999.0));                         // its own maxvalue does
  CHECK(ratio("untouched_seq") == 0.0);
  CHECK(*ratio("odd \"seq\"") < 1e-15);  // descending from -1 over the whole bigint range
  CHECK(s.value("pghealthd_sequences_unreadable", {{"datname", "postgres"}}) == 0.0);
  // The same arithmetic in SQL, for the identity column's sequence.
  const auto sql = number(pg.sql("SELECT (last_value - min_value)::float8 / (2147483647 - min_value) "
                                 "FROM pg_sequences WHERE sequencename = 'ident_id_seq'")[0][0]);
  CHECK(*ratio("ident_id_seq") == Approx(sql));
}

TEST_CASE("sequences are read in pages, each its own transaction: 1,201 of them are all reported", "[indexes]") {
  Cluster pg;
  pg.exec("DO $$ BEGIN FOR i IN 1..1201 LOOP EXECUTE format('CREATE SEQUENCE s_%s', i); END LOOP; END $$;\n"
          "SELECT setval('s_1201', 4611686018427387904);\n");  // half of bigint's range
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) { return s.all("pghealthd_sequence_used_ratio").size() == 1201; }));
  const auto s = d.scrape();
  CHECK(s.value("pghealthd_sequence_used_ratio", {{"sequencename", "s_1201"}}) == Approx(0.5));
  CHECK(s.value("pghealthd_sequence_used_ratio", {{"sequencename", "s_1"}}) == 0.0);
  CHECK(s.value("pghealthd_collector_success", {{"collector", "sequences"}}) == 1.0);
}

TEST_CASE("a pg_monitor-only role reads every index series and counts the sequences it cannot read",
          "[versions]") {
  Cluster pg;
  pg.exec(std::string(kIndexZoo) +
          "CREATE SEQUENCE a_seq; CREATE SEQUENCE b_seq; CREATE TABLE s (id serial);\n"
          "CREATE ROLE watcher LOGIN; GRANT pg_monitor TO watcher;\n");
  Daemon d(config_for(pg, "", "", pg.conninfo() + " user=watcher"));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_sequences_unreadable", {}).has_value() && !s.all("pghealthd_index_redundant").empty();
  }));
  const auto s = d.scrape();
  CHECK(s.value("pghealthd_sequences_unreadable", {}) == 3.0);
  CHECK(s.all("pghealthd_sequence_used_ratio").empty());
  CHECK(s.all("pghealthd_index_redundant").size() == 5);
  CHECK(s.value("pghealthd_collector_success", {{"collector", "stat_user_indexes"}}) == 1.0);
  CHECK(s.value("pghealthd_collector_success", {{"collector", "sequences"}}) == 1.0);
  // Granted, they are read.
  pg.exec("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO watcher;");
  REQUIRE(d.wait_for([](const Scrape& x) { return x.value("pghealthd_sequences_unreadable", {}) == 0.0; }));
  CHECK(d.scrape().all("pghealthd_sequence_used_ratio").size() == 3);
}

TEST_CASE("a target's constant labels reach every series of the target, hostile names stay labels", "[indexes]") {
  Cluster pg;
  pg.exec("CREATE TABLE \"we\"\"ird. näme\" (id int PRIMARY KEY);\n"
          "CREATE INDEX \"dup \"\"1\"\"\" ON \"we\"\"ird. näme\" (id);\n"
          "CREATE SEQUENCE \"s\"\"q.\";\n");
  Daemon d(config_for(pg, "", "    labels: { cluster: orders, role: \"prim\\\"ary\" }\n"));
  REQUIRE(d.wait_for([](const Scrape& s) { return !s.all("pghealthd_index_redundant").empty(); }));
  const auto s = d.scrape();
  const Labels constant{{"cluster", "orders"}, {"role", "prim\"ary"}};
  CHECK(s.all("pghealthd_up", constant).size() == 1);
  CHECK(s.all("pghealthd_collector_success", constant).size() == pghealthd::collectors::kKindCount);
  const auto redundant = s.all("pghealthd_index_redundant", constant);
  REQUIRE(redundant.size() == 1);
  CHECK(redundant[0].labels.at("indexrelname") == "dup \"1\"");
  CHECK(redundant[0].labels.at("covered_by") == "we\"ird. näme_pkey");
  CHECK(redundant[0].labels.at("relname") == "we\"ird. näme");
  CHECK(s.all("pghealthd_sequence_used_ratio", Labels{{"cluster", "orders"}, {"sequencename", "s\"q."}}).size() == 1);
  // Every sample of the target carries them.
  for (const auto& sample : s.samples()) {
    if (sample.labels.count("target") == 0) continue;
    INFO(sample.name);
    CHECK(sample.labels.count("cluster") == 1);
  }
}
