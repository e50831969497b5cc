// The vacuum_progress collector against a real PostgreSQL: a VACUUM running now is exported with how far
// its heap scan is, how long it has run, who started it and its phase, as pg_stat_progress_vacuum says;
// its series are gone once it ends, and nothing is exported while nothing runs.
#include <catch2/catch.hpp>

#include <future>
#include <optional>
#include <string>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// Progress collected every 300 ms; the other collectors slowly, except stat_user_tables where the vacuum
// engine needs it (`tables_interval`). `extra` adds top-level sections.
std::string config_for(const std::string& conninfo, const std::string& tables_interval,
                       const std::string& extra = "") {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + conninfo + "\"\n"
         "    connection: { backoff_initial: 100ms, backoff_max: 500ms }\n"
         "collectors:\n"
         "  stat_user_tables: { interval: " + tables_interval + " }\n"
         "  statio_user_tables: { interval: 5s }\n"
         "  stat_user_indexes: { interval: 5s }\n"
         "  xmin_horizon: { interval: 5s }\n"
         "  vacuum_progress: { interval: 300ms }\n" + extra;
}

// 200,000 rows of which 100,000 are deleted: throttled to one page per 100 ms, its VACUUM runs for minutes.
std::string big_table(const std::string& with = "") {
  return "CREATE TABLE big (id int PRIMARY KEY, pad text)" + with + ";\n"
         "INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g;\n"
         "DELETE FROM big WHERE id <= 100000;\n";
}

// What pg_stat_progress_vacuum says about one backend's VACUUM, read with plain SQL.
struct Progress {
  std::string phase;
  double ratio = 0;    // heap_blks_scanned / heap_blks_total
  double seconds = 0;  // since its transaction started
};

std::optional<Progress> progress_of(const Cluster& pg, int pid) {
  const auto rows = pg.sql(
      "SELECT p.phase, p.heap_blks_scanned::float8 / nullif(p.heap_blks_total, 0), "
      "extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start))::float8 "
      "FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a USING (pid) WHERE p.pid = " +
      std::to_string(pid));
  if (rows.empty() || !rows[0][0] || !rows[0][1] || !rows[0][2]) return std::nullopt;
  return Progress{*rows[0][0], std::stod(*rows[0][1]), std::stod(*rows[0][2])};
}

// The one ratio series of `big` by `by`, if exported.
std::optional<Sample> ratio_of_big(const Scrape& s, const std::string& by) {
  const auto all = s.all("pghealthd_vacuum_progress_ratio", {{"relname", "big"}, {"by", by}});
  if (all.size() != 1) return std::nullopt;
  return all[0];
}

bool any_progress(const Scrape& s) {
  return s.text().find("pghealthd_vacuum_progress_") != std::string::npos;
}


}  // namespace

