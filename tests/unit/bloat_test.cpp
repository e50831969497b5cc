// Statistics-based bloat estimates (model/bloat.h) on relations whose layout is computed by hand from
// PostgreSQL's page and tuple rules, every reason to give no number; and the exact method's readings, its
// round robin and the pure pieces of its pass.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "collectors/bloat.h"
#include "collectors/bloat_exact.h"
#include "metrics/snapshot.h"
#include "model/bloat.h"
#include "pg/rows.h"

namespace {

using pghealthd::model::ColumnWidth;
using pghealthd::model::estimate_btree_bloat;
using pghealthd::model::estimate_table_bloat;
using pghealthd::model::RelationShape;
using pghealthd::model::Unestimated;

constexpr ColumnWidth kInt{4, 0, 4, 'i'};
constexpr ColumnWidth kMd5Text{33, 0, -1, 'i'};  // md5(...)::text: 32 characters and a 1-byte header

// (id int, pad text) of md5 values, analyzed: a 64-byte tuple (24 header + 4 + 33, MAXALIGNed) and its
// 4-byte line pointer, 120 to a page (8,168 bytes after the page header).
RelationShape orders(double relpages, double reltuples = 20000) {
  RelationShape r;
  r.relpages = relpages;
  r.reltuples = reltuples;
  r.columns = {kInt, kMd5Text};
  r.analyzed = true;
  return r;
}

// A btree index on one int column: a 16-byte item (8 header + 4, MAXALIGNed) and its line pointer, 366 to
// a leaf page at fill factor 90 (8,152 bytes after the page header and btree special space).
RelationShape int_index(double relpages, double reltuples = 20000) {
  RelationShape r;
  r.relpages = relpages;
  r.reltuples = reltuples;
  r.fillfactor = 90;
  r.columns = {kInt};
  r.analyzed = true;
  return r;
}

}  // namespace

TEST_CASE("a packed table has no bloat, and the pages past what its rows need are wasted", "[bloat]") {
  // 20,000 rows at 120 a page: 167 pages.
  const auto packed = estimate_table_bloat(orders(167));
  CHECK_FALSE(packed.unestimated);
  CHECK(packed.expected_pages == 167);
  CHECK(packed.ratio == 0);
  CHECK(packed.wasted_bytes == 0);
  const auto doubled = estimate_table_bloat(orders(334));
  CHECK(doubled.ratio == Approx(0.5));
  CHECK(doubled.wasted_bytes == 167 * 8192);
  // Fewer pages than the estimate (a wider tuple than the statistics say): no negative bloat.
  CHECK(estimate_table_bloat(orders(150)).ratio == 0);
}

TEST_CASE("the fill factor, the null bitmap and alignment change what a table needs", "[bloat]") {
  auto half = orders(334);
  half.fillfactor = 50;  // 4,084 bytes a page: 60 rows, 334 pages
  CHECK(estimate_table_bloat(half).expected_pages == 334);
  CHECK(estimate_table_bloat(half).ratio == 0);
  // Nine columns, one sometimes null: a 2-byte bitmap makes the header 25, MAXALIGNed to 32.
  auto nullable = orders(1000);
  nullable.columns = {kInt, kInt, kInt, kInt, kInt, kInt, kInt, kInt, ColumnWidth{4, 0.5, 4, 'i', -1}};
  // data: 8 x 4 + 0.5 x 4 = 34; tuple = MAXALIGN(32 + 34) = 72, + 4: 107 a page.
  CHECK(estimate_table_bloat(nullable).expected_pages == std::ceil(20000.0 / 107));
  // A bigint after an int is padded to 8: 4 + 4 + 8 = 16 bytes of data, a 40-byte tuple, 185 a page.
  auto padded = orders(1000);
  padded.columns = {kInt, ColumnWidth{8, 0, 8, 'd', -1}};
  CHECK(estimate_table_bloat(padded).expected_pages == std::ceil(20000.0 / 185));
  // A long varlena (200 bytes, a 4-byte header) is aligned to its type: 4 + 200 = 204 of data.
  auto wide = orders(1000);
  wide.columns = {ColumnWidth{1, 0, 1, 'c', -1}, ColumnWidth{200, 0, -1, 'i', -1}};
  // MAXALIGN(24 + 4 + 200) = 232, + 4: 34 a page.
  CHECK(estimate_table_bloat(wide).expected_pages == std::ceil(20000.0 / 34));
}

