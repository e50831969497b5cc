// The daemon as a user meets it: its command line, its HTTP endpoint and its output format.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fstream>
#include <thread>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/pghealthd-cli-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

std::string config_for(const Cluster& pg) {
  return "targets:\n  - name: t\n    conninfo: \"" + pg.conninfo() +
         "\"\ncollectors:\n  stat_user_tables: { interval: 200ms }\n  statio_user_tables: { interval: 200ms "
         "}\n"
         "  stat_user_indexes: { interval: 200ms }\n";
}

}  // namespace

TEST_CASE("check-config accepts a valid file and lists every problem of a bad one as FILE:LINE:COL") {
  const auto good = write_file("good.yaml", "targets:\n  - name: a\n    conninfo: \"host=/tmp dbname=x\"\n");
  int status = -1;
  auto out = run(std::string(PGHEALTHD_BINARY) + " --check-config --config " + good + " 2>&1", &status);
  CHECK(status == 0);
  CHECK(out.find("OK") != std::string::npos);

  const auto bad = write_file("bad.yaml",
                              "listen: 9188\n"
                              "targets:\n"
                              "  - name: a\n"
                              "    conninfo: \"host=/tmp\"\n"
                              "    databases: [x]\n"
                              "    autodiscover: true\n"
                              "  - name: a\n"
                              "    conninfo: \"host=/tmp\"\n"
                              "    colour: blue\n"
                              "collectors:\n"
                              "  stat_user_tables: { interval: 10 }\n");
  out = run(std::string(PGHEALTHD_BINARY) + " --check-config --config " + bad + " 2>&1", &status);
  CHECK(status == 1);
  CHECK(out.find(bad + ":1:9: listen must be host:port") != std::string::npos);
  CHECK(out.find(bad + ":6:19: targets[0] sets both databases and autodiscover") != std::string::npos);
  CHECK(out.find(bad + ":7:11: duplicate target name 'a'") != std::string::npos);
  CHECK(out.find(bad + ":9:5: unknown key 'colour'") != std::string::npos);
  CHECK(out.find(bad + ":11:33: collectors.stat_user_tables.interval must be a duration") !=
        std::string::npos);
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("check-config refuses durations PostgreSQL would reject, naming the limit") {
  const auto bad = write_file("limits.yaml",
                              "targets:\n"
                              "  - name: a\n"
                              "    conninfo: \"host=/tmp dbname=x\"\n"
                              "vacuum:\n"
                              "  max_duration: 720h\n"
                              "connection:\n"
                              "  backoff_max: 99999999999999h\n");
  int status = -1;
  const auto out = run(std::string(PGHEALTHD_BINARY) + " --check-config --config " + bad + " 2>&1", &status);
  INFO(out);
  CHECK(status == 1);
  CHECK(out.find(bad + ":5:17: vacuum.max_duration must be at most 596h 31m 23.647s (2147483647ms, PostgreSQL's "
                       "statement_timeout limit)") != std::string::npos);
  CHECK(out.find(bad + ":7:16: connection.backoff_max must be at most 8784h (366 days") != std::string::npos);
  std::remove(bad.c_str());
}

TEST_CASE("the command line answers --version and --help and refuses unknown flags") {
  int status = -1;
  CHECK(run(std::string(PGHEALTHD_BINARY) + " --version", &status).rfind("pghealthd ", 0) == 0);
  CHECK(status == 0);
  CHECK(run(std::string(PGHEALTHD_BINARY) + " --help", &status).find("--check-config") != std::string::npos);
  CHECK(status == 0);
  CHECK(run(std::string(PGHEALTHD_BINARY) + " --bogus 2>&1", &status).find("unknown argument") !=
        std::string::npos);
  CHECK(status == 2);
  run(std::string(PGHEALTHD_BINARY) + " --config /nonexistent.yaml 2>&1", &status);
  CHECK(status == 1);
}

TEST_CASE("promtool accepts the /metrics output") {
  Cluster pg;
  pg.exec(
      "CREATE TABLE \"Quoted \"\"Name\"\"\" (id int PRIMARY KEY); INSERT INTO \"Quoted \"\"Name\"\"\" VALUES "
      "(1);");
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) { return !s.all("pghealthd_index_unused").empty(); }));
  const std::string path = "/tmp/pghealthd-metrics-" + std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << d.get("/metrics");
  int status = -1;
  const auto out = run("promtool check metrics < " + path + " 2>&1", &status);
  INFO(out);
  CHECK(status == 0);
  std::remove(path.c_str());
  CHECK(d.log().find("warning connected as a superuser") != std::string::npos);  // the fixture connects as postgres
}

