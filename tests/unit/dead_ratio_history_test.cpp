// The health page's dead-ratio sparklines: model::DeadRatioHistory (what each table's last hour holds) and
// report::sparkline_svg (how it is drawn).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "model/dead_ratio_history.h"
#include "model/stats.h"
#include "report/sparkline.h"

namespace {

using pghealthd::model::DeadRatioHistory;
using pghealthd::model::TableStats;
using pghealthd::report::sparkline_svg;
using Series = std::vector<std::optional<float>>;

constexpr std::size_t kSlots = DeadRatioHistory::kSlots;
constexpr std::size_t kLast = kSlots - 1;

// The start of a unix minute (2023-11-14 22:13 UTC), and a time `seconds` into its `minute`-th successor.
constexpr double kBase = 60.0 * 28333333;
double at(int minute, double seconds = 0) { return kBase + 60.0 * minute + seconds; }

// A table whose dead-row ratio is `ratio`, out of a million rows.
TableStats table(std::int64_t relid, double ratio) {
  TableStats t;
  t.relid = relid;
  const auto dead = static_cast<std::int64_t>(ratio * 1'000'000 + 0.5);
  t.dead_tuples = dead;
  t.live_tuples = 1'000'000 - dead;
  return t;
}

std::size_t readings_in(const Series& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](const auto& r) { return r.has_value(); }));
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

// --- DeadRatioHistory -----------------------------------------------------------------------------------

TEST_CASE("readings land in their minute and come back oldest first, the last one now's", "[history]") {
  DeadRatioHistory h;
  h.observe({table(1, 0.10)}, at(0, 5));
  h.observe({table(1, 0.20)}, at(1, 5));
  h.observe({table(1, 0.30)}, at(2, 5));

  const auto s = h.series(1, at(2, 40));
  REQUIRE(s.size() == kSlots);
  CHECK(readings_in(s) == 3);
  REQUIRE(s[kLast - 2]);
  REQUIRE(s[kLast - 1]);
  REQUIRE(s[kLast]);
  CHECK(*s[kLast - 2] == Approx(0.10).margin(1e-4));
  CHECK(*s[kLast - 1] == Approx(0.20).margin(1e-4));
  CHECK(*s[kLast] == Approx(0.30).margin(1e-4));
  CHECK(h.tables() == 1);
}

TEST_CASE("asked later, the same readings sit further back in the hour", "[history]") {
  DeadRatioHistory h;
  h.observe({table(1, 0.10)}, at(0));
  auto s = h.series(1, at(30));
  REQUIRE(s[kLast - 30]);
  CHECK(*s[kLast - 30] == Approx(0.10).margin(1e-4));
  CHECK(readings_in(s) == 1);
  CHECK(readings_in(h.series(1, at(59))) == 1);
  CHECK(readings_in(h.series(1, at(60))) == 0);  // an hour later it is out of the window
}

TEST_CASE("the latest reading within a minute wins", "[history]") {
  DeadRatioHistory h;
  h.observe({table(1, 0.10)}, at(0, 0));
  h.observe({table(1, 0.30)}, at(0, 30));
  h.observe({table(1, 0.20)}, at(0, 59.9));
  const auto s = h.series(1, at(0, 59.9));
  CHECK(readings_in(s) == 1);
  REQUIRE(s[kLast]);
  CHECK(*s[kLast] == Approx(0.20).margin(1e-4));
}

TEST_CASE("a minute with no snapshot is a gap", "[history]") {
  DeadRatioHistory h;
  h.observe({table(1, 0.10)}, at(0));
  h.observe({table(1, 0.30)}, at(2));
  const auto s = h.series(1, at(2));
  CHECK(s[kLast - 2]);
  CHECK_FALSE(s[kLast - 1]);
  CHECK(s[kLast]);
}

TEST_CASE("a table missing from a snapshot or without a ratio gets no reading for it", "[history]") {
  DeadRatioHistory h;
  h.observe({table(1, 0.10), table(2, 0.20)}, at(0));
  TableStats no_ratio = table(2, 0.5);
  no_ratio.live_tuples = std::nullopt;  // NULL in the view
  h.observe({no_ratio}, at(1));
  const auto one = h.series(1, at(1));
  const auto two = h.series(2, at(1));
  CHECK(one[kLast - 1]);
  CHECK_FALSE(one[kLast]);
  REQUIRE(two[kLast - 1]);
  CHECK(*two[kLast - 1] == Approx(0.20).margin(1e-4));
  CHECK_FALSE(two[kLast]);

  TableStats never = table(3, 0.1);
  never.dead_tuples = std::nullopt;
  h.observe({never}, at(1, 10));
  CHECK(h.tables() == 2);  // a table that never had a ratio is not remembered
  CHECK(readings_in(h.series(3, at(1))) == 0);
}

