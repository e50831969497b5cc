// model::Nullable: std::optional's behaviour in the size of the value.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>

#include "model/stats.h"

using pghealthd::model::Count;
using pghealthd::model::Seconds;

TEST_CASE("Nullable: NULL and values behave as std::optional's", "[nullable]") {
  static_assert(sizeof(Count) == 8 && sizeof(Seconds) == 8);
  Count none;
  CHECK_FALSE(none.has_value());
  CHECK_FALSE(none);
  CHECK(none == std::nullopt);
  CHECK(none.value_or(7) == 7);
  CHECK_THROWS_AS(none.value(), std::bad_optional_access);
  CHECK(std::optional<std::int64_t>(none) == std::nullopt);

  Count zero = 0;  // 0 is a value, not NULL
  REQUIRE(zero);
  CHECK(*zero == 0);
  CHECK(zero != std::nullopt);
  CHECK(zero != none);
  CHECK(zero == 0);

  const Count big = std::numeric_limits<std::int64_t>::max();
  CHECK(big.value() == std::numeric_limits<std::int64_t>::max());
  CHECK(std::optional<std::int64_t>(big) == std::numeric_limits<std::int64_t>::max());

  Count from_parser = std::optional<std::int64_t>(42);
  CHECK(from_parser == 42);
  from_parser = std::optional<std::int64_t>();
  CHECK_FALSE(from_parser);
  from_parser = 5;
  from_parser.reset();
  CHECK(from_parser == none);  // NULL equals NULL, as std::optional
}

TEST_CASE("Nullable: a number's NULL is not any number, 0 and negatives included", "[nullable]") {
  Seconds none = std::nullopt;
  CHECK_FALSE(none);
  CHECK(none == Seconds());
  CHECK(none != 0.0);
  const Seconds minus = -1.5;
  REQUIRE(minus);
  CHECK(minus == Approx(-1.5));
  CHECK(minus.value_or(0) == -1.5);
  CHECK(std::optional<double>(minus) == -1.5);
  CHECK(minus != none);
  CHECK(Seconds(std::optional<double>(0.0)) == 0.0);
}