TEST_CASE("the endpoint serves gzip when asked, the health page, and refuses what it does not serve") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int);");
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_table_live_tuples", {{"relname", "t1"}}).has_value();
  }));

  const auto headers = d.get("/metrics", "-D - -o /dev/null -H 'Accept-Encoding: gzip'");
  CHECK(headers.find("Content-Encoding: gzip") != std::string::npos);
  const Scrape unzipped(d.get("/metrics", "--compressed"));
  CHECK(unzipped.value("pghealthd_table_live_tuples", {{"relname", "t1"}}) == 0.0);
  CHECK(d.get("/metrics", "-D - -o /dev/null").find("Content-Encoding") == std::string::npos);

  CHECK(d.get("/").find("<a href=\"/metrics\">") != std::string::npos);
  CHECK(d.get("/nope", "-o /dev/null -w '%{http_code}'") == "404");
  CHECK(d.get("/metrics", "-o /dev/null -w '%{http_code}' -X POST") == "405");
  CHECK(d.get("/metrics",
              "-o /dev/null -w '%{http_code}' -H \"X-Big: $(head -c 20000 /dev/zero | tr '\\0' a)\"") ==
        "431");
  // Still serving after the refusals.
  CHECK(d.scrape().value("pghealthd_up", {{"target", "t"}}) == 1.0);
}