TEST_CASE("an unknown table has an hour of no readings", "[history]") {
  DeadRatioHistory h;
  CHECK(h.series(42, at(0)) == Series(kSlots));
  h.observe({table(1, 0.1)}, at(0));
  CHECK(h.series(42, at(0)) == Series(kSlots));
}

TEST_CASE("readings older than an hour are gone once the hour wraps", "[history]") {
  DeadRatioHistory h;
  for (int m = 0; m < 60; ++m) h.observe({table(1, m / 100.0)}, at(m));
  auto s = h.series(1, at(59));
  CHECK(readings_in(s) == kSlots);
  REQUIRE(s[0]);
  CHECK(*s[0] == Approx(0.00).margin(1e-4));

  h.observe({table(1, 0.99)}, at(60));  // minute 60 takes minute 0's slot
  s = h.series(1, at(60));
  CHECK(readings_in(s) == kSlots);
  REQUIRE(s[0]);
  CHECK(*s[0] == Approx(0.01).margin(1e-4));  // minute 1 is now the oldest
  REQUIRE(s[kLast - 1]);
  CHECK(*s[kLast - 1] == Approx(0.59).margin(1e-4));
  REQUIRE(s[kLast]);
  CHECK(*s[kLast] == Approx(0.99).margin(1e-4));
}

TEST_CASE("after a pause in the snapshots, only the last hour's readings remain", "[history]") {
  DeadRatioHistory h;
  for (int m = 0; m <= 10; ++m) h.observe({table(1, 0.10), table(2, 0.20)}, at(m));

  SECTION("a pause shorter than an hour keeps the readings still inside it") {
    h.observe({table(1, 0.50)}, at(65));  // the window is minutes 6..65
    const auto s = h.series(1, at(65));
    CHECK(readings_in(s) == 6);  // minutes 6..10 and 65
    for (std::size_t i = 0; i <= 4; ++i) CHECK(s[i]);
    for (std::size_t i = 5; i < kLast; ++i) CHECK_FALSE(s[i]);
    REQUIRE(s[kLast]);
    CHECK(*s[kLast] == Approx(0.50).margin(1e-4));
    CHECK(h.tables() == 2);  // table 2 was seen within the hour
  }
  SECTION("a pause of more than an hour leaves only the new reading") {
    h.observe({table(1, 0.50)}, at(200));  // in the slot minute 20 had, and 140 would have had
    const auto s = h.series(1, at(200));
    CHECK(readings_in(s) == 1);
    CHECK(s[kLast]);
    CHECK(h.tables() == 1);  // table 2 was not seen for more than an hour
    CHECK(readings_in(h.series(2, at(200))) == 0);
    // The slots of minutes 0..10 held readings: none shows up as one of minutes 180..190.
    h.observe({table(1, 0.60)}, at(201));
    CHECK(readings_in(h.series(1, at(201))) == 2);
  }
}

TEST_CASE("a table not seen for an hour is forgotten, and its row holds none of its readings for the next",
          "[history]") {
  DeadRatioHistory h;
  for (int m = 0; m <= 5; ++m) h.observe({table(1, 0.01), table(2, 0.02), table(3, 0.77)}, at(m));
  for (int m = 6; m <= 64; ++m) h.observe({table(1, 0.01), table(2, 0.02)}, at(m));
  CHECK(h.tables() == 3);  // table 3's minute-5 reading is still within the hour
  const auto bytes_before = h.memory_bytes();

  h.observe({table(1, 0.01), table(2, 0.02)}, at(65));
  CHECK(h.tables() == 2);
  CHECK(h.series(3, at(65)) == Series(kSlots));

  h.observe({table(1, 0.01), table(2, 0.02), table(4, 0.04)}, at(66));
  CHECK(h.tables() == 3);
  const auto s = h.series(4, at(66));
  CHECK(readings_in(s) == 1);
  REQUIRE(s[kLast]);
  CHECK(*s[kLast] == Approx(0.04).margin(1e-4));
  CHECK(h.memory_bytes() < bytes_before + 2 * kSlots);  // table 4 took table 3's row: no new one
  // And table 3, back again, starts afresh too.
  h.observe({table(3, 0.03)}, at(66, 30));
  CHECK(readings_in(h.series(3, at(66))) == 1);
}

