// Cardinality controls: the `cardinality:` configuration, which tables the series filter keeps, and how a
// series budget cuts a collection (most significant rows kept, the cut counted, never silent).
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "config/load.h"
#include "metrics/exposition.h"
#include "model/stats.h"

namespace {

using pghealthd::config::Config;
using pghealthd::config::parse_config;
using pghealthd::config::Problem;
using pghealthd::metrics::Family;
using pghealthd::metrics::Fragments;
using pghealthd::metrics::SeriesFilter;
using pghealthd::model::IndexStats;
using pghealthd::model::TableIo;
using pghealthd::model::TableStats;

const std::string kTarget = "targets:\n  - name: a\n    conninfo: host=x\n";

std::variant<Config, std::vector<Problem>> parse(const std::string& cardinality) {
  return parse_config(kTarget + "cardinality:\n" + cardinality);
}

TableStats table(const std::string& schema, const std::string& name, std::int64_t size) {
  TableStats t;
  t.schemaname = schema;
  t.relname = name;
  t.live_tuples = 10;
  t.dead_tuples = 1;
  t.size_bytes = size;
  return t;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

std::string lines(const Fragments& f, Family family) { return f.text(family); }

}  // namespace

TEST_CASE("cardinality keys are read and default to keeping everything", "[cardinality][config]") {
  const auto none = std::get<Config>(parse_config(kTarget));
  CHECK(none.cardinality.include_schemas.empty());
  CHECK(none.cardinality.min_table_size_bytes == 0);
  CHECK(none.cardinality.max_series_per_target == 0);

  const auto cfg = std::get<Config>(parse("  include_schemas: [public, 'app_.*']\n  exclude_schemas: [audit]\n"
                                          "  include_tables: ['.*']\n  exclude_tables: ['.*_archive']\n"
                                          "  min_table_size_bytes: 8192\n  max_series_per_target: 100000\n"));
  CHECK(cfg.cardinality.include_schemas == std::vector<std::string>{"public", "app_.*"});
  CHECK(cfg.cardinality.exclude_schemas == std::vector<std::string>{"audit"});
  CHECK(cfg.cardinality.exclude_tables == std::vector<std::string>{".*_archive"});
  CHECK(cfg.cardinality.min_table_size_bytes == 8192);
  CHECK(cfg.cardinality.max_series_per_target == 100000);
}

TEST_CASE("bad cardinality settings are refused with their key", "[cardinality][config]") {
  auto problem = [](const std::string& body) {
    const auto r = parse(body);
    REQUIRE(std::holds_alternative<std::vector<Problem>>(r));
    const auto& p = std::get<std::vector<Problem>>(r);
    REQUIRE(p.size() == 1);
    return p[0].message;
  };
  CHECK_THAT(problem("  exclude_tables: ['(']\n"),
             Catch::Contains("invalid regular expression in cardinality.exclude_tables"));
  CHECK_THAT(problem("  min_table_size_bytes: -1\n"), Catch::Contains("cardinality.min_table_size_bytes"));
  CHECK_THAT(problem("  max_series_per_target: lots\n"), Catch::Contains("cardinality.max_series_per_target"));
  CHECK_THAT(problem("  max_series: 10\n"), Catch::Contains("max_series"));
}

TEST_CASE("schema and table patterns decide which tables export series", "[cardinality]") {
  SeriesFilter f;
  f.include_schemas = pghealthd::config::compile_patterns({"public", "Sales"});
  f.exclude_tables = pghealthd::config::compile_patterns({".*_archive"});
  const auto out = pghealthd::metrics::render_tables(
      "t", "d", {table("public", "orders", 1), table("public", "orders_archive", 1), table("audit", "log", 1),
                 table("Sales", "OrderLine", 1)},
      f);
  const auto& live = lines(out, Family::kTableLiveTuples);
  CHECK(count(live, "relname=\"orders\"") == 1);
  CHECK(count(live, "relname=\"OrderLine\"") == 1);
  CHECK(count(live, "orders_archive") == 0);
  CHECK(count(live, "schemaname=\"audit\"") == 0);
  CHECK(out.dropped == 0);  // filtered on purpose: not a budget cut
}

TEST_CASE("tables below the minimum size export nothing, in every view", "[cardinality]") {
  SeriesFilter f;
  f.min_table_size_bytes = 16384;
  const auto tables = pghealthd::metrics::render_tables("t", "d", {table("public", "big", 16384), table("public", "tiny", 8192)}, f);
  CHECK(count(lines(tables, Family::kTableLiveTuples), "relname=\"big\"") == 1);
  CHECK(count(lines(tables, Family::kTableLiveTuples), "relname=\"tiny\"") == 0);

  // Views without a size column learn it from the last stat_user_tables run.
  f.table_sizes[SeriesFilter::key("public", "tiny")] = 8192;
  f.table_sizes[SeriesFilter::key("public", "big")] = 65536;
  TableIo tiny_io, big_io;
  tiny_io.schemaname = big_io.schemaname = "public";
  tiny_io.relname = "tiny";
  big_io.relname = "big";
  tiny_io.heap_blks_hit = big_io.heap_blks_hit = 5;
  const auto io = pghealthd::metrics::render_table_io("t", "d", {tiny_io, big_io}, f);
  CHECK(count(lines(io, Family::kTableBlocksHit), "relname=\"tiny\"") == 0);
  CHECK(count(lines(io, Family::kTableBlocksHit), "relname=\"big\"") == 1);
  IndexStats tiny_idx;
  tiny_idx.schemaname = "public";
  tiny_idx.relname = "tiny";
  tiny_idx.indexrelname = "tiny_pkey";
  tiny_idx.scans = 1;
  CHECK(pghealthd::metrics::render_indexes("t", "d", {tiny_idx}, std::nullopt, f).series == 0);
}

TEST_CASE("a series budget keeps the largest tables and counts what it cut", "[cardinality]") {
  std::vector<TableStats> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(table("public", "t" + std::to_string(i), 1000 * (i + 1)));
  const auto all = pghealthd::metrics::render_tables("t", "d", rows);
  REQUIRE(all.dropped == 0);
  // Beside the tables' series, one per-database sample (the server's autovacuum), never cut.
  REQUIRE(all.per_database == 1);
  const std::size_t per_table = (all.series - all.per_database) / rows.size();
  REQUIRE(per_table * rows.size() + all.per_database == all.series);

  SeriesFilter f;
  f.budget = per_table * 3 + per_table / 2;  // room for three and a half tables: three fit
  const auto cut = pghealthd::metrics::render_tables("t", "d", rows, f);
  CHECK(cut.series == per_table * 3 + 1);
  CHECK(cut.dropped == all.series - cut.series);
  const auto& live = lines(cut, Family::kTableLiveTuples);
  CHECK(count(live, "relname=\"t9\"") == 1);  // the three largest
  CHECK(count(live, "relname=\"t8\"") == 1);
  CHECK(count(live, "relname=\"t7\"") == 1);
  CHECK(count(live, "relname=\"t0\"") == 0);
  // The kept text is exactly those tables' lines: nothing half-written.
  std::size_t newline = 0;
  for (const auto& l : cut.lines) newline += count(l.inflated(), "\n");
  CHECK(newline == cut.series);

  f.budget = 0;
  const auto nothing = pghealthd::metrics::render_tables("t", "d", rows, f);
  CHECK(nothing.series == 1);  // the per-database sample alone: never cut
  CHECK(nothing.per_database == 1);
  CHECK(nothing.dropped == all.series - 1);
  CHECK(nothing.bytes() == lines(nothing, Family::kAutovacuumEnabled).size());
}

TEST_CASE("within the budget nothing is cut", "[cardinality]") {
  std::vector<TableStats> rows{table("public", "a", 1), table("public", "b", 2)};
  SeriesFilter f;
  f.budget = pghealthd::metrics::render_tables("t", "d", rows).series;
  const auto out = pghealthd::metrics::render_tables("t", "d", rows, f);
  CHECK(out.dropped == 0);
  CHECK(out.series == f.budget);
}

TEST_CASE("a run over budget gets its fair share but never more than the others leave", "[cardinality]") {
  SeriesFilter f;
  CHECK(f.allowance(1000000) == SeriesFilter::kNoBudget);  // no budget
  f.budget = 1000;
  f.others_wanted = 600;
  f.others_exported = 600;
  CHECK(f.allowance(400) == SeriesFilter::kNoBudget);  // everything fits
  // Wanted 1,500 in all: this run wants 900 of them, so 600 of the 1,000, but only 400 are left.
  CHECK(f.allowance(900) == 400);
  // Once the others have been cut to their share (400 of their 600), this run gets its own: 600.
  f.others_exported = 400;
  CHECK(f.allowance(900) == 600);
  // The first run of a cycle, nothing else known yet: all of the budget.
  f.others_wanted = f.others_exported = 0;
  CHECK(f.allowance(5000) == 1000);
}

TEST_CASE("every view ranks tables by size, so a budget keeps the same tables everywhere", "[cardinality]") {
  SeriesFilter f;
  std::vector<TableIo> io(4);
  for (int i = 0; i < 4; ++i) {
    io[i].schemaname = "public";
    io[i].relname = "t" + std::to_string(i);
    io[i].heap_blks_hit = 100 - i;  // the busiest is the smallest: size decides, not activity
    f.table_sizes[SeriesFilter::key("public", io[i].relname)] = 1000 * (i + 1);
  }
  const std::size_t per_table = pghealthd::metrics::render_table_io("t", "d", {io[0]}).series;
  f.budget = per_table * 2;
  const auto out = pghealthd::metrics::render_table_io("t", "d", io, f);
  const auto& hits = lines(out, Family::kTableBlocksHit);
  CHECK(count(hits, "relname=\"t3\"") == 1);
  CHECK(count(hits, "relname=\"t2\"") == 1);
  CHECK(count(hits, "relname=\"t0\"") == 0);
  CHECK(out.dropped == per_table * 2);
}