TEST_CASE("SIGTERM stops the daemon promptly and leaves no backend behind") {
  Cluster pg;
  Daemon d(config_for(pg));
  REQUIRE(d.wait_for([](const Scrape& s) { return s.value("pghealthd_up", {{"target", "t"}}) == 1.0; }));
  CHECK(pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pghealthd'") == "1");
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(d.stop(std::chrono::seconds(5)) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  // The server notices the Terminate message at once; allow it a moment to clean up its backend.
  std::string left = "1";
  for (int i = 0; i < 50 && left != "0"; ++i) {
    left = pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pghealthd'");
    if (left != "0") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(left == "0");
}

TEST_CASE("a password from password_file is used and never shown") {
  Cluster pg;
  pg.exec("CREATE ROLE watcher LOGIN PASSWORD 'S3cret-Pa55' IN ROLE pg_monitor;");
  // Require passwords for this role over the socket.
  pg.exec("ALTER SYSTEM SET password_encryption = 'scram-sha-256'; SELECT pg_reload_conf();");
  const auto hba = pg.scalar("SHOW hba_file");
  std::system(("sed -i '1i local all watcher scram-sha-256' " + hba).c_str());
  pg.exec("SELECT pg_reload_conf()");
  const auto pwfile = write_file("pw", "S3cret-Pa55\n");
  std::string conninfo = pg.conninfo();
  conninfo.replace(conninfo.find("user=postgres"), 13, "user=watcher");
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + conninfo + "\"\n    password_file: " + pwfile +
           "\ncollectors:\n  stat_user_tables: { interval: 200ms }\n");
  REQUIRE(d.wait_for([](const Scrape& s) { return s.value("pghealthd_up", {{"target", "t"}}) == 1.0; }));
  CHECK(d.get("/metrics").find("S3cret") == std::string::npos);
  CHECK(d.get("/").find("S3cret") == std::string::npos);
  CHECK(d.log().find("S3cret") == std::string::npos);
  CHECK(run("cat /proc/" + std::to_string(d.pid()) + "/cmdline").find("S3cret") == std::string::npos);
  // pg_monitor is all it needs for metrics: no superuser warning for this role.
  CHECK(d.log().find("connected as a superuser") == std::string::npos);
  std::remove(pwfile.c_str());
}

TEST_CASE("pghealthd check prints the health tables worst first and exits like a monitoring plugin") {
  // Autovacuum on (a server without it is CRITICAL in check), its launcher asleep: nothing vacuums the
  // bloated table below before check sees it.
  Cluster pg(/*start_now=*/true, /*autovacuum=*/true);
  pg.exec("ALTER SYSTEM SET autovacuum_naptime = '1d'; SELECT pg_reload_conf();");
  const std::string bin = PGHEALTHD_BINARY;
  int status = -1;
  pg.exec("CREATE TABLE fine (id int PRIMARY KEY); INSERT INTO fine SELECT generate_series(1, 100); VACUUM ANALYZE fine;");
  auto out = run(bin + " check --conninfo '" + pg.conninfo() + "'", &status);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("Overall: OK") != std::string::npos);

  pg.exec("CREATE TABLE \"Lead\" (id int, pad text); INSERT INTO \"Lead\" SELECT g, 'x' FROM generate_series(1, 1000) g;"
          "DELETE FROM \"Lead\" WHERE id <= 300;");
  out = run(bin + " check --conninfo '" + pg.conninfo() + "'", &status);
  INFO(out);
  CHECK(status == 2);
  // Worst first: the bloated table heads the dead tuples table.
  const auto section = out.find("Dead tuples (1 of 2 need attention)");
  REQUIRE(section != std::string::npos);
  const auto lead = out.find("Lead", section), fine = out.find("fine", section);
  CHECK(lead < fine);
  CHECK(out.find("30.00%  CRITICAL") != std::string::npos);
  CHECK(out.find("Overall: CRITICAL") != std::string::npos);

  const auto json = run(bin + " check --format json --conninfo '" + pg.conninfo() + "' | jq -r '.status, "
                              "(.databases[0].sections[] | select(.title == \"Dead tuples\") | .rows[0].cells[0])'",
                        &status);
  CHECK(json == "CRITICAL\nLead\n");
  // The freeze ages: the database itself and each table, from pg_class and pg_database.
  const auto freeze = run(bin + " check --format json --conninfo '" + pg.conninfo() + "' | jq -r "
                                "'.databases[0].sections[] | select(.title == \"Freeze age\") | .rows[].cells[0]' | sort",
                          &status);
  CHECK(freeze == "(database postgres)\nLead\nfine\n");
  // Bloat: the analyzed table and its index have an estimate; the never analyzed one is counted, with what
  // to do. fine's inserts reached the shared statistics after its ANALYZE (a session flushes its counters
  // when idle), so they count as changed since: analyze it again once they are there. Lead is vacuumed
  // (pg_class knows its pages then) but never analyzed.
  REQUIRE(eventually([&] { return pg.scalar("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'fine'") == "100"; }));
  pg.exec("ANALYZE fine; VACUUM \"Lead\";");
  const auto bloat = run(bin + " check --format json --conninfo '" + pg.conninfo() + "' | jq -r "
                               "'.databases[0].sections[] | select(.title == \"Bloat\") | "
                               "(.rows[] | .cells[0:3] + [.status] | join(\" \")), .footnotes[]' | sort",
                         &status);
  CHECK(bloat == "1 relation not estimated, never_analyzed: never analyzed, pg_stats has nothing on them: ANALYZE "
                 "them\nfine - estimate OK\nfine fine_pkey estimate OK\n");
  out = run(bin + " check --conninfo '" + pg.conninfo() + "'", &status);
  CHECK(out.find("Bloat (0 of 2 need attention)") != std::string::npos);

  // A database that cannot be reached is critical too, with libpq's reason.
  out = run(bin + " check --conninfo 'host=/nonexistent dbname=x'", &status);
  CHECK(status == 2);
  CHECK(out.find("cannot read this database") != std::string::npos);
}