TEST_CASE("a ratio comes back within 1e-4", "[history]") {
  DeadRatioHistory h;
  const std::vector<double> ratios{0.0, 1.0, 0.123456, 1.0 / 3, 0.99999, 0.00005};
  std::vector<TableStats> snapshot;
  for (std::size_t i = 0; i < ratios.size(); ++i)
    snapshot.push_back(table(static_cast<std::int64_t>(i), ratios[i]));
  h.observe(snapshot, at(0));
  for (std::size_t i = 0; i < ratios.size(); ++i) {
    const auto s = h.series(static_cast<std::int64_t>(i), at(0));
    REQUIRE(s[kLast]);
    CHECK(*s[kLast] == Approx(ratios[i]).margin(1e-4));
  }
  // An empty table is 0 and a table of dead rows only 1, as dead_tuple_ratio says.
  TableStats empty;
  empty.relid = 100;
  empty.live_tuples = 0;
  empty.dead_tuples = 0;
  h.observe({empty}, at(0, 1));
  REQUIRE(h.series(100, at(0))[kLast]);
  CHECK(*h.series(100, at(0))[kLast] == 0.0f);
}

TEST_CASE("time going backwards does not corrupt the history", "[history]") {
  DeadRatioHistory h;
  h.observe({table(1, 0.10)}, at(9));
  h.observe({table(1, 0.20)}, at(10));

  SECTION("a snapshot from a minute already past is ignored") {
    h.observe({table(1, 0.90), table(2, 0.90)}, at(9, 30));
    h.observe({table(1, 0.90)}, at(-40));  // within the hour before: the slot of minute 20, never written
    auto s = h.series(1, at(10));
    CHECK(readings_in(s) == 2);
    REQUIRE(s[kLast - 1]);
    CHECK(*s[kLast - 1] == Approx(0.10).margin(1e-4));
    REQUIRE(s[kLast]);
    CHECK(*s[kLast] == Approx(0.20).margin(1e-4));
    CHECK(h.tables() == 1);

    h.observe({table(1, 0.30)}, at(11));  // and the clock moving on again works as before
    s = h.series(1, at(11));
    CHECK(readings_in(s) == 3);
    REQUIRE(s[kLast]);
    CHECK(*s[kLast] == Approx(0.30).margin(1e-4));
  }
  SECTION("a clock set back by more than an hour starts the history afresh") {
    h.observe({table(2, 0.50)}, at(-100));
    CHECK(h.tables() == 1);
    CHECK(h.series(1, at(-100)) == Series(kSlots));
    const auto s = h.series(2, at(-100));
    CHECK(readings_in(s) == 1);
    CHECK(s[kLast]);
    // The readings of the abandoned future do not come back when the clock reaches them again.
    h.observe({table(2, 0.60)}, at(10));
    CHECK(readings_in(h.series(1, at(10))) == 0);
    CHECK(readings_in(h.series(2, at(10))) == 1);
  }
  SECTION("asking about a time before the newest minute shows what was known then") {
    const auto s = h.series(1, at(9));
    CHECK(readings_in(s) == 1);
    REQUIRE(s[kLast]);
    CHECK(*s[kLast] == Approx(0.10).margin(1e-4));
  }
  SECTION("a time no clock gives is ignored") {
    h.observe({table(1, 0.90)}, std::numeric_limits<double>::quiet_NaN());
    h.observe({table(1, 0.90)}, std::numeric_limits<double>::infinity());
    CHECK(h.series(1, std::numeric_limits<double>::quiet_NaN()) == Series(kSlots));
    CHECK(readings_in(h.series(1, at(10))) == 2);
    CHECK(*h.series(1, at(10))[kLast] == Approx(0.20).margin(1e-4));
  }
}

TEST_CASE("the history of 10,000 tables takes about 2 bytes a minute per table", "[history]") {
  constexpr std::int64_t kTables = 10'000;
  DeadRatioHistory h;
  std::vector<TableStats> snapshot;
  for (std::int64_t relid = 16384; relid < 16384 + kTables; ++relid) snapshot.push_back(table(relid, 0.05));
  for (int m = 0; m < 90; ++m) h.observe(snapshot, at(m, 10));  // past the wrap: slots are reused
  CHECK(h.tables() == static_cast<std::size_t>(kTables));
  const double per_table = static_cast<double>(h.memory_bytes()) / kTables;
  INFO("memory_bytes per table: " << per_table);
  CHECK(per_table >= 2.0 * kSlots);
  CHECK(per_table < 250);

  SECTION("and gives most of it back when most tables are gone") {
    snapshot.resize(100);
    for (int m = 90; m < 160; ++m) h.observe(snapshot, at(m));
    CHECK(h.tables() == 100);
    CHECK(h.memory_bytes() < 100 * 250 + 4096);
    CHECK(readings_in(h.series(16384, at(159))) == kSlots);
  }
}

