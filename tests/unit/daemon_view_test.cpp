// What the daemon adds to a database's report for the health page and /status.json (report/daemon_view.h):
// the tables that need attention gathered from every section, the maintenance log, the xmin horizon, the
// running vacuums, reachability and collectors, and each listed table's dead ratio over the last hour.
#include <catch2/catch.hpp>

#include <string>

#include "metrics/store.h"
#include "report/attention.h"
#include "report/daemon_view.h"
#include "support/table_stats.h"

using pghealthd::report::Row;
using pghealthd::report::Section;
using pghealthd::report::Status;

namespace {

constexpr double kNow = 1.7e9;

pghealthd::model::TableIo io(std::string name, std::int64_t read, std::int64_t hit) {
  pghealthd::model::TableIo t;
  t.schemaname = "public";
  t.relname = std::move(name);
  t.heap_blks_read = read;
  t.heap_blks_hit = hit;
  t.idx_blks_read = 0;
  t.idx_blks_hit = 0;
  return t;
}

const Section& section(const pghealthd::report::DatabaseReport& r, const std::string& title) {
  for (const auto& s : r.sections)
    if (s.title == title) return s;
  FAIL("no section " << title);
  return r.sections.front();
}

Row row(Status status, std::vector<std::string> cells, std::string note) {
  Row r;
  r.status = status;
  r.cells = std::move(cells);
  r.note = std::move(note);
  return r;
}

pghealthd::model::LogEntry entry(double at, std::string table, std::string action, std::string result,
                                 std::string reason) {
  pghealthd::model::LogEntry e;
  e.at_unix = at;
  e.schema = "public";
  e.table = std::move(table);
  e.action = std::move(action);
  e.result = std::move(result);
  e.reason = std::move(reason);
  return e;
}

}  // namespace

TEST_CASE(
    "the attention list: one row per table with every section's reason, its numbers from every section, "
    "worst first, index bloat left to the index sections",
    "[daemon_view]") {
  std::vector<Section> sections(3);
  sections[0].title = "Dead tuples";
  sections[0].columns = {"table", "live", "dead", "dead %", "status"};
  sections[0].rows = {
      row(Status::kCritical, {"(server)", "-", "-", "-", "CRITICAL"}, "autovacuum is off"),
      row(Status::kCritical, {"orders", "100", "50", "33.33%", "CRITICAL"}, "dead rows above 20%"),
      row(Status::kOk, {"cold", "100", "0", "0.00%", "OK"}, "no dead rows"),
      row(Status::kOk, {"fine", "100", "0", "0.00%", "OK"}, "no dead rows")};
  sections[1].title = "Cache hit ratio";
  sections[1].columns = {"table", "disk reads", "cache hits", "hit %", "status"};
  sections[1].rows = {
      row(Status::kWarning, {"cold", "900", "100", "10.00%", "WARNING"}, "hit ratio below 95%"),
      row(Status::kWarning, {"orders", "60", "940", "94.00%", "WARNING"}, "hit ratio below 95%")};
  sections[2].title = "Bloat";
  sections[2].columns = {"table", "index", "method", "wasted %", "wasted", "size", "status"};
  sections[2].rows = {row(Status::kWarning,
                          {"fine", "fine_pkey", "estimate", "80.00%", "2 GiB", "3 GiB", "WARNING"},
                          "REINDEX it")};

  const auto s = pghealthd::report::attention_section(sections);
  REQUIRE(s.rows.size() == 2);  // "fine" only has a bloated index: the index sections say so
  CHECK(s.rows[0].cells[0] == "orders");
  CHECK(s.rows[0].status == Status::kCritical);
  CHECK(s.rows[0].cells[1] == "33.33%");
  CHECK(s.rows[0].cells[3] == "94.00%");
  CHECK(s.rows[0].cells.back() == "CRITICAL");
  CHECK(s.rows[0].note == "Dead tuples: dead rows above 20%; Cache hit ratio: hit ratio below 95%");
  CHECK(s.rows[1].cells[0] == "cold");
  CHECK(s.rows[1].status == Status::kWarning);
  CHECK(s.rows[1].cells[1] == "0.00%");  // from its OK row of Dead tuples
  CHECK(s.rows[1].cells[5] == "-");      // no bloat number for it
  CHECK(s.columns.size() == s.rows[0].cells.size());
  // Not a table, yet not to be missed: below the list.
  CHECK(s.footnotes == std::vector<std::string>{"(server) Dead tuples: autovacuum is off"});
}

