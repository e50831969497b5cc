// Name patterns (config/pattern.h): whole-name matching, include/exclude, and patterns that would make a
// backtracking engine run for hours matched at once.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "config/pattern.h"

using pghealthd::config::compile_patterns;
using pghealthd::config::Pattern;
using pghealthd::config::pattern_error;
using pghealthd::config::selected;

TEST_CASE("a pattern matches the whole name only", "[pattern]") {
  const Pattern p("app_[0-9]+");
  CHECK(p.matches("app_12"));
  CHECK_FALSE(p.matches("app_12x"));
  CHECK_FALSE(p.matches("xapp_12"));
  CHECK(Pattern("(?i)orderline_.*").matches("OrderLine_000010"));
  CHECK(p.text() == "app_[0-9]+");
}

TEST_CASE("include and exclude select names", "[pattern]") {
  const auto include = compile_patterns({"sales_.*", "billing"});
  const auto exclude = compile_patterns({".*_archive"});
  CHECK(selected("sales_eu", include, exclude));
  CHECK(selected("billing", include, exclude));
  CHECK_FALSE(selected("sales_eu_archive", include, exclude));
  CHECK_FALSE(selected("hr", include, exclude));
  CHECK(selected("anything", {}, {}));
  CHECK_FALSE(selected("x_archive", {}, exclude));
}

TEST_CASE("catastrophic patterns for a backtracking engine match in linear time", "[pattern]") {
  // std::regex needs ~2^n steps for these against a name of n characters that almost matches; with
  // n = 5000 this test would never end. (ctest's timeout is the bound, not a timed assertion.)
  const std::string name = std::string(5000, 'a') + "!";
  CHECK_FALSE(Pattern("(a*)*b").matches(name));
  CHECK_FALSE(Pattern("(.*)*_archive").matches(name));
  CHECK_FALSE(Pattern("(a|aa)+$x").matches(name));
}

TEST_CASE("invalid patterns are reported, not thrown at match time", "[pattern]") {
  CHECK(pattern_error("app_(") .has_value());
  CHECK_FALSE(pattern_error("app_.*").has_value());
  CHECK_THROWS_AS(Pattern("(?<=x)y"), std::invalid_argument);
}