TEST_CASE("a btree index: its items, its fill factor and its metapage", "[bloat]") {
  // 20,000 keys at 366 a leaf: 55 leaves and the metapage.
  const auto packed = estimate_btree_bloat(int_index(56));
  CHECK_FALSE(packed.unestimated);
  CHECK(packed.expected_pages == 56);
  CHECK(packed.ratio == 0);
  CHECK(estimate_btree_bloat(int_index(112)).ratio == Approx(0.5));
  // A key that may be null adds the 4-byte null bitmap: a 12-byte header MAXALIGNed to 16, a 24-byte item,
  // 262 to a leaf.
  auto nullable = int_index(112);
  nullable.columns = {ColumnWidth{4, 0.1, 4, 'i', -1}};
  CHECK(estimate_btree_bloat(nullable).expected_pages == 1 + std::ceil(20000.0 / 262));
  // Deduplicated duplicates take less room than one item each: never below 0.
  CHECK(estimate_btree_bloat(int_index(20)).ratio == 0);
}

TEST_CASE("no number where the statistics cannot be trusted, and the reason", "[bloat]") {
  auto never = orders(500);
  never.analyzed = false;
  CHECK(estimate_table_bloat(never).unestimated == Unestimated::kNeverAnalyzed);
  auto minus_one = orders(500, -1);
  CHECK(estimate_table_bloat(minus_one).unestimated == Unestimated::kNeverAnalyzed);
  // A pg_monitor-only role sees no pg_stats row of a table it may not read.
  auto hidden = orders(500);
  hidden.columns = {std::nullopt, std::nullopt};
  CHECK(estimate_table_bloat(hidden).unestimated == Unestimated::kNoStatistics);
  auto one_hidden = orders(500);
  one_hidden.columns[1] = std::nullopt;
  CHECK(estimate_table_bloat(one_hidden).unestimated == Unestimated::kNoStatistics);
  // 5,000 of 20,000 rows changed since ANALYZE: stale. 3,000: still usable.
  auto stale = orders(500);
  stale.modified_since_analyze = 5000;
  CHECK(estimate_table_bloat(stale).unestimated == Unestimated::kStaleStatistics);
  stale.modified_since_analyze = 3000;
  CHECK_FALSE(estimate_table_bloat(stale).unestimated);
  auto expression = int_index(100);
  expression.expressions = true;
  CHECK(estimate_btree_bloat(expression).unestimated == Unestimated::kExpressionIndex);
  CHECK(pghealthd::model::name(Unestimated::kStaleStatistics) == "stale_statistics");
  // Never vacuumed nor analyzed: relpages is 0 too, which is not "empty, nothing wasted".
  auto fresh = orders(0, -1);
  fresh.analyzed = false;
  CHECK(estimate_table_bloat(fresh).unestimated == Unestimated::kNeverAnalyzed);
  auto fresh_index = int_index(0);
  fresh_index.analyzed = false;
  fresh_index.reltuples = -1;
  CHECK(estimate_btree_bloat(fresh_index).unestimated == Unestimated::kNeverAnalyzed);
  // Every row deleted and analyzed: no pg_stats rows (nothing to sample), and every page is wasted.
  auto emptied = orders(500, 0);
  emptied.columns = {std::nullopt, std::nullopt};
  CHECK_FALSE(estimate_table_bloat(emptied).unestimated);
  CHECK(estimate_table_bloat(emptied).ratio == 1.0);
  // An empty relation, analyzed, wastes nothing.
  const auto e = estimate_table_bloat(orders(0, 0));
  CHECK_FALSE(e.unestimated);
  CHECK(e.wasted_bytes == 0);
}

// --- the collector's answer ---------------------------------------------------------------------------------

