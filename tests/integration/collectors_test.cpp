// What pghealthd exports equals what SQL says, for every table, index and database it watches.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

std::string config_for(const Cluster& pg, const std::string& target_extra = "") {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" +
         pg.conninfo() + "\"\n" + target_extra +
         "    connection: { backoff_initial: 100ms, backoff_max: 500ms, statement_timeout: 2s }\n"
         "collectors:\n"
         "  stat_user_tables: { interval: 200ms }\n"
         "  statio_user_tables: { interval: 200ms }\n"
         "  stat_user_indexes: { interval: 200ms }\n"
         "  freeze: { interval: 200ms }\n"
         "  sequences: { interval: 200ms }\n"
         "  bloat: { interval: 200ms }\n"
         // Judged at once: the comparison with SQL's idx_scan = 0 needs no week of statistics.
         "indexes: { unused_min_stats_age: 0s }\n";
}

std::optional<double> num(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  return std::stod(*v);
}

struct Expect {
  std::string name;
  Labels labels;
  std::optional<double> value;  // nullopt: the series must be absent
};

// Reads the three views with plain SQL and lists every series pghealthd should export for them.
std::vector<Expect> expected_from_sql(const Cluster& pg, const std::string& db = "postgres") {
  std::vector<Expect> out;
  auto table = [&](const Row& r) {
    return Labels{{"datname", db}, {"schemaname", *r[0]}, {"relname", *r[1]}};
  };
  auto with = [](Labels l, const char* k, const char* v) {
    l[k] = v;
    return l;
  };
  for (const auto& r :
       pg.sql("SELECT schemaname, relname, n_live_tup, n_dead_tup, n_mod_since_analyze, seq_scan, idx_scan, "
              "extract(epoch FROM last_vacuum)::float8, extract(epoch FROM last_autovacuum)::float8, "
              "extract(epoch FROM last_analyze)::float8, extract(epoch FROM last_autoanalyze)::float8, "
              "vacuum_count, autovacuum_count, analyze_count, autoanalyze_count FROM pg_stat_user_tables",
              db)) {
    const auto l = table(r);
    out.push_back({"pghealthd_table_live_tuples", l, num(r[2])});
    out.push_back({"pghealthd_table_dead_tuples", l, num(r[3])});
    const double live = std::stod(*r[2]), dead = std::stod(*r[3]);
    out.push_back({"pghealthd_table_dead_tuple_ratio", l, live + dead == 0 ? 0.0 : dead / (live + dead)});
    out.push_back({"pghealthd_table_modified_since_analyze_tuples", l, num(r[4])});
    out.push_back({"pghealthd_table_seq_scans_total", l, num(r[5])});
    out.push_back({"pghealthd_table_index_scans_total", l, num(r[6])});
    out.push_back({"pghealthd_table_last_vacuum_timestamp_seconds", with(l, "kind", "manual"), num(r[7])});
    out.push_back({"pghealthd_table_last_vacuum_timestamp_seconds", with(l, "kind", "auto"), num(r[8])});
    out.push_back({"pghealthd_table_last_analyze_timestamp_seconds", with(l, "kind", "manual"), num(r[9])});
    out.push_back({"pghealthd_table_last_analyze_timestamp_seconds", with(l, "kind", "auto"), num(r[10])});
    out.push_back({"pghealthd_table_vacuums_total", with(l, "kind", "manual"), num(r[11])});
    out.push_back({"pghealthd_table_vacuums_total", with(l, "kind", "auto"), num(r[12])});
    out.push_back({"pghealthd_table_analyzes_total", with(l, "kind", "manual"), num(r[13])});
    out.push_back({"pghealthd_table_analyzes_total", with(l, "kind", "auto"), num(r[14])});
  }
  // Columns of newer servers: equal to the view where it has them, absent before.
  const bool has16 = pg.version() >= 160000, has18 = pg.version() >= 180000;
  const std::string newer = std::string("SELECT schemaname, relname, ") +
                            (has16 ? "extract(epoch FROM last_seq_scan)::float8, " : "NULL, ") +
                            (has18 ? "total_vacuum_time / 1000, total_autovacuum_time / 1000, "
                                     "total_analyze_time / 1000, total_autoanalyze_time / 1000 "
                                   : "NULL, NULL, NULL, NULL ") +
                            "FROM pg_stat_user_tables";
  for (const auto& r : pg.sql(newer, db)) {
    const auto l = table(r);
    out.push_back({"pghealthd_table_last_seq_scan_timestamp_seconds", l, num(r[2])});
    out.push_back({"pghealthd_table_vacuum_seconds_total", with(l, "kind", "manual"), num(r[3])});
    out.push_back({"pghealthd_table_vacuum_seconds_total", with(l, "kind", "auto"), num(r[4])});
    out.push_back({"pghealthd_table_analyze_seconds_total", with(l, "kind", "manual"), num(r[5])});
    out.push_back({"pghealthd_table_analyze_seconds_total", with(l, "kind", "auto"), num(r[6])});
  }
  for (const auto& r : pg.sql("SELECT schemaname, relname, heap_blks_read, heap_blks_hit, idx_blks_read, "
                              "idx_blks_hit, toast_blks_read, toast_blks_hit, tidx_blks_read, tidx_blks_hit "
                              "FROM pg_statio_user_tables",
                              db)) {
    const auto l = table(r);
    const char* areas[] = {"heap", "index", "toast", "toast_index"};
    for (int a = 0; a < 4; ++a) {
      out.push_back({"pghealthd_table_blocks_read_total", with(l, "area", areas[a]), num(r[2 + 2 * a])});
      out.push_back({"pghealthd_table_blocks_hit_total", with(l, "area", areas[a]), num(r[3 + 2 * a])});
    }
    const double read = std::stod(*r[2]), hit = std::stod(*r[3]);
    out.push_back({"pghealthd_table_cache_hit_ratio", l,
                   read + hit == 0 ? std::nullopt : std::optional<double>(hit / (hit + read))});
  }
  for (const auto& r : pg.sql("SELECT s.schemaname, s.relname, s.indexrelname, s.idx_scan, s.idx_tup_read, "
                              "s.idx_tup_fetch, (s.idx_scan = 0 AND NOT (i.indisprimary OR i.indisunique OR "
                              "i.indisexclusion OR i.indisreplident))::int, i.indisvalid::int "
                              "FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid",
                              db)) {
    Labels l = table(r);
    l["indexrelname"] = *r[2];
    out.push_back({"pghealthd_index_scans_total", l, num(r[3])});
    out.push_back({"pghealthd_index_tuples_read_total", l, num(r[4])});
    out.push_back({"pghealthd_index_tuples_fetched_total", l, num(r[5])});
    out.push_back({"pghealthd_index_unused", l, num(r[6])});
    out.push_back({"pghealthd_index_valid", l, num(r[7])});
  }
  return out;
}

