// GET /status.json (issue 17): the health report of `pghealthd check --format json`, served by the daemon
// from its latest snapshots: the same sections and verdicts, without a query of its own.
#include <catch2/catch.hpp>

#include <string>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

TEST_CASE("status.json serves check's report from the snapshots: the bloated table first, names as text, "
          "rows_per_section rows") {
  // Autovacuum on (a server without it is CRITICAL in the report), its launcher asleep: nothing vacuums the
  // bloated table before the report shows it.
  Cluster pg(/*start_now=*/true, /*autovacuum=*/true);
  pg.exec("ALTER SYSTEM SET autovacuum_naptime = '1d'; SELECT pg_reload_conf();");
  pg.exec("CREATE TABLE fine (id int PRIMARY KEY); INSERT INTO fine SELECT generate_series(1, 100);"
          "CREATE TABLE \"<script>alert(1)</script> \"\"Ünïcode\"\"\" (id int, pad text);"
          "INSERT INTO \"<script>alert(1)</script> \"\"Ünïcode\"\"\" SELECT g, 'x' FROM generate_series(1, 1000) g;"
          "DELETE FROM \"<script>alert(1)</script> \"\"Ünïcode\"\"\" WHERE id <= 300;");
  REQUIRE(eventually([&] {
    return pg.scalar("SELECT sum(n_dead_tup) FROM pg_stat_user_tables") == "300";
  }));
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + pg.conninfo() + "\"\n"
           "vacuum: { enabled: false }\n"
           "health_page: { rows_per_section: 1 }\n"
           "collectors:\n  stat_user_tables: { interval: 500ms }\n  statio_user_tables: { interval: 500ms }\n"
           "  stat_user_indexes: { interval: 500ms }\n");
  std::string json;
  REQUIRE(eventually([&] {
    json = d.get("/status.json");
    // Both tables read: one listed (rows_per_section), the other counted.
    return jq(json, ".databases[0].sections[] | select(.title == \"Dead tuples\") | .footnotes[]") ==
           "1 more rows not listed (0 of them need attention)\n";
  }));
  INFO(json);
  CHECK(jq(json, ".status") == "CRITICAL\n");
  CHECK(jq(json, ".databases[0].target, .databases[0].datname") == "t\npostgres\n");
  // Worst first, with its ratio, and the name exactly as the server has it (JSON-escaped, not markup).
  CHECK(jq(json, ".databases[0].sections[] | select(.title == \"Dead tuples\") | .rows[0] | .status, .cells[0], .cells[3]") ==
        "CRITICAL\n<script>alert(1)</script> \"Ünïcode\"\n30.00%\n");
  CHECK(json.find("<script>alert(1)</script>") != std::string::npos);  // inside a JSON string: text
  // The same sections as `pghealthd check --format json` of the same database.
  const std::string bin = PGHEALTHD_BINARY;
  const auto check = run(bin + " check --format json --conninfo '" + pg.conninfo() + "' | jq -r '[.databases[0].sections[].title] | join(\",\")'");
  // Once every collector has run (bloat's first run comes last, slower under the sanitizers).
  // (What only the daemon knows comes first: the attention list, what runs, the log and the horizon.)
  const std::string checks_sections =
      "[.databases[0].sections[].title | select(IN(\"Tables that need attention\", \"Running now\", "
      "\"Maintenance log\", \"xmin horizon\") | not)] | join(\",\")";
  CHECK(eventually([&] { return jq(d.get("/status.json"), checks_sections) == check; }));
  json = d.get("/status.json");
  CHECK(jq(json, ".databases[0].sections[0] | .title, .rows[0].cells[0], .rows[0].cells[1], .rows[0].status") ==
        "Tables that need attention\n<script>alert(1)</script> \"Ünïcode\"\n30.00%\nCRITICAL\n");
  // Its dead ratio in the last minute of its history.
  CHECK(jq(json, ".databases[0].sections[0].rows[0].dead_ratio_history | length, last") == "60\n0.3\n");
  CHECK(jq(json, ".databases[0].reachable") == "true\n");
  CHECK(jq(json, "[.databases[0].collectors[] | select(.last_success_unix != null) | .name] | length") == "8\n");
  // No query of its own: served with the database gone.
  pg.stop();
  CHECK(jq(d.get("/status.json"), ".databases[0].sections[] | select(.title == \"Dead tuples\") | .rows[0].status") ==
        "CRITICAL\n");
  // And it says the database is gone, and why.
  CHECK(eventually([&] { return jq(d.get("/status.json"), ".databases[0].reachable") == "false\n"; }));
  CHECK(jq(d.get("/status.json"), ".databases[0].error | startswith(\"unreachable: \")") == "true\n");
}