TEST_CASE("the bloat collector's columns field: widths, hidden statistics, malformed text", "[bloat]") {
  using pghealthd::collectors::parse_columns;
  const auto c = parse_columns("4:0:-1:4:i;33:0.25:10:-1:i;?:?:?:8:d");
  REQUIRE(c);
  REQUIRE(c->size() == 3);
  CHECK((*c)[0]->avg_width == 4);
  CHECK((*c)[1]->null_frac == 0.25);
  CHECK((*c)[1]->typlen == -1);
  CHECK((*c)[1]->n_distinct == 10);
  CHECK((*c)[0]->n_distinct == -1);
  CHECK_FALSE((*c)[2]);
  CHECK(parse_columns("")->empty());
  CHECK_FALSE(parse_columns("4:0:4:i"));  // no n_distinct
  CHECK_FALSE(parse_columns("4:0:-1:4:i:x"));
  CHECK_FALSE(parse_columns("four:0:-1:4:i"));
  CHECK_FALSE(parse_columns("4:0:many:4:i"));
  CHECK_FALSE(parse_columns("4:0:-1:4:"));
}

TEST_CASE("the bloat collector's answer becomes estimates, an index's with its fill factor", "[bloat]") {
  const pghealthd::pg::TextRows rows(
      {"kind", "relid", "table_relid", "schemaname", "relname", "indexrelname", "relpages", "reltuples", "fillfactor",
       "analyzed", "modified", "expressions", "valid", "exclusion", "columns"},
      {{"t", "16390", "16390", "public", "orders", "", "334", "20000", "100", "t", "0", "f", "t", "f",
        "4:0:-1:4:i;33:0:-1:-1:i"},
       {"i", "16395", "16390", "public", "orders", "orders_pkey", "112", "20000", "90", "t", "0", "f", "f", "t",
        "4:0:-1:4:i"},
       {"t", "16400", "16400", "public", "hidden", "", "100", "5000", "100", "t", "0", "f", "t", "f", "?:?:?:4:i"}});
  pghealthd::collectors::Data data;
  REQUIRE(pghealthd::collectors::parse_bloat(rows, data).empty());
  REQUIRE(data.bloat.size() == 3);
  CHECK_FALSE(data.bloat[0].index);
  CHECK(data.bloat[0].estimate.ratio == Approx(0.5));
  CHECK(data.bloat[1].index);
  CHECK(data.bloat[1].indexrelname == "orders_pkey");
  CHECK(data.bloat[1].table_relid == 16390);
  CHECK_FALSE(data.bloat[1].valid);
  CHECK(data.bloat[1].exclusion);
  CHECK(data.bloat[0].valid);
  CHECK(data.bloat[1].estimate.ratio == Approx(0.5));
  CHECK(data.bloat[2].estimate.unestimated == Unestimated::kNoStatistics);
  const pghealthd::pg::TextRows bad({"kind", "relid", "table_relid", "schemaname", "relname", "indexrelname",
                                     "relpages", "reltuples", "fillfactor", "analyzed", "modified", "expressions",
                                     "valid", "exclusion", "columns"},
                                    {{"t", "1", "1", "s", "t", "", "1", "1", "100", "t", "0", "f", "t", "f", "garbage"}});
  CHECK_THAT(pghealthd::collectors::parse_bloat(bad, data), Catch::Matchers::Contains("malformed columns"));
}

// --- the exact method: pgstattuple's readings ---------------------------------------------------------------

TEST_CASE("an exact table reading: free space and dead rows are wasted, less what the fill factor keeps",
          "[bloat][exact]") {
  using pghealthd::model::exact_table_bloat;
  // 100 pages, a quarter free and a tenth dead rows, packed to the brim (fill factor 100).
  const double len = 100 * 8192.0;
  const auto full = exact_table_bloat(len, len / 4, len / 10, 100, 1700000000);
  CHECK(full.ratio == Approx(0.35));
  CHECK(full.wasted_bytes == Approx(0.35 * len));
  CHECK(full.measured_unix == 1700000000);
  // At fill factor 80 a fifth of every page is meant to stay free: only the rest is wasted.
  CHECK(exact_table_bloat(len, len / 4, len / 10, 80, 0).ratio == Approx(0.15));
  // Less free space than the fill factor keeps: nothing wasted, never below 0.
  CHECK(exact_table_bloat(len, len / 10, 0, 70, 0).wasted_bytes == 0);
  CHECK(exact_table_bloat(len, len / 10, 0, 70, 0).ratio == 0);
  // An empty table wastes nothing (no division by 0).
  const auto empty = exact_table_bloat(0, 0, 0, 100, 5);
  CHECK(empty.ratio == 0);
  CHECK(empty.wasted_bytes == 0);
  CHECK(empty.measured_unix == 5);
}