std::vector<std::string> mismatches(const Scrape& s, const std::vector<Expect>& want) {
  std::vector<std::string> bad;
  for (const auto& e : want) {
    const auto got = s.value(e.name, e.labels);
    const bool same = got.has_value() == e.value.has_value() &&
                      (!got || std::abs(*got - *e.value) <= 1e-9 * std::max(1.0, std::abs(*e.value)));
    if (same) continue;
    std::ostringstream os;
    os << e.name << "{";
    for (const auto& [k, v] : e.labels) os << k << "=\"" << v << "\",";
    os << "} exported " << (got ? std::to_string(*got) : "absent") << ", SQL says "
       << (e.value ? std::to_string(*e.value) : "absent");
    bad.push_back(os.str());
  }
  return bad;
}

// Waits until every expected series equals SQL; fails with the differences otherwise.
void require_matches_sql(const Daemon& d, const Cluster& pg, const std::string& db = "postgres") {
  const auto want = expected_from_sql(pg, db);
  REQUIRE(want.size() > 10);
  std::vector<std::string> last;
  auto ok = d.wait_for([&](const Scrape& s) {
    last = mismatches(s, want);
    return last.empty();
  });
  for (const auto& m : last) UNSCOPED_INFO(m);
  REQUIRE(ok.has_value());
}

