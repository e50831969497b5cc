// pg::PackedRows: the rows of an answer as they arrived, read back field by field.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/rows.h"

namespace {

using pghealthd::pg::PackedRows;
using Field = std::optional<std::string_view>;

bool append(PackedRows& rows, std::vector<Field> fields) { return rows.append(fields.data(), fields.size()); }

}  // namespace

TEST_CASE("PackedRows: every field reads back as it came, NULL apart from the empty string", "[rows]") {
  PackedRows rows;
  rows.set_columns({"relname", "n_dead_tup", "reloptions"});
  REQUIRE(append(rows, {"t1", "42", std::nullopt}));
  REQUIRE(append(rows, {"", std::nullopt, "{fillfactor=70}"}));
  REQUIRE(rows.size() == 2);
  CHECK(rows.column("n_dead_tup") == 1);
  CHECK(rows.column("N_DEAD_TUP") == -1);
  CHECK(rows.get(0, 0) == Field("t1"));
  CHECK(rows.get(0, 1) == Field("42"));
  CHECK(rows.get(0, 2) == std::nullopt);
  CHECK(rows.get(1, 0) == Field(""));
  CHECK(rows.get(1, 1) == std::nullopt);
  CHECK(rows.get(1, 2) == Field("{fillfactor=70}"));
  CHECK(rows.get(1, 3) == std::nullopt);  // no such column
}

TEST_CASE("PackedRows: many rows and a row larger than a chunk keep their text", "[rows]") {
  PackedRows rows;
  rows.set_columns({"id", "text"});
  const std::string big(200'000, 'x');
  for (int i = 0; i < 20'000; ++i) {
    const std::string id = std::to_string(i);
    REQUIRE(append(rows, {id, i == 7'000 ? Field(big) : Field("n")}));
  }
  REQUIRE(rows.size() == 20'000);
  for (int i = 0; i < 20'000; i += 997) CHECK(rows.get(i, 0) == Field(std::to_string(i)));
  CHECK(rows.get(19'999, 0) == Field("19999"));
  CHECK(rows.get(7'000, 1)->size() == big.size());
  CHECK(rows.get(7'001, 1) == Field("n"));
}

TEST_CASE("PackedRows: lengths around the one-byte limit read back whole", "[rows]") {
  PackedRows rows;
  rows.set_columns({"a", "b", "c", "d"});
  const std::string s253(253, 'a'), s254(254, 'b'), s255(255, 'c'), s256(256, 'd');
  REQUIRE(append(rows, {s253, s254, s255, s256}));
  REQUIRE(append(rows, {std::nullopt, s256, std::nullopt, ""}));
  CHECK(rows.get(0, 0) == Field(s253));
  CHECK(rows.get(0, 1) == Field(s254));
  CHECK(rows.get(0, 2) == Field(s255));
  CHECK(rows.get(0, 3) == Field(s256));
  CHECK(rows.get(1, 0) == std::nullopt);
  CHECK(rows.get(1, 1) == Field(s256));
  CHECK(rows.get(1, 2) == std::nullopt);
  CHECK(rows.get(1, 3) == Field(""));
}

TEST_CASE("PackedRows: a row with another count of fields is refused and changes nothing", "[rows]") {
  PackedRows rows;
  rows.set_columns({"a", "b"});
  CHECK_FALSE(append(rows, {"1"}));
  CHECK(rows.size() == 0);
  REQUIRE(append(rows, {"1", "2"}));
  rows.clear();
  CHECK(rows.size() == 0);
  CHECK(rows.column("b") == 1);  // the columns stay: an answer without rows still has them
}
