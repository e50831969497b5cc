// The collectors' parsers on plain text rows (what libpq hands over), and the collectors' process functions
// that turn rows into a Snapshot with rendered series.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "pg/rows.h"
#include "support/table_rows.h"
#include "collectors/freeze.h"
#include "collectors/sequences.h"
#include "collectors/stat_user_indexes.h"
#include "collectors/stat_user_tables.h"
#include "collectors/statio_user_tables.h"
#include "collectors/vacuum_progress.h"
#include "metrics/exposition.h"
#include "metrics/snapshot.h"

namespace {

using Catch::Matchers::Contains;
using pghealthd::pg::TextRows;
using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

// Columns and rows, in the shape of a server's answer; `without` drops a column to fake a changed view.
struct Answer {
  std::vector<std::string> columns;
  std::vector<Row> rows;

  [[nodiscard]] Answer without(const std::string& column) const {
    Answer out = *this;
    const auto at = std::find(out.columns.begin(), out.columns.end(), column);
    REQUIRE(at != out.columns.end());
    const auto index = at - out.columns.begin();
    out.columns.erase(at);
    for (auto& r : out.rows) r.erase(r.begin() + index);
    return out;
  }
  // Replaces the cell of `column` in row `row` (0-based).
  [[nodiscard]] Answer with(std::size_t row, const std::string& column, Cell value) const {
    Answer out = *this;
    const auto at = std::find(out.columns.begin(), out.columns.end(), column);
    REQUIRE(at != out.columns.end());
    out.rows.at(row).at(static_cast<std::size_t>(at - out.columns.begin())) = std::move(value);
    return out;
  }
  [[nodiscard]] TextRows text_rows() const { return TextRows(columns, rows); }
  // For stat_user_tables: the settings in their own row (support/table_rows.h).
  [[nodiscard]] TextRows table_rows() const { return pghealthd::test::table_rows(columns, rows); }
};

// One table in the column order of kStatUserTablesSql, every value distinct so a swapped column shows.
Answer stat_user_tables_answer() {
  return {{"relid", "relkind", "relpersistence", "parent_relid", "reltuples", "reloptions", "av_on", "av_threshold",
           "av_scale_factor", "schemaname", "relname", "n_live_tup", "n_dead_tup", "n_mod_since_analyze",
           "seq_scan", "has_indexes", "last_vacuum", "last_autovacuum", "last_analyze", "last_autoanalyze",
           "vacuum_count", "autovacuum_count", "analyze_count", "autoanalyze_count", "last_seq_scan",
           "total_vacuum_time", "total_autovacuum_time", "total_analyze_time", "total_autoanalyze_time",
           "heap_bytes", "av_max_threshold", "av_insert_threshold", "av_insert_scale_factor",
           "av_analyze_threshold", "av_analyze_scale_factor", "av_cost_limit", "av_cost_delay", "relpages", "relallfrozen", "n_ins_since_vacuum",
           "toast_bytes"},
          {{"16390", "r", "p", "16385", "950", "{fillfactor=70,autovacuum_vacuum_threshold=10}", "t", "60", "0.15",
            "public", "Message", "900", "100", "42", "7", "t", "1700000001.5", "1700000002.25", "1700000003",
            "1700000004.125", "1", "2", "3", "4", "1700000005.5", "1500.25", "2500.5", "300", "400",
            "8192", "100000000", "1000", "0.2", "50", "0.1", "400", "20", "1", "0", "33", "0"}}};
}

// A table with TOAST, in the shape of kStatioUserTablesSql: its row, then one row per index of the table
// (two) and of its TOAST table (one), which the parser sums per relation.
Answer statio_user_tables_answer() {
  return {{"scope", "relid", "toast_relid", "schemaname", "relname", "blks_read", "blks_hit", "toast_blks_read",
           "toast_blks_hit"},
          {{"t", "16390", "16393", "public", "Message", "10", "90", "12", "92"},
           {"i", "16390", std::nullopt, std::nullopt, std::nullopt, "5", "40", std::nullopt, std::nullopt},
           {"i", "16390", std::nullopt, std::nullopt, std::nullopt, "6", "51", std::nullopt, std::nullopt},
           {"i", "16393", std::nullopt, std::nullopt, std::nullopt, "13", "93", std::nullopt, std::nullopt}}};
}

// In the column order of stat_user_indexes_sql: one index, then the database's statistics row.
Answer stat_user_indexes_answer() {
  return {{"scope", "indexrelid", "version", "idx_scan", "idx_tup_read", "idx_tup_fetch", "last_idx_scan",
           "size_bytes", "valid", "building", "relid", "schemaname", "relname", "indexrelname",
           "enforces_constraint", "is_unique", "replica_identity", "access_method", "columns", "key_columns",
           "opclasses", "collations", "column_options", "options", "expressions", "predicate", "constraint_name",
           "parent_index", "stats_reset", "server_now", "transactions", "catalog"},
          {{"i", "16400", "-7311", "5", "6", "7", "1700000100.25", "16384", "t", "f", "16384", "public", "Message",
            "Message_pkey", "t", "t", "f", "btree", "1", "1", "1978", "0", "0", "", "", "", "Message_pkey", "",
            std::nullopt, std::nullopt, std::nullopt, std::nullopt},
           {"d", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
            "f", "f", std::nullopt, "", "", "", "f", "f", "f", "", "", std::nullopt, "", "", "", "", "", "", "", "",
            "1700000000.5", "1700086400.5", "42", "-81234567890"}}};
}

// The light statement's answer (stat_user_indexes_light_sql) for the same index, with other counters.
Answer stat_user_indexes_light_answer() {
  return {{"scope", "indexrelid", "version", "idx_scan", "idx_tup_read", "idx_tup_fetch", "last_idx_scan",
           "size_bytes", "valid", "building", "stats_reset", "server_now", "transactions", "catalog"},
          {{"i", "16400", "-7311", "15", "16", "17", "1700000200.5", "24576", "t", "f", std::nullopt, std::nullopt,
            std::nullopt, std::nullopt},
           {"d", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
            "f", "f", "1700000000.5", "1700086500.5", "50", "-81234567890"}}};
}

// parse_stat_user_indexes into a fresh Data: the error ("" on success) and what it filled.
std::pair<std::string, pghealthd::collectors::Data> parse_indexes(const Answer& answer) {
  pghealthd::collectors::Data data;
  auto error = pghealthd::collectors::parse_stat_user_indexes(answer.text_rows(), data);
  return {std::move(error), std::move(data)};
}

// One manual VACUUM in the column order of kVacuumProgressSql, scanning its heap.
Answer vacuum_progress_answer() {
  return {{"pid", "schemaname", "relname", "phase", "heap_blks_total", "heap_blks_scanned", "backend_type",
           "application_name", "running_seconds"},
          {{"4242", "public", "Message", "scanning heap", "2000", "500", "client backend", "psql", "12.5"}}};
}

}  // namespace

// --- parse_stat_user_tables -----------------------------------------------------------------------------