const char* kSeedSchema = R"SQL(
CREATE TABLE "Customer" (id serial PRIMARY KEY, email text UNIQUE, phone text);
CREATE INDEX "Customer_phone_idx" ON "Customer"(phone);
CREATE TABLE "Message" (id serial PRIMARY KEY, conversation_id int, content text, created_at timestamptz DEFAULT now());
CREATE INDEX "Message_conversation_id_created_at_idx" ON "Message"(conversation_id, created_at);
CREATE TABLE "Lead" (id serial PRIMARY KEY, name text);
CREATE TABLE "Job" (id int);
CREATE TABLE all_deleted (id int);
CREATE TABLE never_touched (id int);
CREATE MATERIALIZED VIEW lead_names AS SELECT name FROM "Lead";
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO "Customer"(email, phone) SELECT 'c' || g || '@x', 'p' || g FROM generate_series(1, 3) g;
INSERT INTO "Message"(conversation_id, content) SELECT g % 3, repeat('x', 3000) FROM generate_series(1, 1000) g;
DELETE FROM "Message" WHERE id <= 100;
INSERT INTO "Lead"(name) VALUES ('a'), ('b'), ('c');
UPDATE "Lead" SET name = name || '!';
UPDATE "Lead" SET name = name || '!';
UPDATE "Lead" SET name = name || '!';
UPDATE "Lead" SET name = name || '!';
INSERT INTO "Job" VALUES (1);
INSERT INTO all_deleted SELECT generate_series(1, 10);
DELETE FROM all_deleted;
INSERT INTO events VALUES (1, '2025-05-05');
VACUUM ANALYZE "Customer";
ANALYZE "Lead";
SET enable_seqscan = off;
SELECT count(*) FROM "Customer" WHERE id = 2;
SELECT count(*) FROM "Message" WHERE conversation_id = 1;
)SQL";

}  // namespace