TEST_CASE(
    "the maintenance log: newest first, failures flagged, never cut by rows_per_section nor counted in the "
    "overall status",
    "[daemon_view]") {
  pghealthd::model::ActionLog log(3);
  log.add(entry(kNow - 300, "gone", "vacuum", "success", "dead ratio 7%"));  // pushed out by the fourth
  auto done = entry(kNow - 120, "orders", "vacuum", "success", "dead ratio 33% above 5%");
  done.seconds = 0.25;
  done.removed = 50;
  log.add(done);
  log.add(entry(kNow - 60, "orders", "vacuum", "skipped", "cooldown: vacuumed 1m ago"));
  log.add(entry(kNow - 5, "events", "vacuum", "not_processed", "dead ratio 9%"));

  const auto s = pghealthd::report::log_section(log, kNow);
  REQUIRE(s.rows.size() == 3);
  CHECK(s.chronological);
  CHECK(s.rows[0].cells[1] == "events");
  CHECK(s.rows[0].cells[0] == "5s ago");
  CHECK(s.rows[0].status == Status::kWarning);  // the counters did not move: nothing proven
  CHECK(s.rows[1].status == Status::kOk);
  CHECK(s.rows[2].cells ==
        std::vector<std::string>{"2m ago", "orders", "vacuum", "success", "0.250", "50", "OK"});
  CHECK(s.rows[2].note == "dead ratio 33% above 5%");

  pghealthd::report::DatabaseReport r;
  r.sections = {s};
  std::vector<pghealthd::report::DatabaseReport> reports{r};
  CHECK(pghealthd::report::overall(reports) == Status::kOk);
  pghealthd::report::limit_rows(reports, 1);
  CHECK(reports[0].sections[0].rows.size() == 3);
  CHECK(pghealthd::report::render_json(reports).find("\"chronological\":true") != std::string::npos);

  CHECK(pghealthd::report::log_section(pghealthd::model::ActionLog{}, kNow).footnotes ==
        std::vector<std::string>{"no maintenance action taken or skipped yet"});
}