TEST_CASE("an exact btree reading: the leaves' density against the fill factor, and an empty index",
          "[bloat][exact]") {
  using pghealthd::model::exact_btree_bloat;
  // Leaves 45% full where the fill factor asks for 90%: half the index is wasted.
  const auto half = exact_btree_bloat(1000 * 8192.0, 45, 90, 1700000000);
  CHECK(half.ratio == Approx(0.5));
  CHECK(half.wasted_bytes == Approx(500 * 8192.0));
  CHECK(half.measured_unix == 1700000000);
  // Fuller than the fill factor (rightmost-page splits pack leaves to 100%): 0, not negative.
  CHECK(exact_btree_bloat(8192.0 * 10, 98, 90, 0).ratio == 0);
  CHECK(exact_btree_bloat(8192.0 * 10, 98, 90, 0).wasted_bytes == 0);
  CHECK(exact_btree_bloat(8192.0 * 10, 50, 100, 0).ratio == Approx(0.5));
  // No leaves yet: pgstatindex says NaN.
  const auto empty = exact_btree_bloat(8192.0, std::nan(""), 90, 0);
  CHECK(empty.ratio == 0);
  CHECK(empty.wasted_bytes == 0);
}

TEST_CASE("the exact round robin: big enough only, never read first, then the oldest reading first",
          "[bloat][exact]") {
  using pghealthd::model::exact_round_robin;
  using pghealthd::model::ExactCandidate;
  constexpr std::int64_t kMin = 100 << 20;
  const std::vector<ExactCandidate> run{
      {1, false, 200 << 20, 1000.0},          // read at 1000
      {2, true, 150 << 20, std::nullopt},     // never read
      {3, false, 10 << 20, std::nullopt},     // too small
      {4, false, 100 << 20, 500.0},           // exactly the threshold, read longest ago
      {5, true, 300 << 20, std::nullopt},     // never read, larger
  };
  auto relids = [](const std::vector<ExactCandidate>& order) {
    std::vector<std::int64_t> out;
    for (const auto& c : order) out.push_back(c.relid);
    return out;
  };
  CHECK(relids(exact_round_robin(run, kMin)) == std::vector<std::int64_t>{5, 2, 4, 1});
  CHECK(relids(exact_round_robin(run, 0)) == std::vector<std::int64_t>{5, 2, 3, 4, 1});
  CHECK(exact_round_robin(run, std::int64_t{1} << 40).empty());
  // A run reads the head of the order and stops at its budget; the next run starts where it stopped,
  // because what it read is now the newest.
  auto next = run;
  next[4].measured_unix = 2000;  // relid 5
  next[1].measured_unix = 2001;  // relid 2
  CHECK(relids(exact_round_robin(next, kMin)) == std::vector<std::int64_t>{4, 1, 5, 2});
}

// --- the exact pass's pure pieces (collectors/bloat_exact.h) ------------------------------------------------

TEST_CASE("the pgstattuple look-up: installed and callable, missing, or not permitted", "[bloat][exact]") {
  using pghealthd::collectors::parse_extension_state;
  using pghealthd::model::ExactAvailability;
  using pghealthd::pg::TextRows;
  const std::vector<std::string> columns{"lock_timeout", "schema", "functions", "permitted"};
  const auto there = parse_extension_state(TextRows(columns, {{"1s", "My \"Ext\"", "t", "t"}}));
  REQUIRE(there);
  CHECK(there->availability == ExactAvailability::kAvailable);
  CHECK(there->schema == "My \"Ext\"");  // unquoted: the pass quotes it with libpq's rules
  CHECK(there->lock_timeout == "1s");
  const auto missing = parse_extension_state(TextRows(columns, {{"1s", std::nullopt, "f", "f"}}));
  REQUIRE(missing);
  CHECK(missing->availability == ExactAvailability::kMissing);
  // Created long ago and never updated: no regclass versions of the functions.
  CHECK(parse_extension_state(TextRows(columns, {{"1s", "public", "f", "f"}}))->availability ==
        ExactAvailability::kMissing);
  CHECK(parse_extension_state(TextRows(columns, {{"1s", "public", "t", "f"}}))->availability ==
        ExactAvailability::kNotPermitted);
  CHECK_FALSE(parse_extension_state(TextRows(columns, {})));
  CHECK_FALSE(parse_extension_state(TextRows({"lock_timeout", "schema"}, {{"1s", "public"}})));
}