TEST_CASE("every exported value equals what the statistics views say", "[versions]") {
  Cluster pg;
  pg.exec(kSeedSchema);
  Daemon d(config_for(pg));
  require_matches_sql(d, pg);

  SECTION("known dead rows give exactly the expected ratios") {
    auto got = d.scrape();
    const Labels msg{{"relname", "Message"}};
    CHECK(got.value("pghealthd_table_dead_tuples", msg) == 100.0);
    CHECK(got.value("pghealthd_table_live_tuples", msg) == 900.0);
    CHECK(got.value("pghealthd_table_dead_tuple_ratio", msg) == Approx(0.1));
    CHECK(got.value("pghealthd_table_dead_tuple_ratio", {{"relname", "all_deleted"}}) == 1.0);
    CHECK(got.value("pghealthd_table_dead_tuple_ratio", {{"relname", "never_touched"}}) == 0.0);
    CHECK(got.value("pghealthd_table_dead_tuples", {{"relname", "Lead"}}) == 12.0);
    // A table without indexes has no idx_scan, so no index-scan series.
    CHECK_FALSE(got.value("pghealthd_table_index_scans_total", {{"relname", "Job"}}).has_value());
    // Message has TOAST (3 kB rows); Job has no TOAST table, so no toast areas.
    CHECK(got.value("pghealthd_table_blocks_hit_total", {{"relname", "Message"}, {"area", "toast"}})
              .has_value());
    CHECK_FALSE(
        got.value("pghealthd_table_blocks_hit_total", {{"relname", "Job"}, {"area", "toast"}}).has_value());
    // Unused: never scanned and enforcing nothing; primary keys and unique indexes are never "unused".
    CHECK(got.value("pghealthd_index_unused", {{"indexrelname", "Customer_phone_idx"}}) == 1.0);
    CHECK(got.value("pghealthd_index_unused", {{"indexrelname", "Customer_email_key"}}) == 0.0);
    CHECK(got.value("pghealthd_index_unused", {{"indexrelname", "Lead_pkey"}}) == 0.0);
    CHECK(got.value("pghealthd_index_scans_total", {{"indexrelname", "Customer_pkey"}}) >= 1.0);
    // Sizes come from relpages, refreshed by the VACUUM ANALYZE above.
    CHECK(got.value("pghealthd_table_size_bytes", {{"relname", "Customer"}}) ==
          std::stod(pg.scalar("SELECT relpages::bigint * 8192 FROM pg_class WHERE relname = 'Customer'")));
    CHECK(got.value("pghealthd_table_last_vacuum_timestamp_seconds",
                    {{"relname", "Customer"}, {"kind", "manual"}})
              .has_value());
    CHECK_FALSE(got.value("pghealthd_table_last_vacuum_timestamp_seconds",
                          {{"relname", "Customer"}, {"kind", "auto"}})
                    .has_value());
    // Sequential scans happened on Lead (UPDATEs without an index); the server says when from 16 on.
    CHECK(got.value("pghealthd_table_last_seq_scan_timestamp_seconds", {{"relname", "Lead"}}).has_value() ==
          (pg.version() >= 160000));
    // VACUUM ANALYZE "Customer" took some time, counted from 18 on.
    CHECK(got.value("pghealthd_table_vacuum_seconds_total", {{"relname", "Customer"}, {"kind", "manual"}}).has_value() ==
          (pg.version() >= 180000));
    // The partitioned parent is in pg_stat_user_tables (zero counters) but not in pg_statio_user_tables.
    CHECK(got.value("pghealthd_table_live_tuples", {{"relname", "events"}}) == 0.0);
    CHECK_FALSE(
        got.value("pghealthd_table_blocks_hit_total", {{"relname", "events"}, {"area", "heap"}}).has_value());
  }

  SECTION("values follow the database as it changes") {
    pg.exec("DELETE FROM \"Message\" WHERE id <= 550; SELECT count(*) FROM \"Lead\";");
    require_matches_sql(d, pg);
    CHECK(d.scrape().value("pghealthd_table_dead_tuples", {{"relname", "Message"}}) == 550.0);
  }
}

TEST_CASE("hostile and duplicate table names are exported exactly", "[versions]") {
  Cluster pg;
  pg.exec(R"SQL(
    CREATE SCHEMA "Other ""Schema"".x";
    CREATE TABLE "MixedCase" (id int);
    CREATE TABLE "with space" (id int);
    CREATE TABLE "dot.ted" (id int);
    CREATE TABLE "quo""te" (id int);
    CREATE TABLE "back\slash" (id int);
    CREATE TABLE "ünïcødé" (id int);
    CREATE TABLE "new
line" (id int);
    CREATE TABLE dup (id int);
    CREATE TABLE "Other ""Schema"".x".dup (id int);
    INSERT INTO dup VALUES (1), (2);
    INSERT INTO "Other ""Schema"".x".dup VALUES (1), (2), (3);
  )SQL");
  Daemon d(config_for(pg));
  auto got = d.wait_for([](const Scrape& s) { return s.all("pghealthd_table_live_tuples").size() >= 9; });
  REQUIRE(got);
  for (const char* name :
       {"MixedCase", "with space", "dot.ted", "quo\"te", "back\\slash", "ünïcødé", "new\nline"})
    CHECK(got->value("pghealthd_table_live_tuples", {{"schemaname", "public"}, {"relname", name}}) == 0.0);
  CHECK(got->value("pghealthd_table_live_tuples", {{"schemaname", "public"}, {"relname", "dup"}}) == 2.0);
  CHECK(got->value("pghealthd_table_live_tuples",
                   {{"schemaname", "Other \"Schema\".x"}, {"relname", "dup"}}) == 3.0);
  require_matches_sql(d, pg);
}