TEST_CASE(
    "the daemon's view of a database: reachability, collectors, the added sections first, and the dead "
    "ratio history of each listed table",
    "[daemon_view]") {
  pghealthd::collectors::Data tables;
  tables.tables = {pghealthd::test::table_stats("orders", 1000, 500, 11),
                   pghealthd::test::table_stats("quiet", 100, 0, 12)};
  pghealthd::collectors::Data statio;
  statio.io = {io("orders", 10, 5000), io("quiet", 10, 5000)};
  pghealthd::report::Sources sources;
  sources.tables = &tables;
  sources.io = &statio;
  pghealthd::report::Thresholds page;  // as the daemon's page asks: the attention list, 50 rows kept
  page.attention_list = true;
  page.ok_rows_kept = 50;
  auto r = pghealthd::report::build("prod", "shop", sources, page, kNow);

  pghealthd::model::DeadRatioHistory history;
  auto earlier = tables.tables;
  earlier[0].dead_tuples = 100;  // 100 dead of 1100: 9.09%
  history.observe(earlier, kNow - 600);
  history.observe(tables.tables, kNow);

  pghealthd::collectors::Data horizon;
  pghealthd::model::HorizonHolder idle;
  idle.source = "transaction";
  idle.holder = "pid 42 user app state idle in transaction";
  idle.age_transactions = 5000;
  idle.age_seconds = 7200;
  horizon.horizon = {idle};
  pghealthd::collectors::Data vacuums;
  pghealthd::model::VacuumProgress v;
  v.pid = 7;
  v.schemaname = "public";
  v.relname = "orders";
  v.by = "pghealthd";
  v.phase = "scanning heap";
  v.heap_blks_total = 200;
  v.heap_blks_scanned = 50;
  v.running_seconds = 3;
  vacuums.vacuums = {v};
  pghealthd::model::ActionLog log;
  log.add(entry(kNow - 1, "orders", "vacuum", "success", "dead ratio 33% above 5%"));

  pghealthd::report::DaemonView view;
  view.now_unix = kNow;
  view.up = true;
  view.collectors = {{"stat_user_tables", kNow - 2, ""},
                     {"bloat", std::nullopt, "permission denied for table t"}};
  view.log = &log;
  view.history = &history;
  view.tables = &tables;
  view.horizon = &horizon;
  view.vacuums = &vacuums;
  pghealthd::report::add_daemon_view(r, view, page);
  pghealthd::report::attach_history(r, view);

  REQUIRE(r.sections.size() >= 4);
  CHECK(r.sections[0].title == "Tables that need attention");
  CHECK(r.sections[1].title == "Running now");
  CHECK(r.sections[2].title == "xmin horizon");
  CHECK(r.sections[3].title == "Maintenance log");
  CHECK(r.reachable == true);
  CHECK(r.error.empty());

  const auto& attention = section(r, "Tables that need attention");
  REQUIRE(attention.rows.size() == 1);
  CHECK(attention.rows[0].cells[0] == "orders");
  const auto& spark = attention.rows[0].history;
  REQUIRE(spark.size() == pghealthd::model::DeadRatioHistory::kSlots);
  REQUIRE(spark.back());
  CHECK(*spark.back() == Approx(500.0 / 1500).margin(1e-4));
  REQUIRE(spark[spark.size() - 11]);
  CHECK(*spark[spark.size() - 11] == Approx(100.0 / 1100).margin(1e-4));
  CHECK(section(r, "Dead tuples").rows[0].history.size() == pghealthd::model::DeadRatioHistory::kSlots);

  const auto& running = section(r, "Running now");
  REQUIRE(running.rows.size() == 1);
  CHECK(running.rows[0].cells ==
        std::vector<std::string>{"orders", "pghealthd", "scanning heap", "25%", "3s", "OK"});

  const auto& held = section(r, "xmin horizon");
  REQUIRE(held.rows.size() == 1);
  CHECK(held.rows[0].status == Status::kWarning);  // held for 2h, past the alert's hour
  CHECK(held.rows[0].cells[3] == "2h");
  CHECK(held.rows[0].note.find("pg_terminate_backend") != std::string::npos);
  SECTION("a holder three quarters of the way to wraparound is critical") {
    horizon.horizon[0].age_transactions = 1700000000;
    horizon.horizon[0].source = "replication_slot";
    auto old = pghealthd::report::build("prod", "shop", sources, page, kNow);
    pghealthd::report::add_daemon_view(old, view, {});
    CHECK(section(old, "xmin horizon").rows[0].status == Status::kCritical);
    CHECK(section(old, "xmin horizon").rows[0].note ==
          "79% of the way to transaction ID wraparound: no table can be frozen past it; drop or advance the "
          "slot");
  }

  const auto json = pghealthd::report::render_json({r});
  CHECK(json.find("\"reachable\":true") != std::string::npos);
  CHECK(json.find(
            "{\"name\":\"bloat\",\"last_success_unix\":null,\"error\":\"permission denied for table t\"}") !=
        std::string::npos);
  CHECK(json.find("\"dead_ratio_history\":[null,") != std::string::npos);
  CHECK(json.find(",0.3333]") != std::string::npos);

  SECTION("pghealthd's own action is listed when the progress view does not show it") {
    auto again = pghealthd::report::build("prod", "shop", sources, page, kNow);
    pghealthd::model::LogEntry reindex = entry(kNow - 90, "orders", "reindex", "", "");
    reindex.index = "orders_pkey";
    view.running = &reindex;
    pghealthd::report::add_daemon_view(again, view, {});
    const auto& now = section(again, "Running now");
    REQUIRE(now.rows.size() == 2);
    CHECK(now.rows[0].cells == std::vector<std::string>{"orders", "pghealthd", "reindex", "-", "90s", "OK"});
    CHECK(now.rows[0].note == "pghealthd's reindex of index orders_pkey");
    // Its VACUUM, which the progress view shows: listed once.
    auto vacuum = entry(kNow - 3, "orders", "vacuum", "", "");
    view.running = &vacuum;
    auto once = pghealthd::report::build("prod", "shop", sources, page, kNow);
    pghealthd::report::add_daemon_view(once, view, {});
    CHECK(section(once, "Running now").rows.size() == 1);
  }

  SECTION("an unreachable database says why, and is critical") {
    auto down = pghealthd::report::build("prod", "shop", pghealthd::report::Sources{}, {}, kNow);
    view.up = false;
    view.down_reason = "connection refused";
    pghealthd::report::add_daemon_view(down, view, {});
    CHECK(down.reachable == false);
    CHECK(down.error == "unreachable: connection refused");
    CHECK(pghealthd::report::database_status(down) == Status::kCritical);
  }
}

