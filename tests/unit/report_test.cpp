// pghealthd check's report (report/health_report.h): the status rules of its sections (freeze age, autovacuum,
// tuning, bloat), worst first.
#include <catch2/catch.hpp>

#include <string>

#include "report/health_report.h"
#include "support/table_stats.h"

using pghealthd::report::Status;

namespace {

pghealthd::model::FreezeAge table(std::string name, std::int64_t xid_age, std::int64_t mxid_age,
                                  std::int64_t freeze_max_age = 200000000) {
  pghealthd::model::FreezeAge t;
  t.schemaname = "public";
  t.relname = std::move(name);
  t.xid_age = xid_age;
  t.mxid_age = mxid_age;
  t.freeze_max_age = freeze_max_age;
  return t;
}

const pghealthd::report::Section& section(const pghealthd::report::DatabaseReport& r, const std::string& title) {
  for (const auto& s : r.sections)
    if (s.title == title) return s;
  FAIL("no section " << title);
  return r.sections.front();
}

}  // namespace

TEST_CASE("check: freeze age is OK when young, due at 1, a warning past 1.5 or half way to wraparound, "
          "critical at three quarters", "[report]") {
  pghealthd::collectors::Data data;
  data.freeze = {
      table("young", 1000, 10),
      table("due", 210000000, 10),                  // 1.05: autovacuum's job, nothing wrong yet
      table("overdue", 150000, 10, 100000),          // 1.5 of its own reloption
      table("half_way", 1100000000, 10),             // 51% of 2^31
      table("multixacts", 1000, 1700000000),         // 79% of 2^31 in multixacts
  };
  data.databases = {{"app", 1700000000, 5}, {"other", 1900000000, 5}};
  const auto r = pghealthd::report::build("t", "app", data, {}, 0);
  const auto& s = section(r, "Freeze age");
  REQUIRE(s.rows.size() == 6);  // this database (not the other one) and its five tables
  // Worst first: the two critical rows, then the warnings, then the OK ones by due ratio.
  CHECK(s.rows[0].status == Status::kCritical);
  CHECK(s.rows[1].status == Status::kCritical);
  CHECK(((s.rows[0].cells[0] == "multixacts" && s.rows[1].cells[0] == "(database app)") ||
         (s.rows[1].cells[0] == "multixacts" && s.rows[0].cells[0] == "(database app)")));
  CHECK(s.rows[2].cells[0] == "half_way");
  CHECK(s.rows[2].status == Status::kWarning);
  CHECK(s.rows[3].cells[0] == "overdue");
  CHECK(s.rows[3].status == Status::kWarning);
  CHECK(s.rows[3].cells[3] == "100000");
  CHECK(s.rows[3].cells[4] == "1.50");
  CHECK(s.rows[4].cells[0] == "due");
  CHECK(s.rows[4].status == Status::kOk);
  CHECK(s.rows[4].note == "anti-wraparound autovacuum is due");
  CHECK(s.rows[5].cells[0] == "young");
  CHECK(s.rows[5].status == Status::kOk);
  CHECK(pghealthd::report::overall({r}) == Status::kCritical);
  CHECK(pghealthd::report::render_text({r}).find("Freeze age (4 of 6 need attention)") != std::string::npos);
}

namespace {

pghealthd::model::TableStats stats(std::string name, std::int64_t live, std::int64_t dead) {
  return pghealthd::test::table_stats(std::move(name), live, dead);
}

const pghealthd::report::Row& row_of(const pghealthd::report::Section& s, const std::string& table) {
  for (const auto& r : s.rows)
    if (r.cells.at(0) == table) return r;
  FAIL("no row " << table);
  return s.rows.front();
}

}  // namespace