TEST_CASE("an exact reading from pgstattuple's answer, nothing for a relation dropped meanwhile", "[bloat][exact]") {
  using pghealthd::collectors::parse_index_reading;
  using pghealthd::collectors::parse_table_reading;
  using pghealthd::pg::TextRows;
  const std::vector<std::string> table{"table_len", "approx_free_space", "dead_tuple_len"};
  const auto t = parse_table_reading(TextRows(table, {{"819200", "204800", "81920"}}), 100, 42);
  REQUIRE(t);
  CHECK(t->ratio == Approx(0.35));
  CHECK(t->measured_unix == 42);
  CHECK_FALSE(parse_table_reading(TextRows(table, {}), 100, 42));
  CHECK_FALSE(parse_table_reading(TextRows(table, {{"x", "1", "1"}}), 100, 42));
  const std::vector<std::string> index{"index_size", "avg_leaf_density"};
  const auto i = parse_index_reading(TextRows(index, {{"8192000", "45"}}), 90, 42);
  REQUIRE(i);
  CHECK(i->ratio == Approx(0.5));
  const auto empty = parse_index_reading(TextRows(index, {{"8192", "NaN"}}), 90, 42);
  REQUIRE(empty);
  CHECK(empty->ratio == 0);
  CHECK(pghealthd::collectors::table_reading_sql("\"my ext\"").find("\"my ext\".pgstattuple_approx(c.oid::regclass)") !=
        std::string::npos);
  CHECK(pghealthd::collectors::index_reading_sql("x").find("x.pgstatindex(c.oid::regclass)") != std::string::npos);
}

TEST_CASE("a failed exact reading: dropped, skipped, not permitted, or the end of the pass", "[bloat][exact]") {
  using pghealthd::collectors::classify_reading_failure;
  using pghealthd::collectors::ReadingFailure;
  using pghealthd::pg::Error;
  auto server = [](std::string sqlstate) { return Error{Error::Kind::kServer, std::move(sqlstate), "m"}; };
  CHECK(classify_reading_failure(server("42P01")) == ReadingFailure::kGone);
  CHECK(classify_reading_failure(server("55P03")) == ReadingFailure::kSkip);  // lock_timeout
  CHECK(classify_reading_failure(server("57014")) == ReadingFailure::kSkip);  // statement_timeout
  CHECK(classify_reading_failure(server("XX000")) == ReadingFailure::kSkip);
  CHECK(classify_reading_failure(server("42501")) == ReadingFailure::kNotPermitted);
  CHECK(classify_reading_failure(Error{Error::Kind::kConnection, "", "lost"}) == ReadingFailure::kStop);
  CHECK(classify_reading_failure(Error{Error::Kind::kTimeout, "", "no answer"}) == ReadingFailure::kStop);
  CHECK(classify_reading_failure(Error{Error::Kind::kClosed, "", "closed"}) == ReadingFailure::kStop);
}

TEST_CASE("the exact candidates: tables and valid indexes by size, carrying their readings", "[bloat][exact]") {
  using pghealthd::model::ExactBloat;
  using pghealthd::model::RelationBloat;
  RelationBloat table, index, invalid;
  table.relid = 1;
  table.shape.relpages = 100;
  table.exact = ExactBloat{0.1, 8192, 1000};
  index.relid = 2;
  index.index = true;
  index.shape.relpages = 10;
  invalid.relid = 3;
  invalid.index = true;
  invalid.valid = false;
  std::vector<RelationBloat> relations{table, index, invalid};
  const auto c = pghealthd::collectors::exact_candidates(relations);
  REQUIRE(c.size() == 2);
  CHECK(c[0].relid == 1);
  CHECK(c[0].size_bytes == 100 * 8192.0);
  CHECK(c[0].measured_unix == 1000.0);
  CHECK(c[1].index);
  CHECK_FALSE(c[1].measured_unix);
  // This run's readings replace the carried ones; a reading of a relation gone is not attached anywhere.
  pghealthd::collectors::attach_readings(relations, {{2, ExactBloat{0.5, 40960, 2000}}, {99, ExactBloat{1, 1, 1}}});
  CHECK(relations[0].exact->measured_unix == 1000);
  CHECK(relations[1].exact->measured_unix == 2000);
  CHECK_FALSE(relations[2].exact);
}