TEST_CASE("vacuum progress: a manual VACUUM shows as pg_stat_progress_vacuum says, and is gone once cancelled", "[versions]") {
  Cluster pg;
  pg.exec(big_table() + "ANALYZE big;\n");
  Daemon d(config_for(pg.conninfo(), "5s"));

  // Nothing runs yet: the collector succeeds and exports no series, not even their HELP.
  const auto idle = d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_collector_success", {{"collector", "vacuum_progress"}}) == 1.0;
  });
  REQUIRE(idle);
  CHECK_FALSE(any_progress(*idle));

  Session manual(pg.conninfo());
  manual.exec("SET application_name = 'nightly-maintenance'");
  manual.exec("SET vacuum_cost_delay = 100");
  manual.exec("SET vacuum_cost_limit = 1");
  const int pid = manual.pid();
  auto vacuum = std::async(std::launch::async, [&manual] { return manual.exec("VACUUM big"); });
  const CancelOnExit cancel_on_exit{pg, pid};

  // Running, and its heap scan under way.
  const auto running = d.wait_for([](const Scrape& s) {
    const auto r = ratio_of_big(s, "other");
    return r && r->value > 0;
  });
  REQUIRE(running);
  const auto first = *ratio_of_big(*running, "other");
  CHECK(first.labels.at("target") == "t");
  CHECK(first.labels.at("datname") == "postgres");
  CHECK(first.labels.at("schemaname") == "public");
  CHECK_FALSE(first.labels.at("phase").empty());
  CHECK(first.value > 0.0);
  CHECK(first.value < 1.0);
  const auto seconds = running->value("pghealthd_vacuum_progress_seconds", {{"relname", "big"}, {"by", "other"}});
  REQUIRE(seconds);
  CHECK(*seconds > 0.0);

  // It follows the view: a collection after one SQL reading and before the next lies between the two, in
  // the phase the view names.
  const auto before = progress_of(pg, pid);
  REQUIRE(before);
  const auto later = d.wait_for([&](const Scrape& s) {
    const auto r = ratio_of_big(s, "other");
    const auto sec = s.value("pghealthd_vacuum_progress_seconds", {{"relname", "big"}, {"by", "other"}});
    return r && sec && r->value >= before->ratio && *sec >= before->seconds;
  });
  REQUIRE(later);
  const auto after = progress_of(pg, pid);
  REQUIRE(after);
  const auto exported = *ratio_of_big(*later, "other");
  INFO("SQL before: " << before->phase << " " << before->ratio << " " << before->seconds << "s; exported: "
                      << exported.labels.at("phase") << " " << exported.value << "; SQL after: " << after->phase
                      << " " << after->ratio << " " << after->seconds << "s");
  CHECK(exported.labels.at("phase") == after->phase);
  CHECK(exported.value >= before->ratio);
  CHECK(exported.value <= after->ratio);
  const auto exported_seconds =
      *later->value("pghealthd_vacuum_progress_seconds", {{"relname", "big"}, {"by", "other"}});
  CHECK(exported_seconds >= before->seconds);
  CHECK(exported_seconds <= after->seconds);

  // Cancelled: the VACUUM ends with the server's error, and its series go.
  CHECK(pg.scalar("SELECT pg_cancel_backend(" + std::to_string(pid) + ")") == "t");
  CHECK_THROWS_WITH(vacuum.get(), Contains("canceling statement due to user request"));
  CHECK(pg.scalar("SELECT count(*) FROM pg_stat_progress_vacuum") == "0");
  const auto gone = d.wait_for([](const Scrape& s) {
    return !any_progress(s) && s.value("pghealthd_collector_success", {{"collector", "vacuum_progress"}}) == 1.0;
  });
  CHECK(gone);
}

TEST_CASE("vacuum progress: pghealthd's own automatic VACUUM is shown as by=pghealthd", "[versions]") {
  Cluster pg;
  pg.exec(big_table() + "ANALYZE big;\n");
  Daemon d(config_for(pg.conninfo(), "300ms", "vacuum:\n  enabled: true\n  cost_delay: 100ms\n  cost_limit: 1\n"));
  const auto got = d.wait_for([](const Scrape& s) {
    return ratio_of_big(s, "pghealthd").has_value() &&
           s.value("pghealthd_vacuum_progress_seconds", {{"relname", "big"}, {"by", "pghealthd"}}) > 0.0;
  });
  REQUIRE(got);
  const auto ours = *ratio_of_big(*got, "pghealthd");
  CHECK(ours.value >= 0.0);
  CHECK(ours.value < 1.0);
  CHECK_FALSE(ours.labels.at("phase").empty());
  CHECK(got->all("pghealthd_vacuum_progress_ratio", {{"by", "other"}}).empty());
  // The server agrees on who runs it.
  CHECK(pg.scalar("SELECT a.application_name FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a USING (pid) "
                  "WHERE p.relid = 'big'::regclass") == "pghealthd");
  // The health page lists it under "Running now", once, with its phase.
  CHECK(jq(d.get("/status.json"), R"([.databases[0].sections[] | select(.title == "Running now") | .rows[])"
                                   R"( | select(.cells[0] == "big") | .cells[1]] | join(","))") == "pghealthd\n");
  CHECK(d.stop(10s) == 0);  // cancels its VACUUM on the way out
}

TEST_CASE("vacuum progress: an autovacuum worker's VACUUM is shown as by=autovacuum", "[versions]") {
  Cluster pg(true, /*autovacuum=*/true);
  pg.exec("ALTER SYSTEM SET autovacuum_naptime = 1;\nSELECT pg_reload_conf();\n");
  // Throttled for this table only, so the worker is still at it when we look.
  pg.exec(big_table(" WITH (autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1)"));
  Daemon d(config_for(pg.conninfo(), "5s"));
  const auto got = d.wait_for([](const Scrape& s) { return ratio_of_big(s, "autovacuum").has_value(); }, 60s);
  REQUIRE(got);
  const auto worker = *ratio_of_big(*got, "autovacuum");
  CHECK(worker.value >= 0.0);
  CHECK(worker.value < 1.0);
  CHECK_FALSE(worker.labels.at("phase").empty());
  CHECK(pg.scalar("SELECT a.backend_type FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a USING (pid) "
                  "WHERE p.relid = 'big'::regclass") == "autovacuum worker");
}