TEST_CASE("check tells the truth about autovacuum: off for a table with dead rows, off on the server, real reasons",
          "[report]") {
  pghealthd::collectors::Data data;
  auto off = stats("off_piling", 700, 300);  // 30% dead, autovacuum disabled for the table
  off.autovacuum.edit().enabled = off.autovacuum.edit().table_enabled = false;
  auto off_mild = stats("off_mild", 900, 100);  // 10%: past the warning, not the critical ratio
  off_mild.autovacuum.edit().enabled = off_mild.autovacuum.edit().table_enabled = false;
  auto few = stats("few_dead", 10, 50);          // 83% dead but only 50 rows
  auto inserts = stats("insert_only", 10000, 0);  // inserts since the last vacuum: twice the insert trigger
  inserts.ins_since_vacuum = 6000;                // threshold 1000 + 0.2 x 10000 = 3000
  data.tables = {off, off_mild, few, inserts};
  pghealthd::report::Thresholds t;
  auto r = pghealthd::report::build("t", "d", data, t, 1.7e9);
  const auto& av = section(r, "Autovacuum");
  CHECK(row_of(av, "off_piling").status == Status::kCritical);
  CHECK(row_of(av, "off_piling").note == "autovacuum is off for the table and 30.00% of its rows are dead");
  CHECK(row_of(av, "off_mild").status == Status::kWarning);
  CHECK(row_of(av, "insert_only").status == Status::kWarning);
  CHECK(row_of(av, "insert_only").note ==
        "autovacuum is late: 6000 rows inserted since the last vacuum, twice the insert threshold of 3000");
  CHECK(row_of(av, "insert_only").cells.at(4) == "2.00");
  CHECK(row_of(section(r, "Dead tuples"), "few_dead").note == "50 dead rows, below min_dead_tuples 100");
  CHECK(row_of(section(r, "Dead tuples"), "few_dead").status == Status::kOk);
  for (const auto& row : av.rows) CHECK(row.cells.at(0) != "(server)");

  // The server's autovacuum (or track_counts) off: one CRITICAL row first, every table says why.
  for (auto& x : data.tables) x.autovacuum.edit().enabled = x.autovacuum.edit().server_enabled = false;
  r = pghealthd::report::build("t", "d", data, t, 1.7e9);
  const auto& server = section(r, "Autovacuum");
  REQUIRE_FALSE(server.rows.empty());
  CHECK(server.rows.front().cells.at(0) == "(server)");
  CHECK(server.rows.front().status == Status::kCritical);
  CHECK(row_of(server, "few_dead").cells.at(1) == "server off");
  CHECK(pghealthd::report::overall({r}) == Status::kCritical);
}

TEST_CASE("check's Autovacuum tuning section: advice from the dead rows now, worst first, with the SQL",
          "[report]") {
  pghealthd::collectors::Data data;
  auto big = stats("big_churn", 1000000, 250000);    // 20% dead: default settings let it get there
  auto bigger = stats("bigger_churn", 2000000, 800000);  // 28.6%
  auto tuned = stats("tuned", 1000000, 30000);        // 2.9%: nothing to say
  auto small = stats("small", 1000, 900);              // the base threshold decides
  big.reloptions = "{autovacuum_vacuum_scale_factor=0.2}";  // a DBA's own value: the undo sets it back
  data.tables = {big, bigger, tuned, small};
  pghealthd::report::Thresholds t;
  const auto r = pghealthd::report::build("t", "d", data, t, 1.7e9);
  const auto& s = section(r, "Autovacuum tuning");
  REQUIRE(s.rows.size() == 2);
  CHECK(s.rows[0].cells.at(0) == "bigger_churn");  // worst first
  CHECK(s.rows[1].cells.at(0) == "big_churn");
  CHECK_THAT(s.rows[1].note, Catch::Matchers::Contains("no history"));
  CHECK_THAT(s.rows[1].note, Catch::Matchers::Contains("ALTER TABLE \"public\".\"big_churn\" SET (autovacuum_vacuum_scale_factor = "));
  CHECK_THAT(s.rows[1].note, Catch::Matchers::Contains("SET (autovacuum_vacuum_scale_factor = 0.2)"));
}

namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

// A relation of `pages` 8 KiB pages whose estimate says `ratio` of them are wasted.
pghealthd::model::RelationBloat bloated(std::string relname, std::string indexrelname, double pages, double ratio) {
  pghealthd::model::RelationBloat b;
  b.schemaname = "public";
  b.relname = std::move(relname);
  b.indexrelname = std::move(indexrelname);
  b.index = !b.indexrelname.empty();
  b.shape.relpages = pages;
  b.estimate.ratio = ratio;
  b.estimate.wasted_bytes = ratio * pages * 8192;
  b.estimate.expected_pages = pages * (1 - ratio);
  return b;
}

pghealthd::model::RelationBloat unestimated(std::string relname, pghealthd::model::Unestimated why) {
  auto b = bloated(std::move(relname), "", 1000, 0);
  b.estimate = {};
  b.estimate.unestimated = why;
  return b;
}

}  // namespace

