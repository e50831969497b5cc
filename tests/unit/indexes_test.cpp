// Index redundancy rules (model::redundant_indexes) and sequence limits (model::sequence_used_ratio).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "model/indexes.h"

namespace {

using pghealthd::model::IndexDefinition;
using pghealthd::model::Redundancy;
using pghealthd::model::SequenceState;

constexpr std::int64_t kIntOps = 1978, kTextOps = 3126, kTextPatternOps = 4217, kDefaultCollation = 100;

// A btree index on table 16384 over `columns` (attnums), default operator classes for int columns.
IndexDefinition btree(std::int64_t oid, std::string name, std::vector<int> columns, int key_columns = -1) {
  IndexDefinition i;
  i.indexrelid = oid;
  i.table_relid = 16384;
  i.schemaname = "public";
  i.relname = "orders";
  i.indexrelname = std::move(name);
  i.access_method = "btree";
  i.key_columns = key_columns < 0 ? static_cast<int>(columns.size()) : key_columns;
  i.columns = std::move(columns);
  i.opclasses.assign(static_cast<std::size_t>(i.key_columns), kIntOps);
  i.collations.assign(static_cast<std::size_t>(i.key_columns), 0);
  return i;
}

const Redundancy* find(const std::vector<Redundancy>& r, const std::string& name) {
  const auto it = std::find_if(r.begin(), r.end(), [&](const Redundancy& x) { return x.index->indexrelname == name; });
  return it == r.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("redundant indexes: of identical ones the constraint's index is kept, else the oldest", "[indexes]") {
  auto pkey = btree(300, "orders_pkey", {1});
  pkey.unique = pkey.enforces_constraint = true;
  const std::vector<IndexDefinition> all = {btree(100, "orders_id_idx", {1}), pkey, btree(200, "orders_id_idx1", {1}),
                                            btree(400, "orders_b_idx", {2}), btree(500, "orders_b_idx1", {2})};
  const auto r = pghealthd::model::redundant_indexes(all);
  REQUIRE(r.size() == 3);
  REQUIRE(find(r, "orders_id_idx"));
  CHECK(find(r, "orders_id_idx")->kind == "duplicate");
  CHECK(find(r, "orders_id_idx")->covered_by->indexrelname == "orders_pkey");
  CHECK(find(r, "orders_id_idx1")->covered_by->indexrelname == "orders_pkey");
  CHECK_FALSE(find(r, "orders_pkey"));
  CHECK(find(r, "orders_b_idx1")->covered_by->indexrelname == "orders_b_idx");  // the oldest kept
  CHECK_FALSE(find(r, "orders_b_idx"));
}

TEST_CASE("redundant indexes: anything that differs makes two indexes not duplicates", "[indexes]") {
  const auto base = btree(100, "a", {2});
  auto other_table = btree(101, "b", {2});
  other_table.table_relid = 99999;
  auto hash = btree(102, "c", {2});
  hash.access_method = "hash";
  auto partial = btree(103, "d", {2});
  partial.predicate = "(status = 'open'::text)";
  auto opclass = btree(104, "e", {2});
  opclass.opclasses = {kTextPatternOps};
  auto collation = btree(105, "f", {2});
  collation.collations = {kDefaultCollation};
  auto options = btree(106, "g", {2});
  options.options = "{fillfactor=50}";
  auto include = btree(107, "h", {2, 3}, 1);
  const std::vector<IndexDefinition> all = {base, other_table, hash, partial, opclass, collation, options, include};
  const auto r = pghealthd::model::redundant_indexes(all);
  for (const auto& x : r) CHECK(x.kind != "duplicate");
}

TEST_CASE("redundant indexes: a btree that is a leading prefix of another is covered by it", "[indexes]") {
  const std::vector<IndexDefinition> all = {btree(100, "a", {2}), btree(101, "a_b", {2, 3}), btree(102, "a_b_c", {2, 3, 4}),
                                            btree(103, "b", {3}), btree(104, "b_a", {3, 2})};
  const auto r = pghealthd::model::redundant_indexes(all);
  REQUIRE(find(r, "a"));
  CHECK(find(r, "a")->kind == "prefix");
  CHECK(find(r, "a")->covered_by->indexrelname == "a_b");  // the longer index with the fewest columns
  CHECK(find(r, "a_b")->covered_by->indexrelname == "a_b_c");
  CHECK(find(r, "b")->covered_by->indexrelname == "b_a");
  CHECK_FALSE(find(r, "a_b_c"));
  CHECK_FALSE(find(r, "b_a"));
}

TEST_CASE("redundant indexes: partial, expression, unique and differently-ordered look-alikes are no prefixes",
          "[indexes]") {
  auto partial = btree(100, "open_a", {2});
  partial.predicate = "(status = 'open'::text)";
  auto expression = btree(101, "lower_a", {0});
  expression.expressions = "lower(email)";
  auto unique = btree(102, "unique_a", {2});
  unique.unique = true;
  auto pattern = btree(103, "a_pattern", {2});
  pattern.opclasses = {kTextPatternOps};
  auto include = btree(104, "a_incl_d", {2, 5}, 1);  // INCLUDE (d): a_b has no column 5
  auto brin = btree(105, "a_brin", {2});
  brin.access_method = "brin";
  const std::vector<IndexDefinition> all = {btree(200, "a_b", {2, 3}), partial, expression, unique, pattern, include, brin};
  const auto r = pghealthd::model::redundant_indexes(all);
  CHECK(r.empty());
  // The same partial predicate on both: then it is a prefix.
  auto partial_long = btree(201, "open_a_b", {2, 3});
  partial_long.predicate = partial.predicate;
  const std::vector<IndexDefinition> pair = {partial, partial_long};  // outlives the verdicts that point into it
  const auto r2 = pghealthd::model::redundant_indexes(pair);
  REQUIRE(r2.size() == 1);
  CHECK(r2[0].index->indexrelname == "open_a");
  (void)kTextOps;
}

TEST_CASE("sequence_used_ratio: the nearer of the sequence's own limit and its column type's", "[indexes]") {
  using pghealthd::model::sequence_used_ratio;
  SequenceState serial;  // serial: integer column, a bigint-range sequence
  serial.column_type = "integer";
  serial.last_value = 2147483647 / 2;
  CHECK(*sequence_used_ratio(serial) == Approx(0.5).epsilon(1e-6));
  serial.last_value = 2147483647;
  CHECK(*sequence_used_ratio(serial) == 1.0);
  SequenceState small_max;  // a bigint sequence with its own small maxvalue
  small_max.max_value = 1000;
  small_max.last_value = 901;
  small_max.column_type = "bigint";
  CHECK(*sequence_used_ratio(small_max) == Approx(900.0 / 999.0));  // (last - min) / (max - min)
  SequenceState big;  // bigint everywhere: far from anything
  big.last_value = 1000000;
  CHECK(*sequence_used_ratio(big) < 1e-9);
  SequenceState down;  // descending, smallint column
  down.increment = -1;
  down.max_value = -1;
  down.min_value = -9223372036854775807 - 1;
  down.column_type = "smallint";
  down.last_value = -16384;
  CHECK(*sequence_used_ratio(down) == Approx(16383.0 / 32767.0).epsilon(1e-6));
  SequenceState zero;
  zero.increment = 0;
  CHECK_FALSE(sequence_used_ratio(zero).has_value());
}

TEST_CASE("redundant indexes: many identical indexes are all covered by one keeper, tables judged apart",
          "[indexes]") {
  std::vector<IndexDefinition> all;
  for (int i = 0; i < 200; ++i) all.push_back(btree(1000 - i, "same_" + std::to_string(i), {2}));
  auto elsewhere = btree(5, "same_elsewhere", {2});  // an identical definition on another table
  elsewhere.table_relid = 77777;
  all.push_back(elsewhere);
  const auto r = pghealthd::model::redundant_indexes(all);
  REQUIRE(r.size() == 199);
  for (const auto& x : r) {
    CHECK(x.kind == "duplicate");
    CHECK(x.covered_by->indexrelname == "same_199");  // the oldest: the lowest OID of the table's
    CHECK(x.index->table_relid == 16384);
  }
  CHECK_FALSE(find(r, "same_elsewhere"));
}

TEST_CASE("sequence_limit: the nearer bound, for display beside the ratio", "[indexes]") {
  SequenceState s;
  s.column_type = "integer";
  CHECK(pghealthd::model::sequence_limit(s) == 2147483647);
  s.max_value = 1000;
  CHECK(pghealthd::model::sequence_limit(s) == 1000);
  s.increment = -1;
  s.min_value = -9223372036854775807 - 1;
  CHECK(pghealthd::model::sequence_limit(s) == -2147483648LL);
  s.column_type = "";
  CHECK(pghealthd::model::sequence_limit(s) == s.min_value);
}