TEST_CASE("a dropped table's series are gone after the next collection") {
  Cluster pg;
  pg.exec(
      "CREATE TABLE doomed (id int PRIMARY KEY); INSERT INTO doomed VALUES (1); CREATE TABLE kept (id int);");
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_live_tuples", {{"relname", "doomed"}}) &&
           s.value("pghealthd_index_scans_total", {{"indexrelname", "doomed_pkey"}}) &&
           s.value("pghealthd_table_blocks_hit_total", {{"relname", "doomed"}, {"area", "heap"}});
  }));
  pg.exec("DROP TABLE doomed");
  auto got = d.wait_for([](const Scrape& s) {
    for (const auto& sample : parse_exposition(s.text()))
      if (sample.labels.count("relname") && sample.labels.at("relname") == "doomed") return false;
    return true;
  });
  REQUIRE(got);
  CHECK(got->value("pghealthd_table_live_tuples", {{"relname", "kept"}}).has_value());
}

TEST_CASE("two listed databases are watched side by side") {
  Cluster pg;
  pg.exec("CREATE DATABASE app; CREATE DATABASE billing;");
  pg.exec("CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 5);", "app");
  pg.exec("CREATE TABLE invoices (id int); INSERT INTO invoices SELECT generate_series(1, 7);", "billing");
  Daemon d(config_for(pg, "    databases: [app, billing]\n"));
  auto got = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_live_tuples", {{"datname", "app"}, {"relname", "orders"}}) &&
           s.value("pghealthd_table_live_tuples", {{"datname", "billing"}, {"relname", "invoices"}});
  });
  REQUIRE(got);
  CHECK(got->value("pghealthd_table_live_tuples", {{"datname", "app"}, {"relname", "orders"}}) == 5.0);
  CHECK(got->value("pghealthd_table_live_tuples", {{"datname", "billing"}, {"relname", "invoices"}}) == 7.0);
  CHECK_FALSE(
      got->value("pghealthd_table_live_tuples", {{"datname", "app"}, {"relname", "invoices"}}).has_value());
  CHECK(got->value("pghealthd_up", {{"target", "t"}, {"datname", "app"}}) == 1.0);
  CHECK(got->value("pghealthd_up", {{"target", "t"}, {"datname", "billing"}}) == 1.0);
  CHECK_FALSE(got->value("pghealthd_up", {{"datname", "postgres"}}).has_value());
  require_matches_sql(d, pg, "app");
  require_matches_sql(d, pg, "billing");
}

TEST_CASE("autodiscovery picks up new databases and drops removed ones") {
  Cluster pg;
  pg.exec("CREATE DATABASE keep_me; CREATE DATABASE skip_me;");
  Daemon d(config_for(pg,
                      "    autodiscover: true\n"
                      "    exclude_databases: [\"template.*\", \"skip_.*\"]\n"
                      "    discovery_interval: 300ms\n"));
  auto got = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_up", {{"datname", "keep_me"}}) == 1.0;
  });
  REQUIRE(got);
  CHECK(got->value("pghealthd_up", {{"datname", "postgres"}}) == 1.0);
  CHECK_FALSE(got->value("pghealthd_up", {{"datname", "skip_me"}}).has_value());
  CHECK_FALSE(got->value("pghealthd_up", {{"datname", "template1"}}).has_value());

  pg.exec("CREATE DATABASE arrived_later");
  pg.exec("CREATE TABLE hello (id int)", "arrived_later");
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_live_tuples", {{"datname", "arrived_later"}, {"relname", "hello"}})
        .has_value();
  }));

  pg.exec("DROP DATABASE arrived_later WITH (FORCE)");
  REQUIRE(d.wait_for([](const Scrape& s) {
    return !s.value("pghealthd_up", {{"datname", "arrived_later"}}) &&
           s.all("pghealthd_table_live_tuples", {{"datname", "arrived_later"}}).empty();
  }));
}