TEST_CASE("stat_user_tables: every column lands in its field", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer().table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  const auto& t = parsed.rows[0];
  CHECK(t.schemaname == "public");
  CHECK(t.relname == "Message");
  CHECK(t.live_tuples == 900);
  CHECK(t.dead_tuples == 100);
  CHECK(t.mod_since_analyze == 42);
  CHECK(t.seq_scans == 7);
  CHECK(t.has_indexes);
  CHECK_FALSE(t.index_scans.has_value());  // summed from the indexes' counts (attach_index_scans)
  CHECK(t.last_vacuum == 1700000001.5);
  CHECK(t.last_autovacuum == 1700000002.25);
  CHECK(t.last_analyze == 1700000003.0);
  CHECK(t.last_autoanalyze == 1700000004.125);
  CHECK(t.vacuum_count == 1);
  CHECK(t.autovacuum_count == 2);
  CHECK(t.analyze_count == 3);
  CHECK(t.autoanalyze_count == 4);
  CHECK(t.size_bytes == 8192);
  CHECK(t.relid == 16390);
  CHECK(t.relkind == 'r');
  CHECK_FALSE(t.temporary);
  CHECK(t.parent_relid == 16385);
  CHECK(t.reltuples == 950.0);
  // The server's settings (av_*), with the table's reloptions over them.
  CHECK(t.autovacuum->enabled);
  CHECK(t.autovacuum->base_threshold == 10.0);
  CHECK(t.autovacuum->scale_factor == 0.15);
  CHECK(t.autovacuum->max_threshold == 100000000.0);
  CHECK(t.autovacuum->insert_threshold == 1000.0);
  CHECK(t.autovacuum->insert_scale_factor == 0.2);
  CHECK(t.autovacuum->analyze_threshold == 50.0);
  CHECK(t.autovacuum->analyze_scale_factor == 0.1);
  CHECK(t.autovacuum->cost_limit == 400);  // autovacuum_vacuum_cost_limit, or vacuum_cost_limit for -1
  CHECK(t.autovacuum->cost_delay_ms == 20);
  CHECK(t.autovacuum->server_enabled);
  CHECK(t.autovacuum->table_enabled);
  CHECK(t.relpages == 1.0);
  CHECK(t.relallfrozen == 0.0);
  CHECK(t.ins_since_vacuum == 33);
}

TEST_CASE("stat_user_tables: without reloptions the server's autovacuum settings apply", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "reloptions", std::nullopt).table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  const auto& t = parsed.rows[0];
  CHECK(t.autovacuum->enabled);
  CHECK(t.autovacuum->base_threshold == 60.0);
  CHECK(t.autovacuum->scale_factor == 0.15);
}

TEST_CASE("stat_user_tables: the tables without reloptions share one copy of the server's settings", "[parse]") {
  auto answer = stat_user_tables_answer().with(0, "reloptions", std::nullopt);
  answer.rows.push_back(answer.rows[0]);
  answer.rows.push_back(answer.rows[0]);
  answer = answer.with(1, "relid", "16391").with(2, "relid", "16392").with(2, "reloptions", "{autovacuum_vacuum_threshold=10}");
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(answer.table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 3);
  CHECK(&*parsed.rows[0].autovacuum == &*parsed.rows[1].autovacuum);  // 80 bytes once, not per table
  CHECK(parsed.rows[1].autovacuum->base_threshold == 60.0);
  CHECK(parsed.rows[2].autovacuum->base_threshold == 10.0);           // its own
  CHECK(parsed.rows[0].autovacuum->base_threshold == 60.0);           // which changed no other's
}

TEST_CASE("stat_user_tables: autovacuum is off when the server's or the table's setting says so", "[parse]") {
  const auto server_off = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "av_on", "f").table_rows());
  REQUIRE(server_off.ok());
  CHECK_FALSE(server_off.rows.at(0).autovacuum->enabled);
  const auto table_off = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "reloptions", "{autovacuum_enabled=false}").table_rows());
  REQUIRE(table_off.ok());
  CHECK_FALSE(table_off.rows.at(0).autovacuum->enabled);
}

TEST_CASE("stat_user_tables: a table that is not a partition has no parent", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer()
                                                                        .with(0, "parent_relid", std::nullopt)
                                                                        .with(0, "relkind", "p")
                                                                        .with(0, "reltuples", "-1")
                                                                        .table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  CHECK_FALSE(parsed.rows[0].parent_relid.has_value());
  CHECK(parsed.rows[0].relkind == 'p');
  CHECK(parsed.rows[0].reltuples == -1.0);
}

TEST_CASE("stat_user_tables: the columns of newer servers are read, and NULL on older ones is absent", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer().table_rows());
  REQUIRE(parsed.ok());
  const auto& t = parsed.rows.at(0);
  CHECK(t.last_seq_scan == 1700000005.5);
  CHECK(t.vacuum_time_ms == 1500.25);
  CHECK(t.autovacuum_time_ms == 2500.5);
  CHECK(t.analyze_time_ms == 300.0);
  CHECK(t.autoanalyze_time_ms == 400.0);
  auto older = stat_user_tables_answer();
  for (const char* c : {"last_seq_scan", "total_vacuum_time", "total_autovacuum_time", "total_analyze_time",
                        "total_autoanalyze_time"})
    older = older.with(0, c, std::nullopt);
  const auto parsed_older = pghealthd::collectors::parse_stat_user_tables(older.table_rows());
  REQUIRE(parsed_older.ok());
  CHECK_FALSE(parsed_older.rows.at(0).last_seq_scan.has_value());
  CHECK_FALSE(parsed_older.rows.at(0).vacuum_time_ms.has_value());
}

TEST_CASE("stat_user_tables: the SQL asks each version for the columns it has", "[parse]") {
  using pghealthd::collectors::stat_user_tables_sql;
  for (int v : {130023, 140019, 150014, 160010, 170006, 180004}) {
    INFO(v);
    const std::string sql(stat_user_tables_sql(v));
    CHECK((sql.find("pg_stat_get_lastscan") != std::string::npos) == (v >= 160000));
    CHECK((sql.find("pg_stat_get_total_vacuum_time") != std::string::npos) == (v >= 180000));
    // Every version answers with the same columns: one parser.
    for (const char* c : {"AS last_seq_scan", "AS total_vacuum_time", "AS total_autovacuum_time",
                          "AS total_analyze_time", "AS total_autoanalyze_time"})
      CHECK(sql.find(c) != std::string::npos);
    CHECK(sql.find("@VERSIONED@") == std::string::npos);
  }
}

TEST_CASE("stat_user_tables: relpersistence t marks a session's temporary table", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "relpersistence", "t").with(0, "schemaname", "pg_temp_3").table_rows());
  REQUIRE(parsed.ok());
  CHECK(parsed.rows.at(0).temporary);
  const auto unlogged = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "relpersistence", "u").table_rows());
  REQUIRE(unlogged.ok());
  CHECK_FALSE(unlogged.rows.at(0).temporary);
}