TEST_CASE("the previous bloat snapshot passes its exact readings and availability on to the next run",
          "[bloat][exact]") {
  pghealthd::collectors::Data previous;
  pghealthd::model::RelationBloat read, unread;
  read.relid = 7;
  read.exact = pghealthd::model::ExactBloat{0.3, 3 * 8192, 1000};
  unread.relid = 8;
  previous.bloat = {read, unread};
  previous.bloat_exact = pghealthd::model::ExactAvailability::kAvailable;
  const auto h = pghealthd::metrics::History::of(previous);
  REQUIRE(h.exact.size() == 1);
  CHECK(h.exact.at(7).measured_unix == 1000);
  CHECK(h.bloat_exact == pghealthd::model::ExactAvailability::kAvailable);
  CHECK(pghealthd::metrics::History::of(pghealthd::collectors::Data{}).exact.empty());
  CHECK_FALSE(pghealthd::metrics::History::of(pghealthd::collectors::Data{}).bloat_exact);
}

TEST_CASE("no number for a btree index whose keys repeat: deduplication keeps one copy per posting list",
          "[bloat]") {
  using pghealthd::model::ColumnWidth;
  // 20,000 rows; a key of 10 values repeats in all but 10 rows.
  auto ten_values = int_index(100);
  ten_values.columns = {ColumnWidth{4, 0, 4, 'i', 10}};
  CHECK(estimate_btree_bloat(ten_values).unestimated == Unestimated::kRepeatedKeys);
  CHECK(pghealthd::model::name(Unestimated::kRepeatedKeys) == "repeated_keys");
  // A unique key 30% NULL (n_distinct -0.7): the nulls repeat.
  auto nulls = int_index(100);
  nulls.columns = {ColumnWidth{4, 0.3, 4, 'i', -0.7}};
  CHECK(estimate_btree_bloat(nulls).unestimated == Unestimated::kRepeatedKeys);
  // 5% NULL: under a tenth of the rows repeat, the estimate stands.
  nulls.columns = {ColumnWidth{4, 0.05, 4, 'i', -0.95}};
  CHECK_FALSE(estimate_btree_bloat(nulls).unestimated);
  // Two columns: 10 values, then a unique one: the pairs do not repeat.
  auto pairs = int_index(100);
  pairs.columns = {ColumnWidth{4, 0, 4, 'i', 10}, ColumnWidth{4, 0, 4, 'i', -1}};
  CHECK_FALSE(estimate_btree_bloat(pairs).unestimated);
  // 19,000 distinct values of 20,000 rows (5% repeat): estimated; 15,000 (25%): not.
  auto some = int_index(100);
  some.columns = {ColumnWidth{4, 0, 4, 'i', 19000}};
  CHECK_FALSE(estimate_btree_bloat(some).unestimated);
  some.columns = {ColumnWidth{4, 0, 4, 'i', 15000}};
  CHECK(estimate_btree_bloat(some).unestimated == Unestimated::kRepeatedKeys);
  // n_distinct unknown (0): no repeats claimed. A table is never refused for repeats.
  some.columns = {ColumnWidth{4, 0, 4, 'i', 0}};
  CHECK_FALSE(estimate_btree_bloat(some).unestimated);
  auto table = orders(500);
  table.columns = {ColumnWidth{4, 0, 4, 'i', 10}, ColumnWidth{33, 0, -1, 'i', 10}};
  CHECK_FALSE(estimate_table_bloat(table).unestimated);
}

TEST_CASE("a relation's exact reading is copied with it and reset alone", "[bloat][exact]") {
  using pghealthd::model::ExactBloat;
  using pghealthd::model::RelationBloat;
  RelationBloat read;
  CHECK_FALSE(read.exact);
  read.exact = ExactBloat{0.25, 4096, 1000};
  RelationBloat copy = read;
  read.exact.reset();
  CHECK_FALSE(read.exact);
  REQUIRE(copy.exact);
  CHECK(copy.exact->ratio == 0.25);
  CHECK((*copy.exact).measured_unix == 1000);
  read = copy;
  REQUIRE(read.exact);
  CHECK(read.exact->wasted_bytes == 4096);
}