TEST_CASE("a database that is down at start-up is watched once it comes up") {
  Cluster pg(/*start_now=*/false);
  Daemon d(config_for(pg));
  auto down = d.wait_for([](const Scrape& s) { return s.value("pghealthd_up", {{"target", "t"}}) == 0.0; });
  REQUIRE(down);
  CHECK(down->all("pghealthd_table_live_tuples").empty());
  CHECK(down->value("pghealthd_collector_success", {{"collector", "stat_user_tables"}}) == 0.0);

  pg.start();
  pg.exec("CREATE TABLE late (id int); INSERT INTO late VALUES (1);");
  auto up = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_up", {{"target", "t"}}) == 1.0 &&
           s.value("pghealthd_table_live_tuples", {{"relname", "late"}}) == 1.0;
  });
  REQUIRE(up);
  CHECK(up->value("pghealthd_collector_success", {{"collector", "stat_user_tables"}}) == 1.0);
  CHECK(up->value("pghealthd_collector_last_success_timestamp_seconds", {{"collector", "stat_user_tables"}}));
}

TEST_CASE("an outage withdraws the database's series and recovery brings them back") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int); INSERT INTO t1 VALUES (1);");
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_live_tuples", {{"relname", "t1"}}).has_value();
  }));

  pg.stop();
  auto gone = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_up", {{"target", "t"}}) == 0.0 &&
           s.all("pghealthd_table_live_tuples").empty() && s.all("pghealthd_index_scans_total").empty() &&
           s.all("pghealthd_table_blocks_hit_total").empty();
  });
  REQUIRE(gone);
  CHECK(gone->value("pghealthd_build_info", {}) == 1.0);

  pg.start();
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_up", {{"target", "t"}}) == 1.0 &&
           s.value("pghealthd_table_live_tuples", {{"relname", "t1"}}).has_value();
  }));
  const auto log = d.log();
  CHECK(log.find("database unreachable") != std::string::npos);
  CHECK(log.find("reconnected to database") != std::string::npos);
}

TEST_CASE("a stuck database skips runs but never delays the endpoint, and recovers") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int);");
  // One connection, so that the frozen backend holds every collector (with more, the others run on a
  // spare connection: tests/integration/connections_test.cpp).
  auto config = config_for(pg);
  config.replace(config.find("connection: { "), 14, "connection: { max_connections: 1, ");
  Daemon d(config);
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_live_tuples", {{"relname", "t1"}}).has_value();
  }));
  const auto pid = pg.scalar("SELECT pid FROM pg_stat_activity WHERE application_name = 'pghealthd'");
  REQUIRE_FALSE(pid.empty());
  // Freeze the backend serving pghealthd: its next query hangs with no answer at all.
  REQUIRE(std::system(("kill -STOP " + pid).c_str()) == 0);
  auto skipped = d.wait_for(
      [](const Scrape& s) {
        return s.value("pghealthd_collector_skipped_total", {{"collector", "stat_user_tables"}}) >= 2.0;
      },
      std::chrono::seconds(10));
  // The endpoint kept answering while the database was stuck (each scrape above has a 10 s curl limit,
  // and this one must be quick).
  const auto t0 = std::chrono::steady_clock::now();
  (void)d.scrape();
  const auto scrape_time = std::chrono::steady_clock::now() - t0;
  // Past statement_timeout plus the client margin and the cancel's grace, the silent connection is given
  // up and a new backend serves the collectors, while the old one is still frozen.
  auto recovered = d.wait_for(
      [&](const Scrape& s) {
        return s.value("pghealthd_collector_success", {{"collector", "stat_user_tables"}}) == 1.0 &&
               pg.scalar("SELECT pid FROM pg_stat_activity WHERE application_name = 'pghealthd' AND pid <> " +
                         pid) != "";
      },
      std::chrono::seconds(30));
  std::system(("kill -CONT " + pid).c_str());
  REQUIRE(skipped);
  CHECK(scrape_time < std::chrono::seconds(2));
  REQUIRE(recovered);
  CHECK(d.log().find("did not answer within the deadline") != std::string::npos);
}