// --- sparkline_svg --------------------------------------------------------------------------------------

TEST_CASE("a sparkline of no readings is empty", "[sparkline]") {
  CHECK(sparkline_svg({}).empty());
  CHECK(sparkline_svg(Series(kSlots)).empty());
}

TEST_CASE("a sparkline is one inline SVG with no reference to anything outside it", "[sparkline]") {
  Series readings;
  for (std::size_t i = 0; i < kSlots; ++i) readings.emplace_back(0.0731f * static_cast<float>(i) / kLast);
  const auto svg = sparkline_svg(readings);
  INFO(svg);
  CHECK(
      svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"24\" "
                      "viewBox=\"0 0 120 24\" role=\"img\" class=\"spark\""));
  CHECK(svg.ends_with("</svg>"));
  CHECK(count(svg, "<polyline") == 1);
  CHECK(count(svg, "<circle") == 0);
  CHECK(svg.find("fill=\"none\"") != std::string::npos);
  CHECK(svg.find("stroke=\"currentColor\"") != std::string::npos);
  CHECK(svg.find("href") == std::string::npos);
  CHECK(svg.find("url(") == std::string::npos);
  CHECK(svg.find("<script") == std::string::npos);
  INFO("bytes: " << svg.size());
  CHECK(svg.size() < 800);
}

TEST_CASE("a sparkline's title says what it shows in words", "[sparkline]") {
  const auto svg = sparkline_svg({0.0f, std::nullopt, 0.02f, 0.0731f});
  CHECK(svg.find("<title>dead rows over the last hour: 0.00% to 7.31%, now 7.31%</title>") !=
        std::string::npos);
  // No reading this minute: the last one is not "now".
  const auto stale = sparkline_svg({0.01f, 0.0731f, 0.02f, std::nullopt});
  CHECK(stale.find("<title>dead rows over the last hour: 1.00% to 7.31%, latest 2.00%</title>") !=
        std::string::npos);
}

TEST_CASE("a gap in the readings is a gap in the line", "[sparkline]") {
  const auto svg = sparkline_svg({0.01f, 0.02f, std::nullopt, std::nullopt, 0.03f, 0.04f});
  CHECK(count(svg, "<polyline") == 2);
  CHECK(count(svg, "<circle") == 0);
}

TEST_CASE("a reading alone between gaps is a dot", "[sparkline]") {
  const auto svg = sparkline_svg({std::nullopt, 0.02f, std::nullopt, 0.03f, 0.04f});
  CHECK(count(svg, "<circle") == 1);
  CHECK(count(svg, "<polyline") == 1);
  CHECK(sparkline_svg({0.5f}).find("<circle cx=\"60\" cy=\"1.5\"") != std::string::npos);  // at the top
}

TEST_CASE("a sparkline spans 0 at the bottom to its highest reading at the top", "[sparkline]") {
  // x from 1 to 119, y from 22.5 (0) to 1.5 (the top), inside the stroke's margin.
  CHECK(sparkline_svg({0.25f, 0.5f}).find("points=\"1,12 119,1.5\"") != std::string::npos);
  CHECK(sparkline_svg({0.0f, 0.5f}).find("points=\"1,22.5 119,1.5\"") != std::string::npos);
}

TEST_CASE("a flat low line stays near the bottom: the top is at least the floor", "[sparkline]") {
  const Series flat(kSlots, 0.001f);  // 0.1% dead rows: 1/50 of the default 5% floor
  const auto svg = sparkline_svg(flat);
  CHECK(count(svg, ",22.1") == kSlots);  // 1.5 + 21 * (1 - 0.02)
  CHECK(sparkline_svg({0.001f, 0.001f}, 0.001).find("points=\"1,1.5 119,1.5\"") != std::string::npos);
  // A reading above the floor sets the top itself.
  CHECK(sparkline_svg({0.1f, 0.2f}, 0.05).find("points=\"1,12 119,1.5\"") != std::string::npos);
  // All zeros, no floor: a line along the bottom, not a division by zero.
  CHECK(sparkline_svg({0.0f, 0.0f}, 0).find("points=\"1,22.5 119,22.5\"") != std::string::npos);
}