TEST_CASE(
    "the store keeps what the page shows of every watched database, read or not: reachability, "
    "collector errors, the last 100 log entries, each table's dead-ratio history",
    "[daemon_view]") {
  pghealthd::metrics::Store store("test");
  const pghealthd::metrics::DbKey never{"t", "never_read"}, read{"t", "read"};
  store.add_database(never);
  store.add_database(read);
  store.set_reachability(never, false, "connection refused");
  store.add_database(read).up->Set(1);
  auto snap = std::make_shared<pghealthd::metrics::Snapshot>();
  snap->tables = {pghealthd::test::table_stats("orders", 900, 100, 11)};
  store.put(read, pghealthd::collectors::Kind::kStatUserTables, snap);
  store.collector_error(read, pghealthd::collectors::Kind::kBloat, "permission denied");
  for (int i = 0; i < 150; ++i)
    store.log_action(read, entry(kNow + i, "t" + std::to_string(i), "vacuum", "success", "dead rows"));

  const auto dbs = store.databases();
  REQUIRE(dbs.size() == 2);
  CHECK(dbs[0].key.datname == "never_read");
  CHECK_FALSE(dbs[0].up);
  CHECK(dbs[0].state->down_reason == "connection refused");
  CHECK_FALSE(dbs[0].last_success[0].has_value());
  CHECK(dbs[0].snapshots[0] == nullptr);
  CHECK(dbs[1].up);
  CHECK(dbs[1].snapshots[0] == snap);
  CHECK(dbs[1].last_success[0].has_value());  // its gauge exists from the first success on
  CHECK(dbs[1].state->collector_error[static_cast<std::size_t>(pghealthd::collectors::Kind::kBloat)] ==
        "permission denied");
  const auto& log = dbs[1].state->log.entries();
  REQUIRE(log.size() == pghealthd::model::ActionLog::kDefaultCapacity);
  CHECK(log.front().table == "t50");  // the oldest 50 gave way
  CHECK(log.back().table == "t149");
  CHECK(dbs[1].state->history.tables() == 1);

  store.set_reachability(never, true, "");
  CHECK(store.databases()[0].state->down_reason.empty());
  store.remove_database(read);
  CHECK(store.databases().size() == 1);
}

TEST_CASE(
    "the page's report keeps only what it lists, yet counts every row and gives the attention list the "
    "numbers of rows it did not keep",
    "[daemon_view]") {
  pghealthd::collectors::Data tables, statio;
  for (int i = 0; i < 200; ++i) {
    tables.tables.push_back(pghealthd::test::table_stats("t" + std::to_string(i), 1000, 0, 100 + i));
    statio.io.push_back(io("t" + std::to_string(i), 10, 5000));
  }
  tables.tables.push_back(pghealthd::test::table_stats("bloated", 1000, 500, 1));
  tables.tables.push_back(pghealthd::test::table_stats("cold", 1000, 0, 2));
  statio.io.push_back(io("cold", 9000, 1000));  // 10% hits: a warning
  pghealthd::report::Sources sources;
  sources.tables = &tables;
  sources.io = &statio;
  pghealthd::report::Thresholds page;
  page.attention_list = true;
  page.ok_rows_kept = 5;
  auto r = pghealthd::report::build("t", "d", sources, page, kNow);

  const auto& dead = section(r, "Dead tuples");
  CHECK(dead.rows.size() == 6);  // the one that needs attention, and 5 others
  CHECK(dead.rows_left_out == 196);
  const auto& attention = section(r, "Tables that need attention");
  REQUIRE(attention.rows.size() == 2);
  CHECK(attention.rows[1].cells[0] == "cold");
  CHECK(attention.rows[1].cells[1] == "0.00%");  // from its Dead tuples row, which was not kept
  CHECK(attention.rows[1].cells[3] == "10.00%");

  pghealthd::report::limit_rows(r, 5);
  CHECK(section(r, "Dead tuples").footnotes ==
        std::vector<std::string>{"197 more rows not listed (0 of them need attention)"});
  // The same verdicts as a report that keeps everything (`pghealthd check`), cut afterwards.
  auto full = pghealthd::report::build("t", "d", sources, {}, kNow);
  pghealthd::report::limit_rows(full, 5);
  CHECK(section(full, "Dead tuples").footnotes == section(r, "Dead tuples").footnotes);
  CHECK(section(full, "Dead tuples").rows[0].cells == section(r, "Dead tuples").rows[0].cells);
  CHECK(section(full, "Cache hit ratio").footnotes == section(r, "Cache hit ratio").footnotes);
}