TEST_CASE("check's Bloat section: the worst wasted bytes first, an exact reading where there is one, a warning "
          "past half and 1 GiB, at most ten rows, unestimated ones counted with a hint",
          "[report]") {
  using pghealthd::model::Unestimated;
  pghealthd::collectors::Data data;
  const double pages_of_4gib = 4 * kGiB / 8192;
  data.bloat.push_back(bloated("orders", "", pages_of_4gib, 0.6));          // 2.4 GiB and 60%: a warning
  data.bloat.push_back(bloated("events", "", pages_of_4gib, 0.3));          // 1.2 GiB but 30%: OK
  data.bloat.push_back(bloated("tiny", "", 1000, 0.95));                    // 95% of 7.8 MiB: OK
  auto by_expression = bloated("orders", "orders_lower_email", pages_of_4gib / 2, 0);
  by_expression.estimate = {};
  by_expression.estimate.unestimated = Unestimated::kExpressionIndex;
  by_expression.exact = pghealthd::model::ExactBloat{0.75, 1.5 * kGiB, 1.7e9 - 7200};  // exact wins
  data.bloat.push_back(by_expression);
  auto excluding = bloated("rooms", "rooms_during_excl", pages_of_4gib, 0.55);
  excluding.exclusion = true;
  data.bloat.push_back(excluding);
  for (int i = 0; i < 12; ++i) data.bloat.push_back(bloated("small_" + std::to_string(i), "", 100, 0.1));
  data.bloat.push_back(unestimated("new_a", Unestimated::kNeverAnalyzed));
  data.bloat.push_back(unestimated("new_b", Unestimated::kNeverAnalyzed));
  data.bloat.push_back(unestimated("hidden", Unestimated::kNoStatistics));
  data.bloat.push_back(unestimated("lower_idx", Unestimated::kExpressionIndex));

  const auto r = pghealthd::report::build("t", "d", data, {}, 1.7e9);
  const auto& s = section(r, "Bloat");
  REQUIRE(s.columns == std::vector<std::string>{"table", "index", "method", "wasted %", "wasted", "size", "status"});
  REQUIRE(s.rows.size() == 10);
  // The three warnings by wasted bytes, then the rest by wasted bytes.
  CHECK(s.rows[0].cells == std::vector<std::string>{"orders", "-", "estimate", "60.00%", "2.4 GiB", "4.0 GiB", "WARNING"});
  CHECK_THAT(s.rows[0].note, Catch::Matchers::Contains("VACUUM FULL") && Catch::Matchers::Contains("pg_repack"));
  CHECK(s.rows[1].cells == std::vector<std::string>{"rooms", "rooms_during_excl", "estimate", "55.00%", "2.2 GiB",
                                                    "4.0 GiB", "WARNING"});
  CHECK_THAT(s.rows[1].note, Catch::Matchers::Contains("REINDEX INDEX \"public\".\"rooms_during_excl\" (blocks writes"));
  CHECK(s.rows[2].cells == std::vector<std::string>{"orders", "orders_lower_email", "exact", "75.00%", "1.5 GiB",
                                                    "2.0 GiB", "WARNING"});
  CHECK(s.rows[2].note == "1.5 GiB of it wasted: REINDEX INDEX CONCURRENTLY \"public\".\"orders_lower_email\" rebuilds "
                          "it without blocking writes; measured 2h ago");
  CHECK(s.rows[3].cells.at(0) == "events");
  CHECK(s.rows[3].status == Status::kOk);
  CHECK(s.rows[3].note == "below 50% wasted");
  CHECK(s.rows[4].cells.at(0) == "tiny");
  CHECK(s.rows[4].note == "below 1.0 GiB wasted");
  CHECK(s.rows[5].cells.at(0).rfind("small_", 0) == 0);
  // Seven of the small ones left out, and the unestimated ones (an exact reading makes one estimated).
  REQUIRE(s.footnotes.size() == 4);
  CHECK(s.footnotes[0] == "... and 7 more relations with less wasted");
  CHECK(s.footnotes[1] == "2 relations not estimated, never_analyzed: never analyzed, pg_stats has nothing on them: "
                          "ANALYZE them");
  CHECK_THAT(s.footnotes[2], Catch::Matchers::StartsWith("1 relation not estimated, no_statistics: the role cannot read"));
  CHECK_THAT(s.footnotes[3], Catch::Matchers::StartsWith("1 relation not estimated, expression_index: ") &&
                                 Catch::Matchers::Contains("only the exact method"));
  CHECK(pghealthd::report::overall({r}) == Status::kWarning);

  const auto text = pghealthd::report::render_text({r});
  INFO(text);
  const auto at = text.find("Bloat (3 of 10 need attention)");
  REQUIRE(at != std::string::npos);
  CHECK(text.find("... and 7 more relations with less wasted", at) != std::string::npos);
  CHECK(text.find("2 relations not estimated, never_analyzed", at) != std::string::npos);
  CHECK(text.find("more OK", at) == std::string::npos);  // all ten rows shown
  CHECK(text.find("small_", at) != std::string::npos);
  CHECK(pghealthd::report::render_json({r}).find(
            "\"footnotes\":[\"... and 7 more relations with less wasted\",\"2 relations not estimated") !=
        std::string::npos);
}