TEST_CASE("stat_user_tables: av_on other than t or f is an error", "[parse]") {
  const Cell value = GENERATE(Cell("on"), Cell(std::nullopt));
  const auto parsed =
      pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer().with(0, "av_on", value).table_rows());
  CHECK_FALSE(parsed.ok());
  // The settings' own row, after the table's.
  CHECK_THAT(parsed.error, Contains("row 2, column 7: expected t or f"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("stat_user_tables: columns are found by name, not by position", "[parse]") {
  auto answer = stat_user_tables_answer();
  std::reverse(answer.columns.begin(), answer.columns.end());
  std::reverse(answer.rows[0].begin(), answer.rows[0].end());
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(answer.table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  CHECK(parsed.rows[0].relname == "Message");
  CHECK(parsed.rows[0].live_tuples == 900);
  CHECK(parsed.rows[0].size_bytes == 8192);
  CHECK(parsed.rows[0].relid == 16390);
  CHECK(parsed.rows[0].autovacuum->scale_factor == 0.15);
}

TEST_CASE("stat_user_tables: idx_scan is the sum of the table's indexes' scans, as the view says", "[parse]") {
  auto answer = stat_user_tables_answer();
  answer.rows.push_back(answer.rows[0]);
  answer.rows[1][0] = "16391";
  answer.rows[1][10] = "Job";
  answer.rows.push_back(answer.with(0, "has_indexes", "f").rows[0]);
  answer.rows[2][0] = "16392";
  answer.rows[2][10] = "Lead";
  auto parsed = pghealthd::collectors::parse_stat_user_tables(answer.table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 3);
  auto index = [](std::int64_t table, std::optional<std::int64_t> scans) {
    pghealthd::model::IndexStats i;
    i.table_relid = table;
    i.scans = scans;
    return i;
  };
  SECTION("no stat_user_indexes run yet: absent everywhere") {
    pghealthd::collectors::attach_index_scans(parsed.rows, nullptr);
    for (const auto& t : parsed.rows) CHECK_FALSE(t.index_scans.has_value());
  }
  SECTION("summed per table; 0 for one whose indexes have no row (a partitioned parent's); NULL without indexes") {
    const std::vector<pghealthd::model::IndexStats> indexes{index(16390, 5), index(16390, 7), index(16392, 3),
                                                            index(16390, std::nullopt)};
    pghealthd::collectors::attach_index_scans(parsed.rows, &indexes);
    CHECK(parsed.rows[0].index_scans == 12);
    CHECK(parsed.rows[1].index_scans == 0);
    CHECK_FALSE(parsed.rows[2].index_scans.has_value());
  }
  SECTION("a broken answer's sum past a bigint stops at its end, without overflowing") {
    const std::vector<pghealthd::model::IndexStats> indexes{index(16390, 132), index(16390, INT64_MAX)};
    pghealthd::collectors::attach_index_scans(parsed.rows, &indexes);
    CHECK(parsed.rows[0].index_scans == INT64_MAX);
  }
}

TEST_CASE("stat_user_tables: the server's settings come from their own row, and without it nothing is used", "[parse]") {
  const auto answer = stat_user_tables_answer();
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(answer.table_rows());
  REQUIRE(parsed.ok());
  CHECK(parsed.rows.at(0).autovacuum->cost_limit == 400);
  // The table rows alone: refused, not read with made-up defaults.
  auto columns = answer.columns;
  columns.emplace_back("scope");
  auto only = answer.rows;
  for (auto& r : only) r.emplace_back("t");
  const auto refused = pghealthd::collectors::parse_stat_user_tables(pghealthd::pg::TextRows(columns, only));
  CHECK_FALSE(refused.ok());
  CHECK_THAT(refused.error, Contains("scope 's'"));
}

TEST_CASE("stat_user_tables: a table never vacuumed or analyzed has no timestamps", "[parse]") {
  const auto parsed =
      pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer()
                                                        .with(0, "last_vacuum", std::nullopt)
                                                        .with(0, "last_autovacuum", std::nullopt)
                                                        .with(0, "last_analyze", std::nullopt)
                                                        .with(0, "last_autoanalyze", std::nullopt)
                                                        .table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  CHECK_FALSE(parsed.rows[0].last_vacuum.has_value());
  CHECK_FALSE(parsed.rows[0].last_autovacuum.has_value());
  CHECK_FALSE(parsed.rows[0].last_analyze.has_value());
  CHECK_FALSE(parsed.rows[0].last_autoanalyze.has_value());
  CHECK(parsed.rows[0].vacuum_count == 1);
}

TEST_CASE("stat_user_tables: a missing column is named and no rows are returned", "[parse]") {
  const auto answer = stat_user_tables_answer();
  const std::string column = GENERATE_COPY(from_range(answer.columns));
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(answer.without(column).table_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("no column '" + column + "'"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("stat_user_tables: a value that is not an integer names its row and column", "[parse]") {
  const std::string value = GENERATE(as<std::string>{}, "12abc", "", "1.5", " 12", "9223372036854775808");
  auto answer = stat_user_tables_answer();
  answer.rows.push_back(answer.rows[0]);
  answer.rows[1][10] = "Other";
  // n_dead_tup is the 13th column; the second row is broken, the first is fine.
  const auto parsed =
      pghealthd::collectors::parse_stat_user_tables(answer.with(1, "n_dead_tup", value).table_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("row 2, column 13"));
  CHECK_THAT(parsed.error, Contains("expected an integer, got '" + value + "'"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("stat_user_tables: a timestamp that is not a number is an error", "[parse]") {
  const std::string value = GENERATE(as<std::string>{}, "yesterday", "NaN", "1700000000x");
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "last_analyze", value).table_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("row 1, column 19"));
  CHECK_THAT(parsed.error, Contains("expected a number"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("stat_user_tables: a NULL table name is an error", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "relname", std::nullopt).table_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("row 1, column 11"));
  CHECK_THAT(parsed.error, Contains("got NULL"));
}

TEST_CASE("stat_user_tables: extreme integers are read exactly", "[parse]") {
  const auto parsed =
      pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer()
                                                        .with(0, "seq_scan", "9223372036854775807")
                                                        .with(0, "n_dead_tup", "0")
                                                        .with(0, "n_mod_since_analyze", "-3")
                                                        .table_rows());
  REQUIRE(parsed.ok());
  CHECK(parsed.rows.at(0).seq_scans == INT64_MAX);
  CHECK(parsed.rows.at(0).dead_tuples == 0);
  CHECK(parsed.rows.at(0).mod_since_analyze == -3);
}

TEST_CASE("stat_user_tables: an answer without rows parses to no rows", "[parse]") {
  auto answer = stat_user_tables_answer();
  answer.rows.clear();
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(answer.table_rows());
  CHECK(parsed.ok());
  CHECK(parsed.rows.empty());
}

TEST_CASE("stat_user_tables: odd names pass through unchanged", "[parse]") {
  const std::string name = GENERATE(as<std::string>{}, "Message", "with \"quotes\"", "with spaces", "a.b.c",
                                    "line\nbreak", "back\\slash", "Größe_表", "");
  const std::string schema = "my schema.\"x\"";
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(
      stat_user_tables_answer().with(0, "relname", name).with(0, "schemaname", schema).table_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  CHECK(parsed.rows[0].relname == name);
  CHECK(parsed.rows[0].schemaname == schema);
}

// --- parse_statio_user_tables ---------------------------------------------------------------------------

TEST_CASE("statio_user_tables: every column lands in its field", "[parse]") {
  const auto parsed =
      pghealthd::collectors::parse_statio_user_tables(statio_user_tables_answer().text_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  const auto& t = parsed.rows[0];
  CHECK(t.schemaname == "public");
  CHECK(t.relname == "Message");
  CHECK(t.heap_blks_read == 10);
  CHECK(t.heap_blks_hit == 90);
  CHECK(t.idx_blks_read == 11);
  CHECK(t.idx_blks_hit == 91);
  CHECK(t.toast_blks_read == 12);
  CHECK(t.toast_blks_hit == 92);
  CHECK(t.tidx_blks_read == 13);
  CHECK(t.tidx_blks_hit == 93);
}

TEST_CASE("statio_user_tables: a table without TOAST or indexes has NULL columns", "[parse]") {
  auto answer = statio_user_tables_answer().with(0, "toast_relid", std::nullopt)
                    .with(0, "toast_blks_read", std::nullopt)
                    .with(0, "toast_blks_hit", std::nullopt);
  answer.rows.resize(1);  // no index rows
  // Another table's index says nothing of this one.
  answer.rows.push_back({"i", "17000", std::nullopt, std::nullopt, std::nullopt, "1", "2", std::nullopt, std::nullopt});
  const auto parsed = pghealthd::collectors::parse_statio_user_tables(answer.text_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  const auto& t = parsed.rows[0];
  CHECK(t.heap_blks_read == 10);
  CHECK(t.heap_blks_hit == 90);
  CHECK_FALSE(t.idx_blks_read.has_value());
  CHECK_FALSE(t.idx_blks_hit.has_value());
  CHECK_FALSE(t.toast_blks_read.has_value());
  CHECK_FALSE(t.toast_blks_hit.has_value());
  CHECK_FALSE(t.tidx_blks_read.has_value());
  CHECK_FALSE(t.tidx_blks_hit.has_value());
}

TEST_CASE("statio_user_tables: an index row of an unknown scope is refused", "[parse]") {
  const auto parsed =
      pghealthd::collectors::parse_statio_user_tables(statio_user_tables_answer().with(1, "scope", "x").text_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("unknown scope 'x'"));
}

TEST_CASE("stat_user_tables: heap and TOAST bytes that add up past a bigint are an error, not an overflow",
          "[parse]") {
  const auto parsed = pghealthd::collectors::parse_stat_user_tables(stat_user_tables_answer()
                                                                        .with(0, "heap_bytes", "9223372036854775807")
                                                                        .with(0, "toast_bytes", "8192")
                                                                        .table_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("heap and TOAST bytes add up past a bigint"));
}

TEST_CASE("statio_user_tables: index blocks that add up past a bigint are an error, not an overflow", "[parse]") {
  // (Found by fuzz_rows: 132 + 9223372036854775807.)
  const auto parsed = pghealthd::collectors::parse_statio_user_tables(
      statio_user_tables_answer().with(2, "blks_hit", "9223372036854775807").text_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("row 3: a table's index blocks add up past a bigint"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("statio_user_tables: a missing column is named and no rows are returned", "[parse]") {
  const auto answer = statio_user_tables_answer();
  const std::string column = GENERATE_COPY(from_range(answer.columns));
  const auto parsed = pghealthd::collectors::parse_statio_user_tables(answer.without(column).text_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("no column '" + column + "'"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("statio_user_tables: a value that is not an integer names its row and column", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_statio_user_tables(
      statio_user_tables_answer().with(0, "toast_blks_hit", "12abc").text_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("row 1, column 9: expected an integer, got '12abc'"));
  CHECK(parsed.rows.empty());
}

// --- parse_stat_user_indexes ----------------------------------------------------------------------------

TEST_CASE("stat_user_indexes: every column lands in its field, and the statistics row in its own", "[parse]") {
  const auto [error, data] = parse_indexes(stat_user_indexes_answer());
  REQUIRE(error.empty());
  REQUIRE(data.indexes.size() == 1);
  const auto& i = data.indexes[0];
  CHECK(i.indexrelid == 16400);
  CHECK(i.table_relid == 16384);
  CHECK(i.schemaname == "public");
  CHECK(i.relname == "Message");
  CHECK(i.indexrelname == "Message_pkey");
  CHECK(i.scans == 5);
  CHECK(i.tuples_read == 6);
  CHECK(i.tuples_fetched == 7);
  CHECK(i.last_scan == 1700000100.25);
  CHECK(i.size_bytes == 16384);
  CHECK(i.enforces_constraint);
  CHECK(i.unique);
  CHECK_FALSE(i.replica_identity);
  CHECK(i.valid);
  CHECK_FALSE(i.building);
  CHECK(i.access_method == "btree");
  CHECK(i.version == -7311);
  CHECK(i.constraint_name() == "Message_pkey");
  CHECK(i.redundant_kind.empty());
  REQUIRE(data.statistics.has_value());
  CHECK(data.statistics->reset_timestamp == 1700000000.5);
  CHECK(data.statistics->server_now == 1700086400.5);
  CHECK(data.statistics->transactions == 42);
}

TEST_CASE("stat_user_indexes: each index gets its redundancy verdict from its table's other indexes", "[parse]") {
  auto answer = stat_user_indexes_answer();
  Answer dup{answer.columns, {answer.rows[0]}};
  dup = dup.with(0, "indexrelid", "16401")
            .with(0, "indexrelname", "Message_id_idx")
            .with(0, "enforces_constraint", "f")  // enforces nothing
            .with(0, "is_unique", "f")
            .with(0, "constraint_name", "");
  // (id, sent_at) makes nothing redundant that is not already a duplicate
  const auto multi = dup.with(0, "indexrelid", "16402")
                         .with(0, "indexrelname", "Message_id_sent_idx")
                         .with(0, "columns", "1 3")
                         .with(0, "key_columns", "2")
                         .with(0, "opclasses", "1978 1978")
                         .with(0, "collations", "0 0")
                         .with(0, "column_options", "0 0");
  // Another table's index, identical but for its table: judged apart.
  const auto other = dup.with(0, "indexrelid", "16403").with(0, "relid", "16390").with(0, "indexrelname", "Other_id_idx");
  answer.rows.insert(answer.rows.begin() + 1, {dup.rows[0], multi.rows[0], other.rows[0]});
  const auto [error, data] = parse_indexes(answer);
  REQUIRE(error.empty());
  REQUIRE(data.indexes.size() == 4);
  CHECK(data.indexes[0].redundant_kind.empty());  // the primary key is kept
  CHECK(data.indexes[1].redundant_kind == "duplicate");
  CHECK(data.indexes[1].covered_by == "Message_pkey");
  CHECK(data.indexes[2].redundant_kind.empty());
  CHECK(data.indexes[3].redundant_kind.empty());
  // The same verdicts whatever order the rows come in.
  std::swap(answer.rows[0], answer.rows[3]);
  std::swap(answer.rows[1], answer.rows[2]);
  const auto [error2, shuffled] = parse_indexes(answer);
  REQUIRE(error2.empty());
  for (const auto& i : shuffled.indexes) {
    INFO(i.indexrelname);
    CHECK(i.redundant_kind == (i.indexrelname == "Message_id_idx" ? "duplicate" : ""));
    CHECK(i.covered_by == (i.indexrelname == "Message_id_idx" ? "Message_pkey" : ""));
  }
}

TEST_CASE("stat_user_indexes: booleans other than t or f, and definition vectors that are no numbers, are errors",
          "[parse]") {
  const Cell value = GENERATE(Cell("true"), Cell("1"), Cell(""), Cell(std::nullopt));
  const auto [error, data] = parse_indexes(stat_user_indexes_answer().with(0, "enforces_constraint", value));
  CHECK_THAT(error, Contains("row 1, column 15: expected t or f"));
  CHECK(data.indexes.empty());
  const auto [error2, data2] = parse_indexes(stat_user_indexes_answer().with(0, "columns", "1 x"));
  CHECK_THAT(error2, Contains("not a list of numbers"));
  CHECK(data2.indexes.empty());
}

TEST_CASE("stat_user_indexes: NULL counters become absent values", "[parse]") {
  const auto [error, data] = parse_indexes(stat_user_indexes_answer()
                                               .with(0, "idx_scan", std::nullopt)
                                               .with(0, "idx_tup_read", std::nullopt)
                                               .with(0, "idx_tup_fetch", std::nullopt)
                                               .with(0, "last_idx_scan", std::nullopt)
                                               .with(1, "stats_reset", std::nullopt));
  REQUIRE(error.empty());
  REQUIRE(data.indexes.size() == 1);
  CHECK_FALSE(data.indexes[0].scans.has_value());
  CHECK_FALSE(data.indexes[0].tuples_read.has_value());
  CHECK_FALSE(data.indexes[0].tuples_fetched.has_value());
  CHECK_FALSE(data.indexes[0].last_scan.has_value());
  CHECK(data.indexes[0].size_bytes == 16384);
  CHECK_FALSE(data.statistics->reset_timestamp.has_value());  // never reset
}

TEST_CASE("stat_user_indexes: a missing column is named and nothing is filled", "[parse]") {
  const auto answer = stat_user_indexes_answer();
  const std::string column = GENERATE_COPY(from_range(answer.columns));
  const auto [error, data] = parse_indexes(answer.without(column));
  CHECK_THAT(error, Contains("no column '" + column + "'"));
  CHECK(data.indexes.empty());
  CHECK_FALSE(data.statistics.has_value());
}

TEST_CASE("stat_user_indexes: odd index names pass through unchanged, an unknown scope is an error", "[parse]") {
  const std::string name = "idx \"on\" a.b\nnext ü";
  const auto [error, data] = parse_indexes(stat_user_indexes_answer().with(0, "indexrelname", name));
  REQUIRE(error.empty());
  CHECK(data.indexes.at(0).indexrelname == name);
  CHECK_THAT(parse_indexes(stat_user_indexes_answer().with(1, "scope", "x")).first, Contains("unknown scope"));
}

TEST_CASE("stat_user_indexes: a light run updates the counters of the indexes it knows, names and verdicts kept",
          "[parse]") {
  auto [error, data] = parse_indexes(stat_user_indexes_answer());
  REQUIRE(error.empty());
  data.indexes[0].redundant_kind = "duplicate";  // as a full run would have judged it
  data.indexes[0].covered_by = "Message_other";
  REQUIRE(data.statistics.has_value());
  CHECK(data.statistics->transactions == 42);
  REQUIRE(pghealthd::collectors::parse_stat_user_indexes_light(stat_user_indexes_light_answer().text_rows(), data)
              .empty());
  CHECK_FALSE(data.needs_full_run);
  REQUIRE(data.indexes.size() == 1);
  const auto& i = data.indexes[0];
  CHECK(i.scans == 15);
  CHECK(i.tuples_read == 16);
  CHECK(i.tuples_fetched == 17);
  CHECK(i.last_scan == 1700000200.5);
  CHECK(i.size_bytes == 24576);
  CHECK(i.indexrelname == "Message_pkey");
  CHECK(i.schemaname == "public");
  CHECK(i.constraint_name() == "Message_pkey");
  CHECK(i.redundant_kind == "duplicate");
  CHECK(i.covered_by == "Message_other");
  REQUIRE(data.statistics.has_value());
  CHECK(data.statistics->transactions == 50);
}

TEST_CASE("stat_user_indexes: a light run that meets a new, altered or dropped index, or another catalog, asks for a full run",
          "[parse]") {
  const auto light = stat_user_indexes_light_answer();
  auto [error, known] = parse_indexes(stat_user_indexes_answer());
  REQUIRE(error.empty());
  const auto run = [&](const Answer& answer) {
    auto data = known;
    const auto e = pghealthd::collectors::parse_stat_user_indexes_light(answer.text_rows(), data);
    CHECK(e.empty());
    return data.needs_full_run;
  };
  CHECK_FALSE(run(light));
  SECTION("altered: another version") { CHECK(run(light.with(0, "version", "-7312"))); }
  SECTION("created: an index it does not know") {
    auto more = light;
    more.rows.insert(more.rows.begin(), light.with(0, "indexrelid", "16401").rows[0]);
    CHECK(run(more));
  }
  SECTION("dropped: an index it knows is not there") {
    auto fewer = light;
    fewer.rows.erase(fewer.rows.begin());
    CHECK(run(fewer));
  }
  SECTION("no run before: nothing is known") {
    known.indexes.clear();
    CHECK(run(light));
  }
  // A table or schema renamed, a constraint added on an index: no index's own rows changed, the sum did.
  SECTION("another catalog sum") { CHECK(run(light.with(1, "catalog", "-81234567891"))); }
  SECTION("no catalog sum in the answer") { CHECK(run(light.with(1, "catalog", std::nullopt))); }
  SECTION("no catalog sum kept from the full run") {
    known.statistics->catalog.reset();
    CHECK(run(light));
  }
}

TEST_CASE("stat_user_indexes: a light answer that names an index twice is an error", "[parse]") {
  auto [error, data] = parse_indexes(stat_user_indexes_answer());
  REQUIRE(error.empty());
  auto twice = stat_user_indexes_light_answer();
  twice.rows.insert(twice.rows.begin(), twice.rows[0]);
  CHECK_THAT(pghealthd::collectors::parse_stat_user_indexes_light(twice.text_rows(), data),
             Contains("row 2: index 16400 is in the answer twice"));
  CHECK_FALSE(data.needs_full_run);
}

TEST_CASE("stat_user_indexes: a light answer with a bad or missing column is an error, not a full run", "[parse]") {
  auto [error, data] = parse_indexes(stat_user_indexes_answer());
  REQUIRE(error.empty());
  auto copy = data;
  CHECK_THAT(pghealthd::collectors::parse_stat_user_indexes_light(
                 stat_user_indexes_light_answer().with(0, "idx_scan", "many").text_rows(), copy),
             Contains("expected an integer"));
  copy = data;
  CHECK_THAT(pghealthd::collectors::parse_stat_user_indexes_light(
                 stat_user_indexes_light_answer().without("valid").text_rows(), copy),
             Contains("no column 'valid'"));
  CHECK_FALSE(copy.needs_full_run);
}

TEST_CASE("a light run starts from its previous snapshot's rows: taken when nothing else holds them, else copied",
          "[collectors]") {
  using pghealthd::collectors::Kind;
  auto first = pghealthd::metrics::parse(Kind::kStatUserIndexes, stat_user_indexes_answer().text_rows());
  REQUIRE(first.snapshot);
  std::shared_ptr<const pghealthd::metrics::Snapshot> held = first.snapshot;
  first.snapshot.reset();
  SECTION("a scrape still holds it: copied") {
    auto seed = pghealthd::metrics::take_previous(Kind::kStatUserIndexes, held);
    CHECK(seed.indexes.size() == 1);
    CHECK(held->indexes.size() == 1);  // untouched
  }
  SECTION("the last reference: moved") {
    auto seed = pghealthd::metrics::take_previous(Kind::kStatUserIndexes, std::move(held));
    REQUIRE(seed.indexes.size() == 1);
    const auto next = pghealthd::metrics::parse(Kind::kStatUserIndexes, stat_user_indexes_light_answer().text_rows(),
                                                {}, std::move(seed));
    REQUIRE(next.snapshot);
    CHECK_FALSE(next.snapshot->needs_full_run);
    CHECK(next.snapshot->indexes.at(0).scans == 15);
    CHECK(next.snapshot->indexes.at(0).indexrelname == "Message_pkey");
  }
}

// --- parse_sequences -----------------------------------------------------------------------------------

TEST_CASE("sequences: every column lands in its field, a never-called sequence has used nothing", "[parse]") {
  const Answer answer{{"page_key", "listed", "schemaname", "sequencename", "readable", "last_value", "increment",
                       "min_value", "max_value", "column_type"},
                      {{"16400", "t", "public", "orders_id_seq", "t", "2000000000", "1", "1", "9223372036854775807",
                        "integer"},
                       {"16401", "t", "public", "fresh_seq", "t", std::nullopt, "-1", "-100", "-1", ""},
                       {"16402", "f", "pg_temp_3", "other_sessions_seq", "f", std::nullopt, "1", "1", "9", ""},
                       {"16403", "t", "secret", "hidden_seq", "f", std::nullopt, "1", "1", "2147483647", "bigint"}}};
  const auto parsed = pghealthd::collectors::parse_sequences(answer.text_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 3);  // the unlisted (temporary) one is only there for paging
  CHECK(parsed.rows[0].sequencename == "orders_id_seq");
  CHECK(parsed.rows[0].last_value == 2000000000);
  CHECK(parsed.rows[0].column_type == "integer");
  CHECK(parsed.rows[0].max_value == 9223372036854775807);
  CHECK(parsed.rows[1].last_value == -1);  // descending, never called: at its start
  CHECK(*pghealthd::model::sequence_used_ratio(parsed.rows[1]) == 0.0);
  CHECK_FALSE(parsed.rows[2].readable);
  CHECK_FALSE(pghealthd::collectors::parse_sequences(answer.with(0, "increment", "one").text_rows()).ok());
}

// --- parse_vacuum_progress ----------------------------------------------------------------------------

TEST_CASE("vacuum_progress: every column lands in its field", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_vacuum_progress(vacuum_progress_answer().text_rows());
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  const auto& v = parsed.rows[0];
  CHECK(v.pid == 4242);
  CHECK(v.schemaname == "public");
  CHECK(v.relname == "Message");
  CHECK(v.phase == "scanning heap");
  CHECK(v.heap_blks_total == 2000);
  CHECK(v.heap_blks_scanned == 500);
  CHECK(v.by == "other");
  CHECK(v.running_seconds == 12.5);
}

TEST_CASE("vacuum_progress: who started it comes from the backend's type and application name", "[parse]") {
  struct Case {
    Cell backend_type, application_name;
    std::string by;
  };
  const auto c = GENERATE(values<Case>({
      {"autovacuum worker", std::nullopt, "autovacuum"},
      {"autovacuum worker", "pghealthd", "autovacuum"},  // a worker is autovacuum whatever its name
      {"client backend", "pghealthd", "pghealthd"},
      {"client backend", "psql", "other"},
      {"client backend", "", "other"},
      {"client backend", "pghealthd-test", "other"},  // the whole name, not a prefix
      {"client backend", "PGHEALTHD", "other"},
      {std::nullopt, std::nullopt, "other"},  // the backend left pg_stat_activity meanwhile
  }));
  INFO("backend_type " << c.backend_type.value_or("NULL") << ", application_name "
                       << c.application_name.value_or("NULL"));
  const auto parsed = pghealthd::collectors::parse_vacuum_progress(vacuum_progress_answer()
                                                                       .with(0, "backend_type", c.backend_type)
                                                                       .with(0, "application_name", c.application_name)
                                                                       .text_rows());
  REQUIRE(parsed.ok());
  CHECK(parsed.rows.at(0).by == c.by);
}

TEST_CASE("vacuum_progress: NULL counters and age become absent values", "[parse]") {
  const auto parsed = pghealthd::collectors::parse_vacuum_progress(vacuum_progress_answer()
                                                                       .with(0, "heap_blks_total", std::nullopt)
                                                                       .with(0, "heap_blks_scanned", std::nullopt)
                                                                       .with(0, "running_seconds", std::nullopt)
                                                                       .text_rows());
  REQUIRE(parsed.ok());
  const auto& v = parsed.rows.at(0);
  CHECK_FALSE(v.heap_blks_total.has_value());
  CHECK_FALSE(v.heap_blks_scanned.has_value());
  CHECK_FALSE(v.running_seconds.has_value());
}

TEST_CASE("vacuum_progress: nothing running parses to no rows", "[parse]") {
  auto answer = vacuum_progress_answer();
  answer.rows.clear();
  const auto parsed = pghealthd::collectors::parse_vacuum_progress(answer.text_rows());
  CHECK(parsed.ok());
  CHECK(parsed.rows.empty());
}

TEST_CASE("vacuum_progress: a missing column is named and no rows are returned", "[parse]") {
  const auto answer = vacuum_progress_answer();
  const std::string column = GENERATE_COPY(from_range(answer.columns));
  const auto parsed = pghealthd::collectors::parse_vacuum_progress(answer.without(column).text_rows());
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("the server's answer has no column '" + column + "'"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("vacuum_progress: bad values name their row and column", "[parse]") {
  {
    const auto parsed = pghealthd::collectors::parse_vacuum_progress(
        vacuum_progress_answer().with(0, "heap_blks_scanned", "lots").text_rows());
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Contains("row 1, column 6: expected an integer, got 'lots'"));
  }
  {
    const auto parsed = pghealthd::collectors::parse_vacuum_progress(
        vacuum_progress_answer().with(0, "running_seconds", "a while").text_rows());
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Contains("row 1, column 9: expected a number"));
  }
  {
    const auto parsed = pghealthd::collectors::parse_vacuum_progress(
        vacuum_progress_answer().with(0, "phase", std::nullopt).text_rows());
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Contains("row 1, column 4"));
    CHECK(parsed.rows.empty());
  }
}

TEST_CASE("vacuum_progress: hostile names pass through unchanged", "[parse]") {
  const std::string schema = "Sché\"ma\"\nx", rel = "rel \\ \"q\" ünï\n";
  const auto parsed = pghealthd::collectors::parse_vacuum_progress(
      vacuum_progress_answer().with(0, "schemaname", schema).with(0, "relname", rel).text_rows());
  REQUIRE(parsed.ok());
  CHECK(parsed.rows.at(0).schemaname == schema);
  CHECK(parsed.rows.at(0).relname == rel);
}

// --- collectors::all() and process ----------------------------------------------------------------------

namespace {

using pghealthd::collectors::Definition;
using pghealthd::collectors::Kind;

const Definition& definition_named(std::string_view name) {
  const auto& all = pghealthd::collectors::all();
  const auto it = std::find_if(all.begin(), all.end(), [&](const Definition& d) { return d.name == name; });
  REQUIRE(it != all.end());
  return *it;
}

std::string render(const pghealthd::metrics::Fragments& f) {
  std::string out;
  pghealthd::metrics::write_families(out, {&f});
  return out;
}

}  // namespace

TEST_CASE("there are eight collectors, named like their config keys", "[collectors]") {
  const auto& all = pghealthd::collectors::all();
  REQUIRE(all.size() == 8);
  CHECK(all[0].name == "stat_user_tables");
  CHECK(all[1].name == "statio_user_tables");
  CHECK(all[2].name == "stat_user_indexes");
  CHECK(all[3].name == "xmin_horizon");
  CHECK(all[4].name == "vacuum_progress");
  CHECK(all[5].name == "freeze");
  CHECK(all[6].name == "sequences");
  CHECK(all[7].name == "bloat");
  CHECK(&pghealthd::collectors::definition(Kind::kStatUserTables) == &all[0]);
  CHECK(&pghealthd::collectors::definition(Kind::kStatioUserTables) == &all[1]);
  CHECK(&pghealthd::collectors::definition(Kind::kStatUserIndexes) == &all[2]);
  CHECK(&pghealthd::collectors::definition(Kind::kXminHorizon) == &all[3]);
  CHECK(&pghealthd::collectors::definition(Kind::kVacuumProgress) == &all[4]);
  CHECK(&pghealthd::collectors::definition(Kind::kFreeze) == &all[5]);
  CHECK(&pghealthd::collectors::definition(Kind::kSequences) == &all[6]);
  CHECK(&pghealthd::collectors::definition(Kind::kBloat) == &all[7]);
  // Per-table and per-index views count against the series budget; the few per-database series do not.
  CHECK(all[0].budgeted);
  CHECK(all[1].budgeted);
  CHECK(all[2].budgeted);
  CHECK_FALSE(all[3].budgeted);
  CHECK_FALSE(all[4].budgeted);
  CHECK(all[5].budgeted);  // its per-table series; the per-database ones are never cut
  CHECK(all[6].budgeted);  // one series per sequence
  CHECK(all[7].budgeted);  // per-table and per-index bloat; the count left unestimated is per database
  for (const auto& d : all) {
    INFO(d.name);
    CHECK_THAT(std::string(d.sql(150000)), Contains("SELECT"));
    CHECK(d.parse != nullptr);
  }
}

TEST_CASE("stat_user_tables process renders the table's series", "[collectors]") {
  const auto out =
      pghealthd::metrics::process(definition_named("stat_user_tables").kind, stat_user_tables_answer().table_rows(), "t", "d", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.error.empty());
  REQUIRE(out.snapshot);
  CHECK(out.rows == 1);
  REQUIRE(out.snapshot->tables.size() == 1);
  CHECK(out.snapshot->tables[0].relname == "Message");
  CHECK(out.snapshot->io.empty());
  CHECK(out.snapshot->indexes.empty());
  const std::string text = render(out.snapshot->series);
  const std::string labels = R"({target="t",datname="d",schemaname="public",relname="Message")";
  CHECK_THAT(text, Contains("\npghealthd_table_live_tuples" + labels + "} 900\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_dead_tuples" + labels + "} 100\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_dead_tuple_ratio" + labels + "} 0.1\n"));
  // idx_scan is summed from the indexes (attach_index_scans): absent until stat_user_indexes has run.
  CHECK_THAT(text, !Contains("pghealthd_table_index_scans_total"));
  CHECK_THAT(text, Contains("\npghealthd_table_last_vacuum_timestamp_seconds" + labels +
                            R"(,kind="auto"} 1700000002.25)" + "\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_last_seq_scan_timestamp_seconds" + labels + "} 1700000005.5\n"));
  // The statistics views count time in milliseconds; exported in seconds.
  CHECK_THAT(text, Contains("\npghealthd_table_vacuum_seconds_total" + labels + R"(,kind="manual"} 1.50025)" + "\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_vacuum_seconds_total" + labels + R"(,kind="auto"} 2.5005)" + "\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_analyze_seconds_total" + labels + R"(,kind="manual"} 0.3)" + "\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_analyze_seconds_total" + labels + R"(,kind="auto"} 0.4)" + "\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_size_bytes" + labels + "} 8192\n"));
}

TEST_CASE("statio_user_tables process renders the table's series", "[collectors]") {
  const auto out =
      pghealthd::metrics::process(definition_named("statio_user_tables").kind, statio_user_tables_answer().text_rows(), "t", "d", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.error.empty());
  REQUIRE(out.snapshot);
  CHECK(out.rows == 1);
  REQUIRE(out.snapshot->io.size() == 1);
  CHECK(out.snapshot->tables.empty());
  const std::string text = render(out.snapshot->series);
  const std::string labels = R"({target="t",datname="d",schemaname="public",relname="Message")";
  CHECK_THAT(text, Contains("\npghealthd_table_blocks_hit_total" + labels + R"(,area="heap"} 90)" + "\n"));
  CHECK_THAT(text,
             Contains("\npghealthd_table_blocks_read_total" + labels + R"(,area="toast_index"} 13)" + "\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_cache_hit_ratio" + labels + "} 0.9\n"));
}

TEST_CASE("stat_user_indexes process renders the index's series", "[collectors]") {
  auto answer = stat_user_indexes_answer();
  answer.rows.push_back(answer.with(0, "indexrelid", "16401")
                            .with(0, "indexrelname", "Message_sent_at_idx")
                            .with(0, "idx_scan", "0")
                            .with(0, "size_bytes", "8192")
                            .with(0, "enforces_constraint", "f")
                            .with(0, "is_unique", "f")
                            .with(0, "columns", "3")
                            .with(0, "constraint_name", "")
                            .rows[0]);
  pghealthd::metrics::SeriesFilter filter;
  filter.unused_min_stats_age_seconds = 3600;  // the statistics are a day old
  const auto out = pghealthd::metrics::process(definition_named("stat_user_indexes").kind, answer.text_rows(), "t", "d", filter);
  REQUIRE(out.error.empty());
  REQUIRE(out.snapshot);
  CHECK(out.rows == 2);
  CHECK(out.snapshot->indexes.size() == 2);
  const std::string text = render(out.snapshot->series);
  const std::string pkey =
      R"({target="t",datname="d",schemaname="public",relname="Message",indexrelname="Message_pkey"})";
  const std::string sent =
      R"({target="t",datname="d",schemaname="public",relname="Message",indexrelname="Message_sent_at_idx"})";
  CHECK_THAT(text, Contains("\npghealthd_index_scans_total" + pkey + " 5\n"));
  CHECK_THAT(text, Contains("\npghealthd_index_unused" + pkey + " 0\n"));
  CHECK_THAT(text, Contains("\npghealthd_index_unused" + sent + " 1\n"));
  CHECK_THAT(text, Contains("\npghealthd_index_size_bytes" + sent + " 8192\n"));
}

TEST_CASE("a process function reports a parse error without a snapshot", "[collectors]") {
  for (const auto& d : pghealthd::collectors::all()) {
    INFO(d.name);
    const TextRows wrong({"schemaname", "relname"}, {{"public", "Message"}});
    const auto out = pghealthd::metrics::process(d.kind, wrong, "t", "d", pghealthd::metrics::SeriesFilter{});
    CHECK_FALSE(out.snapshot);
    CHECK_THAT(out.error, Contains("no column"));
    CHECK(out.rows == 0);
  }
}

TEST_CASE("a process function escapes odd names in labels", "[collectors]") {
  const auto answer = stat_user_tables_answer().with(0, "relname", "a \"b\"\nc\\d");
  const auto out = pghealthd::metrics::process(definition_named("stat_user_tables").kind, answer.table_rows(), "t", "d", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.snapshot);
  CHECK(out.snapshot->tables.at(0).relname == "a \"b\"\nc\\d");  // the typed row keeps the raw name
  CHECK_THAT(render(out.snapshot->series),
             Contains(R"(pghealthd_table_live_tuples{target="t",datname="d",schemaname="public",)"
                      R"(relname="a \"b\"\nc\\d"} 900)"));
}

TEST_CASE("vacuum_progress process renders each running vacuum's progress and age", "[collectors]") {
  auto answer = vacuum_progress_answer();
  answer.rows.push_back({"9", "sales", "Orders", "vacuuming indexes", "800", "800", "autovacuum worker", "", "3"});
  answer.rows.push_back({"10", "public", "audit", "scanning heap", "0", "0", "client backend", "pghealthd", "0.25"});
  const auto out = pghealthd::metrics::process(definition_named("vacuum_progress").kind, answer.text_rows(), "t", "d", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.error.empty());
  REQUIRE(out.snapshot);
  CHECK(out.rows == 3);
  CHECK(out.snapshot->vacuums.size() == 3);
  CHECK(out.snapshot->tables.empty());
  const std::string text = render(out.snapshot->series);
  const std::string manual =
      R"({target="t",datname="d",schemaname="public",relname="Message",by="other",phase="scanning heap"})";
  const std::string autovacuum =
      R"({target="t",datname="d",schemaname="sales",relname="Orders",by="autovacuum",phase="vacuuming indexes"})";
  const std::string ours =
      R"({target="t",datname="d",schemaname="public",relname="audit",by="pghealthd",phase="scanning heap"})";
  CHECK_THAT(text, Contains("\npghealthd_vacuum_progress_ratio" + manual + " 0.25\n"));
  CHECK_THAT(text, Contains("\npghealthd_vacuum_progress_seconds" + manual + " 12.5\n"));
  CHECK_THAT(text, Contains("\npghealthd_vacuum_progress_ratio" + autovacuum + " 1\n"));
  CHECK_THAT(text, Contains("\npghealthd_vacuum_progress_seconds" + autovacuum + " 3\n"));
  // heap_blks_total 0: no ratio to speak of, but the vacuum still runs and has an age.
  CHECK(text.find("pghealthd_vacuum_progress_ratio" + ours) == std::string::npos);
  CHECK_THAT(text, Contains("\npghealthd_vacuum_progress_seconds" + ours + " 0.25\n"));
  CHECK(out.snapshot->series.series == 5);
}

TEST_CASE("vacuum_progress process of no running vacuum exports nothing", "[collectors]") {
  auto answer = vacuum_progress_answer();
  answer.rows.clear();
  const auto out = pghealthd::metrics::process(definition_named("vacuum_progress").kind, answer.text_rows(), "t", "d", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.snapshot);
  CHECK(out.rows == 0);
  CHECK(out.snapshot->series.series == 0);
  CHECK(render(out.snapshot->series).empty());  // not even HELP and TYPE
}

TEST_CASE("vacuum_progress process escapes hostile names and phases in labels", "[collectors]") {
  const auto answer = vacuum_progress_answer()
                          .with(0, "schemaname", "Sché\"ma")
                          .with(0, "relname", "a \"b\"\nc\\d ünï")
                          .with(0, "phase", "odd \"phase\"\n");
  const auto out = pghealthd::metrics::process(definition_named("vacuum_progress").kind, answer.text_rows(), "t\"1", "d\\b", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.snapshot);
  CHECK(out.snapshot->vacuums.at(0).relname == "a \"b\"\nc\\d ünï");  // the typed row keeps the raw name
  const std::string labels = R"({target="t\"1",datname="d\\b",schemaname="Sché\"ma",relname="a \"b\"\nc\\d ünï",)"
                             R"(by="other",phase="odd \"phase\"\n"})";
  CHECK_THAT(render(out.snapshot->series), Contains("pghealthd_vacuum_progress_ratio" + labels + " 0.25\n"));
  CHECK_THAT(render(out.snapshot->series), Contains("pghealthd_vacuum_progress_seconds" + labels + " 12.5\n"));
}

// --- freeze ------------------------------------------------------------------------------------------------

namespace {

// Two tables and two databases in the column order of kFreezeSql.
Answer freeze_answer() {
  return {{"scope", "relid", "temporary", "schemaname", "relname", "datname", "xid_age", "mxid_age", "reloptions",
           "freeze_max_age", "multixact_freeze_max_age", "size_bytes"},
          {{"t", "16390", "f", "public", "Message", "", "150000", "12", "{autovacuum_freeze_max_age=100000}",
            "200000000", "400000000", "8192"},
           {"t", "16400", "t", "sales", "Orders", "", "1000", "300000000", std::nullopt, "200000000", "400000000",
            "16384"},
           {"d", std::nullopt, "f", "", "", "app", "150123", "300000012", std::nullopt, "200000000", "400000000",
            std::nullopt},
           {"d", std::nullopt, "f", "", "", "template0", "99", "0", std::nullopt, "200000000", "400000000",
            std::nullopt}}};
}

}  // namespace

TEST_CASE("freeze: tables and databases land in their fields, reloptions lower the max age", "[collectors]") {
  pghealthd::collectors::Data data;
  REQUIRE(pghealthd::collectors::parse_freeze(freeze_answer().text_rows(), data).empty());
  REQUIRE(data.freeze.size() == 2);
  REQUIRE(data.databases.size() == 2);
  const auto& message = data.freeze[0];
  CHECK(message.relid == 16390);
  CHECK_FALSE(message.temporary);
  CHECK(data.freeze[1].temporary);
  CHECK(message.schemaname == "public");
  CHECK(message.relname == "Message");
  CHECK(message.xid_age == 150000);
  CHECK(message.mxid_age == 12);
  CHECK(message.freeze_max_age == 100000);  // the reloption
  CHECK(message.multixact_freeze_max_age == 400000000);
  CHECK(message.size_bytes == 8192);
  CHECK(data.freeze[1].freeze_max_age == 200000000);  // no reloptions: the server's
  CHECK(data.databases[0].datname == "app");
  CHECK(data.databases[0].xid_age == 150123);
  CHECK(data.databases[0].mxid_age == 300000012);
}

TEST_CASE("freeze: a missing column or an unknown scope is an error, never a partial answer", "[collectors]") {
  pghealthd::collectors::Data data;
  CHECK_FALSE(pghealthd::collectors::parse_freeze(freeze_answer().without("xid_age").text_rows(), data).empty());
  CHECK_FALSE(pghealthd::collectors::parse_freeze(freeze_answer().with(1, "scope", "x").text_rows(), data).empty());
  CHECK_FALSE(pghealthd::collectors::parse_freeze(freeze_answer().with(0, "xid_age", "many").text_rows(), data).empty());
  CHECK(data.freeze.empty());
  CHECK(data.databases.empty());
}

TEST_CASE("freeze process renders ages, max age and due ratio per table, and every database's ages once",
          "[collectors]") {
  const auto answer = freeze_answer();
  const auto kind = definition_named("freeze").kind;
  const auto out = pghealthd::metrics::process(kind, answer.text_rows(), "t", "app", pghealthd::metrics::SeriesFilter{});
  REQUIRE(out.snapshot);
  CHECK(out.rows == 4);
  const std::string text = render(out.snapshot->series);
  const std::string message = R"({target="t",datname="app",schemaname="public",relname="Message"})";
  const std::string orders = R"({target="t",datname="app",schemaname="sales",relname="Orders"})";
  CHECK_THAT(text, Contains("\npghealthd_table_xid_age" + message + " 150000\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_mxid_age" + message + " 12\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_freeze_max_age" + message + " 100000\n"));
  CHECK_THAT(text, Contains("\npghealthd_table_freeze_due_ratio" + message + " 1.5\n"));
  // Orders: its multixact age is the nearer limit (300M of 400M).
  CHECK_THAT(text, Contains("\npghealthd_table_freeze_due_ratio" + orders + " 0.75\n"));
  CHECK_THAT(text, Contains("\npghealthd_database_xid_age{target=\"t\",datname=\"app\"} 150123\n"));
  CHECK_THAT(text, Contains("\npghealthd_database_mxid_age{target=\"t\",datname=\"template0\"} 0\n"));
  CHECK(out.snapshot->series.series == 12);

  // A watch that does not report the databases renders the tables only.
  pghealthd::metrics::SeriesFilter tables_only;
  tables_only.database_rows = false;
  const auto other = pghealthd::metrics::process(kind, answer.text_rows(), "t", "other", tables_only);
  REQUIRE(other.snapshot);
  CHECK(render(other.snapshot->series).find("pghealthd_database_") == std::string::npos);
  CHECK(other.snapshot->series.series == 8);
}

TEST_CASE("freeze: the series budget cuts tables, never the databases", "[collectors]") {
  pghealthd::metrics::SeriesFilter filter;
  filter.budget = 5;  // one table's four series fit, the second's do not
  const auto out = pghealthd::metrics::process(definition_named("freeze").kind, freeze_answer().text_rows(), "t",
                                               "app", filter);
  REQUIRE(out.snapshot);
  const std::string text = render(out.snapshot->series);
  CHECK(text.find("relname=\"Orders\"") != std::string::npos);  // the larger table first
  CHECK(text.find("relname=\"Message\"") == std::string::npos);
  CHECK(out.snapshot->series.dropped == 4);
  CHECK_THAT(text, Contains("pghealthd_database_xid_age{target=\"t\",datname=\"template0\"} 99\n"));
}

TEST_CASE("ConcatRows: the pages of a paged collector read as one answer, in order", "[parse]") {
  const pghealthd::pg::TextRows a({"page_key", "name"}, {{"1", "one"}, {"2", "two"}});
  const pghealthd::pg::TextRows empty({"page_key", "name"}, {});
  const pghealthd::pg::TextRows b({"page_key", "name"}, {{"7", "seven"}});
  const pghealthd::pg::ConcatRows all({&a, &empty, &b});
  REQUIRE(all.size() == 3);
  CHECK(all.column("name") == 1);
  CHECK(all.column("nope") == -1);
  CHECK(all.get(0, 1) == "one");
  CHECK(all.get(1, 1) == "two");
  CHECK(all.get(2, 1) == "seven");
  CHECK(pghealthd::pg::ConcatRows({}).size() == 0);
  // The sequences statement pages by the size its definition says.
  const auto& seq = definition_named("sequences");
  CHECK(seq.page_rows == pghealthd::collectors::kSequencePage);
  CHECK_THAT(std::string(seq.sql(150000)), Contains("LIMIT " + std::to_string(seq.page_rows) + ")"));
  CHECK_THAT(std::string(seq.sql(150000)), Contains("$1::oid"));
}

TEST_CASE("stat_user_tables: a run without TOAST pages carries each table's over, and says when it cannot",
          "[collectors]") {
  const auto kind = definition_named("stat_user_tables").kind;
  const pghealthd::metrics::SeriesFilter filter;
  const auto full = pghealthd::metrics::process(kind, stat_user_tables_answer().with(0, "toast_bytes", "4096").table_rows(),
                                                "t", "d", filter);
  REQUIRE(full.snapshot);
  CHECK(full.snapshot->tables.at(0).size_bytes == 8192 + 4096);
  CHECK_FALSE(full.snapshot->toast_unknown);

  // Not read this time: the previous run's 4096 stands; a table new since then counts its heap alone.
  auto partial = stat_user_tables_answer().with(0, "toast_bytes", std::nullopt);
  partial.rows.push_back(partial.rows[0]);
  partial.rows[1][0] = "16391";
  partial.rows[1][10] = "New";
  const auto next =
      pghealthd::metrics::process(kind, partial.table_rows(), "t", "d", filter, pghealthd::metrics::History::of(*full.snapshot));
  REQUIRE(next.snapshot);
  CHECK(next.snapshot->tables.at(0).size_bytes == 8192 + 4096);
  CHECK(next.snapshot->tables.at(0).toast_bytes == 4096);
  CHECK(next.snapshot->tables.at(1).size_bytes == 8192);
  CHECK_FALSE(next.snapshot->tables.at(1).toast_bytes.has_value());
  CHECK(next.snapshot->toast_unknown);
}
