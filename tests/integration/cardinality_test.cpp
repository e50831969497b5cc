// Cardinality controls end to end: a real PostgreSQL, the real daemon, what /metrics then holds.
#include <catch2/catch.hpp>

#include <csignal>

#include "collectors/collector.h"
#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

std::string config_for(const Cluster& pg, const std::string& cardinality) {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" +
         pg.conninfo() + "\"\n" +
         "collectors:\n"
         "  stat_user_tables: { interval: 300ms }\n"
         "  statio_user_tables: { interval: 300ms }\n"
         "  stat_user_indexes: { interval: 300ms }\n"
         "cardinality:\n" +
         cardinality;
}

double sum(const Scrape& s, const std::string& name) {
  double n = 0;
  for (const auto& sample : s.all(name)) n += sample.value;
  return n;
}

// Per-table and per-index series in a scrape (what the budget counts, with the horizon's few).
std::size_t table_series(const Scrape& s) {
  std::size_t n = 0;
  for (const auto& sample : s.samples())
    if (sample.labels.count("relname")) ++n;
  return n;
}

}  // namespace

TEST_CASE("schema, table and size filters leave tables out of every per-table family") {
  Cluster pg;
  pg.exec("CREATE SCHEMA audit;"
          "CREATE TABLE audit.log (id int PRIMARY KEY);"
          "CREATE TABLE public.orders (id int PRIMARY KEY, note text);"
          "INSERT INTO public.orders SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;"
          "CREATE TABLE public.orders_archive (id int PRIMARY KEY);"
          "CREATE TABLE public.tiny (id int PRIMARY KEY);"
          "ANALYZE;");
  Daemon d(config_for(pg, "  exclude_schemas: [audit]\n"
                          "  exclude_tables: ['.*_archive']\n"
                          "  min_table_size_bytes: 65536\n"));
  const auto s = d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_table_live_tuples", {{"relname", "orders"}}).has_value() &&
           x.value("pghealthd_index_scans_total", {{"relname", "orders"}}).has_value() &&
           x.value("pghealthd_table_blocks_hit_total", {{"relname", "orders"}, {"area", "heap"}}).has_value();
  });
  REQUIRE(s);
  for (const char* gone : {"log", "orders_archive", "tiny"}) {
    INFO(gone);
    for (const auto& sample : s->samples())
      CHECK((sample.labels.count("relname") == 0 || sample.labels.at("relname") != gone));
  }
  CHECK(sum(*s, "pghealthd_collector_series_dropped") == 0);  // filtered on purpose: no budget cut
}

TEST_CASE("a series budget caps what a target exports, and says so in a metric and a log line") {
  Cluster pg;
  std::string ddl;
  for (int i = 0; i < 30; ++i)
    ddl += "CREATE TABLE t" + std::to_string(i) + " (id int PRIMARY KEY, v int);CREATE INDEX ON t" +
           std::to_string(i) + " (v);";
  pg.exec(ddl);
  constexpr int kBudget = 200;
  Daemon d(config_for(pg, "  max_series_per_target: " + std::to_string(kBudget) + "\n"));
  const auto s = d.wait_for([](const Scrape& x) {
    return x.all("pghealthd_collector_last_success_timestamp_seconds").size() == pghealthd::collectors::kKindCount &&
           [&] {
             double dropped = 0;
             for (const auto& sample : x.all("pghealthd_collector_series_dropped")) dropped += sample.value;
             return dropped > 0;
           }();
  });
  REQUIRE(s);
  // The few per-database series (xmin horizon, running vacuums, the databases' freeze ages, the statistics
  // reset, unreadable sequences, the server's autovacuum) are never cut, so not budgeted.
  double per_database = 0;
  for (const auto& sample : s->samples())
    if (sample.name.rfind("pghealthd_database_", 0) == 0 || sample.name == "pghealthd_sequences_unreadable" ||
        sample.name == "pghealthd_autovacuum_enabled" || sample.name == "pghealthd_bloat_unestimated" ||
        sample.name == "pghealthd_bloat_exact_available")
      per_database += 1;
  CHECK(sum(*s, "pghealthd_collector_series") - *s->value("pghealthd_collector_series", {{"collector", "xmin_horizon"}}) -
            *s->value("pghealthd_collector_series", {{"collector", "vacuum_progress"}}) - per_database <=
        kBudget);
  CHECK(table_series(*s) <= kBudget);
  CHECK(table_series(*s) > 0);
  CHECK(d.log().find("series budget reached") != std::string::npos);

  // Raising the budget (reload) ends the cut: everything comes back, and the log says so.
  d.rewrite_config(config_for(pg, "  max_series_per_target: 100000\n"));
  d.signal(SIGHUP);
  const auto all = d.wait_for([](const Scrape& x) {
    double dropped = 0;
    for (const auto& sample : x.all("pghealthd_collector_series_dropped")) dropped += sample.value;
    return dropped == 0 && x.value("pghealthd_table_live_tuples", {{"relname", "t29"}}).has_value() &&
           x.value("pghealthd_table_live_tuples", {{"relname", "t0"}}).has_value() &&
           x.all("pghealthd_index_scans_total").size() == 60;
  });
  CHECK(all);
}