TEST_CASE("check's Bloat section: warnings left out of the list are counted, and a database with no "
          "relations has no Bloat section",
          "[report]") {
  pghealthd::collectors::Data data;
  for (int i = 0; i < 12; ++i) data.bloat.push_back(bloated("big_" + std::to_string(i), "", 4 * kGiB / 8192, 0.6 + 0.01 * i));
  pghealthd::report::Thresholds t;
  auto r = pghealthd::report::build("t", "d", data, t, 1.7e9);
  const auto& s = section(r, "Bloat");
  REQUIRE(s.rows.size() == 10);
  CHECK(s.rows.front().cells.at(0) == "big_11");
  CHECK(s.footnotes == std::vector<std::string>{"... and 2 more relations with less wasted, 2 of them above the thresholds"});

  // Thresholds are the report's: below them nothing needs attention.
  t.bloat_bytes_warning = 16 * kGiB;
  r = pghealthd::report::build("t", "d", data, t, 1.7e9);
  CHECK(pghealthd::report::overall({r}) == Status::kOk);

  r = pghealthd::report::build("t", "d", pghealthd::collectors::Data{}, t, 1.7e9);
  for (const auto& x : r.sections) CHECK(x.title != "Bloat");
}

TEST_CASE("a report built from each collector's own snapshot is the report of one collection of them all",
          "[report]") {
  // The daemon keeps one snapshot per collector (/status.json); check collects all into one Data.
  pghealthd::collectors::Data all, tables, freeze;
  tables.tables = {stats("bloated", 700, 300), stats("clean", 1000, 0)};
  freeze.freeze = {table("bloated", 1000, 10), table("clean", 5000, 10)};
  all.tables = tables.tables;
  all.freeze = freeze.freeze;
  pghealthd::report::Thresholds t;
  pghealthd::report::Sources sources;
  sources.tables = &tables;
  sources.freeze = &freeze;
  const auto from_snapshots = pghealthd::report::build("t", "d", sources, t, 1.7e9);
  const auto from_one = pghealthd::report::build("t", "d", all, t, 1.7e9);
  CHECK(pghealthd::report::render_json({from_snapshots}) == pghealthd::report::render_json({from_one}));
  CHECK(section(from_snapshots, "Dead tuples").rows.front().cells.at(0) == "bloated");

  // A collector that has not succeeded yet gives its sections nothing, and the others stand.
  sources.freeze = nullptr;
  const auto without_freeze = pghealthd::report::build("t", "d", sources, t, 1.7e9);
  for (const auto& s : without_freeze.sections) CHECK(s.title != "Freeze age");
  CHECK(section(without_freeze, "Dead tuples").rows.size() == 2);
  const auto nothing = pghealthd::report::build("t", "d", pghealthd::report::Sources{}, t, 1.7e9);
  CHECK(pghealthd::report::overall({nothing}) == Status::kOk);
}

TEST_CASE("limit_rows keeps each section's worst rows and counts the rest, and the overall status stays",
          "[report]") {
  pghealthd::collectors::Data data;
  for (int i = 0; i < 30; ++i) data.tables.push_back(stats("t" + std::to_string(i), 1000, i < 4 ? 300 : 0));
  pghealthd::report::Thresholds t;
  std::vector<pghealthd::report::DatabaseReport> reports{pghealthd::report::build("t", "d", data, t, 1.7e9)};
  const auto before = pghealthd::report::overall(reports);
  REQUIRE(before == Status::kCritical);
  pghealthd::report::limit_rows(reports, 3);
  const auto& dead = section(reports[0], "Dead tuples");
  REQUIRE(dead.rows.size() == 3);
  for (const auto& row : dead.rows) CHECK(row.status == Status::kCritical);  // the worst are kept
  REQUIRE_FALSE(dead.footnotes.empty());
  CHECK(dead.footnotes.back() == "27 more rows not listed (1 of them need attention)");
  CHECK(pghealthd::report::overall(reports) == before);
}
