// parse_config() of the `vacuum:` section (and the xmin_horizon collector): every key lands in
// cfg.vacuum, omitted keys keep their defaults, and every bad value is reported at its line and column.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/load.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using pghealthd::config::Config;
using pghealthd::config::format_problem;
using pghealthd::config::parse_config;
using pghealthd::config::Problem;

// Lines 1-3 of every file here.
const std::string kTarget =
    "targets:\n"
    "  - name: a\n"
    "    conninfo: \"host=/tmp\"\n";

std::string describe(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += format_problem("config.yaml", p) + "\n";
  return out;
}

Config config_of(const std::string& yaml) {
  auto result = parse_config(yaml);
  if (auto* problems = std::get_if<std::vector<Problem>>(&result))
    FAIL("expected a valid configuration, got:\n" << describe(*problems) << "for:\n" << yaml);
  return std::get<Config>(std::move(result));
}

// Checks that kTarget + `vacuum_yaml` has exactly one problem, at line:column, whose message contains `text`.
void check_single_problem(const std::string& vacuum_yaml, int line, int column, const std::string& text) {
  const std::string yaml = kTarget + vacuum_yaml;
  INFO("configuration:\n" << yaml);
  auto result = parse_config(yaml);
  REQUIRE(std::holds_alternative<std::vector<Problem>>(result));
  const auto& problems = std::get<std::vector<Problem>>(result);
  INFO("problems:\n" << describe(problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == line);
  CHECK(problems[0].column == column);
  CHECK_THAT(problems[0].message, Contains(text));
}

}  // namespace

// --- valid configurations ------------------------------------------------------------------------------

TEST_CASE("every vacuum key lands in cfg.vacuum", "[config][vacuum]") {
  const Config cfg = config_of(kTarget +
                               "vacuum:\n"
                               "  enabled: true\n"
                               "  dry_run: true\n"
                               "  dead_tuple_ratio: 0.1\n"
                               "  min_dead_tuples: 500\n"
                               "  cooldown: 30m\n"
                               "  max_concurrent: 2\n"
                               "  max_per_hour: 20\n"
                               "  windows:\n"
                               "    - days: [mon, tue, wed, thu, fri]\n"
                               "      start: \"01:00\"\n"
                               "      end: \"05:30\"\n"
                               "    - days: [Saturday, SUN]\n"
                               "      start: 22:00\n"
                               "      end: \"06:00\"\n"
                               "    - start: \"12:00\"\n"
                               "      end: \"24:00\"\n"
                               "  timezone: Europe/Berlin\n"
                               "  lock_timeout: 2s\n"
                               "  max_duration: 2h\n"
                               "  cost_delay: 2ms\n"
                               "  cost_limit: 1000\n"
                               "  truncate: true\n"
                               "  only_when_autovacuum_late: true\n"
                               "  analyze_only:\n"
                               "    enabled: false\n"
                               "    min_modified_tuples: 5000\n"
                               "    modified_ratio: 0.2\n"
                               "  tables:\n"
                               "    - schema: audit\n"
                               "      exclude: true\n"
                               "    - table: \"queue_.*\"\n"
                               "      dead_tuple_ratio: 0.01\n"
                               "      min_dead_tuples: 10\n"
                               "      cooldown: 5m\n");
  const auto& v = cfg.vacuum;
  CHECK(v.enabled);
  CHECK(v.dry_run);
  CHECK(v.dead_tuple_ratio == 0.1);
  CHECK(v.min_dead_tuples == 500);
  CHECK(v.cooldown == 30min);
  CHECK(v.max_concurrent == 2);
  CHECK(v.max_per_hour == 20);
  CHECK(v.timezone == "Europe/Berlin");
  CHECK(v.lock_timeout == 2s);
  CHECK(v.max_duration == 2h);
  CHECK(v.cost_delay == 2ms);
  CHECK(v.cost_limit == 1000);
  CHECK(v.truncate);
  CHECK(v.only_when_autovacuum_late);
  CHECK_FALSE(v.analyze_only.enabled);
  CHECK(v.analyze_only.min_modified_tuples == 5000);
  CHECK(v.analyze_only.modified_ratio == 0.2);

  REQUIRE(v.windows.size() == 3);
  //                                               sun    mon   tue   wed   thu   fri   sat
  CHECK(v.windows[0].days == std::array<bool, 7>{false, true, true, true, true, true, false});
  CHECK(v.windows[0].start_minute == 60);
  CHECK(v.windows[0].end_minute == 5 * 60 + 30);
  CHECK(v.windows[1].days == std::array<bool, 7>{true, false, false, false, false, false, true});
  CHECK(v.windows[1].start_minute == 22 * 60);
  CHECK(v.windows[1].end_minute == 6 * 60);
  // Without days: every day.
  CHECK(v.windows[2].days == std::array<bool, 7>{true, true, true, true, true, true, true});
  CHECK(v.windows[2].start_minute == 12 * 60);
  CHECK(v.windows[2].end_minute == 24 * 60);

  REQUIRE(v.tables.size() == 2);
  CHECK(v.tables[0].schema == "audit");
  CHECK(v.tables[0].table == ".*");
  CHECK(v.tables[0].exclude);
  CHECK_FALSE(v.tables[0].dead_tuple_ratio.has_value());
  CHECK_FALSE(v.tables[0].min_dead_tuples.has_value());
  CHECK_FALSE(v.tables[0].cooldown.has_value());
  CHECK(v.tables[1].schema == ".*");
  CHECK(v.tables[1].table == "queue_.*");
  CHECK_FALSE(v.tables[1].exclude);
  CHECK(v.tables[1].dead_tuple_ratio == 0.01);
  CHECK(v.tables[1].min_dead_tuples == 10);
  CHECK(v.tables[1].cooldown == std::chrono::milliseconds(5min));
}

TEST_CASE("without a vacuum section vacuum is off with the documented defaults", "[config][vacuum]") {
  const Config cfg = config_of(kTarget);
  const auto& v = cfg.vacuum;
  CHECK_FALSE(v.enabled);
  CHECK_FALSE(v.dry_run);
  CHECK(v.dead_tuple_ratio == 0.05);
  CHECK(v.min_dead_tuples == 100);
  CHECK(v.cooldown == 1h);
  CHECK(v.max_concurrent == 1);
  CHECK(v.max_per_hour == 10);
  CHECK(v.windows.empty());
  CHECK(v.timezone == "UTC");
  CHECK(v.lock_timeout == 1s);
  CHECK(v.max_duration == 1h);
  CHECK(v.cost_delay == 0ms);
  CHECK(v.cost_limit == 200);
  CHECK_FALSE(v.truncate);
  CHECK_FALSE(v.only_when_autovacuum_late);
  CHECK(v.analyze_only.enabled);
  CHECK(v.analyze_only.min_modified_tuples == 1000);
  CHECK(v.analyze_only.modified_ratio == 0.1);
  CHECK(v.tables.empty());
}

TEST_CASE("a vacuum section that names only some keys keeps the defaults of the others", "[config][vacuum]") {
  const Config cfg = config_of(kTarget +
                               "vacuum:\n"
                               "  enabled: true\n"
                               "  analyze_only:\n"
                               "    modified_ratio: 0.5\n");
  const auto& v = cfg.vacuum;
  CHECK(v.enabled);
  CHECK_FALSE(v.dry_run);
  CHECK(v.dead_tuple_ratio == 0.05);
  CHECK(v.min_dead_tuples == 100);
  CHECK(v.cooldown == 1h);
  CHECK(v.max_concurrent == 1);
  CHECK(v.max_per_hour == 10);
  CHECK(v.timezone == "UTC");
  CHECK(v.lock_timeout == 1s);
  CHECK(v.max_duration == 1h);
  CHECK(v.cost_delay == 0ms);
  CHECK(v.cost_limit == 200);
  CHECK_FALSE(v.truncate);
  CHECK(v.analyze_only.enabled);
  CHECK(v.analyze_only.min_modified_tuples == 1000);
  CHECK(v.analyze_only.modified_ratio == 0.5);
}

TEST_CASE("the vacuum limits accept their boundary values", "[config][vacuum]") {
  const Config cfg = config_of(kTarget +
                               "vacuum:\n"
                               "  dead_tuple_ratio: 0\n"
                               "  min_dead_tuples: 0\n"
                               "  cooldown: 0s\n"
                               "  max_concurrent: 64\n"
                               "  cost_delay: 100ms\n");
  CHECK(cfg.vacuum.dead_tuple_ratio == 0.0);
  CHECK(cfg.vacuum.min_dead_tuples == 0);
  CHECK(cfg.vacuum.cooldown == 0ms);
  CHECK(cfg.vacuum.max_concurrent == 64);
  CHECK(cfg.vacuum.cost_delay == 100ms);
  CHECK(config_of(kTarget + "vacuum:\n  dead_tuple_ratio: 1\n").vacuum.dead_tuple_ratio == 1.0);
}

TEST_CASE("weekdays are read in any case, abbreviated or in full", "[config][vacuum]") {
  const std::string day = GENERATE(as<std::string>{}, "wed", "Wed", "WED", "wednesday", "Wednesday", "wednes");
  INFO(day);
  const Config cfg = config_of(kTarget +
                               "vacuum:\n"
                               "  windows:\n"
                               "    - days: [" +
                               day +
                               "]\n"
                               "      start: \"01:00\"\n"
                               "      end: \"02:00\"\n");
  REQUIRE(cfg.vacuum.windows.size() == 1);
  CHECK(cfg.vacuum.windows[0].days == std::array<bool, 7>{false, false, false, true, false, false, false});
}

TEST_CASE("the xmin_horizon collector is configured like the others", "[config][vacuum]") {
  const Config cfg = config_of(kTarget +
                               "collectors:\n"
                               "  xmin_horizon: {interval: 10s}\n");
  CHECK(cfg.collectors.xmin_horizon.enabled);
  CHECK(cfg.collectors.xmin_horizon.interval == 10s);
  const Config off = config_of(kTarget +
                               "collectors:\n"
                               "  xmin_horizon:\n"
                               "    enabled: false\n");
  CHECK_FALSE(off.collectors.xmin_horizon.enabled);
  CHECK(off.collectors.xmin_horizon.interval == 60s);
}

TEST_CASE("the xmin_horizon collector runs every minute by default", "[config][vacuum]") {
  const Config cfg = config_of(kTarget);
  CHECK(cfg.collectors.xmin_horizon.enabled);
  CHECK(cfg.collectors.xmin_horizon.interval == 60s);
}

// --- errors ---------------------------------------------------------------------------------------------

TEST_CASE("an unknown key in vacuum is reported at the key", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  enable: true\n",
      5, 3, "unknown key 'enable' in vacuum");
}

TEST_CASE("an unknown key in vacuum.analyze_only is reported at the key", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  analyze_only:\n"
      "    min_modified: 10\n",
      6, 5, "unknown key 'min_modified' in vacuum.analyze_only");
}

TEST_CASE("a dead_tuple_ratio over 1 is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  dead_tuple_ratio: 1.5\n",
      5, 21, "vacuum.dead_tuple_ratio must be a number from 0 to 1");
}

TEST_CASE("a negative min_dead_tuples is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  min_dead_tuples: -1\n",
      5, 20, "vacuum.min_dead_tuples must be a whole number from 0");
}

TEST_CASE("an unknown time zone is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  timezone: Mars/Olympus\n",
      5, 13, "vacuum.timezone 'Mars/Olympus' is not a known time zone");
}

TEST_CASE("a window day that is not a weekday is reported at the day", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - days: [mon, funday]\n"
      "      start: \"01:00\"\n"
      "      end: \"02:00\"\n",
      6, 19, "vacuum.windows[0].days: 'funday' is not a weekday");
}

TEST_CASE("a window day that only begins like a weekday is reported", "[config][vacuum][errors]") {
  const std::string day = GENERATE(as<std::string>{}, "monkey", "sunshine", "satan", "mo", "wedding");
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - days: [" +
          day +
          "]\n"
          "      start: \"01:00\"\n"
          "      end: \"02:00\"\n",
      6, 14, "vacuum.windows[0].days: '" + day + "' is not a weekday");
}

TEST_CASE("a window time that is not HH:MM from 00:00 to 24:00 is reported at the value",
          "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - start: \"25:00\"\n"
      "      end: \"02:00\"\n",
      6, 14, "vacuum.windows[0].start must be a time of day as HH:MM");
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - start: \"01:00\"\n"
      "      end: \"7:00\"\n",
      7, 12, "vacuum.windows[0].end must be a time of day as HH:MM");
  const std::string bad = GENERATE(as<std::string>{}, "24:01", "12:60", "1200", "12-00", "ab:cd", "");
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - start: \"01:00\"\n"
      "      end: \"" +
          bad + "\"\n",
      7, 12, "vacuum.windows[0].end must be a time of day as HH:MM");
}

TEST_CASE("a window without start is reported at the window", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - days: [sat]\n"
      "      end: \"05:00\"\n",
      6, 7, "vacuum.windows[0] needs start (HH:MM)");
}

TEST_CASE("a window without end is reported at the window", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  windows:\n"
      "    - start: \"01:00\"\n"
      "    - start: \"02:00\"\n"
      "      end: \"03:00\"\n",
      6, 7, "vacuum.windows[0] needs end (HH:MM)");
}

TEST_CASE("a cost_delay over PostgreSQL's 100ms is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  cost_delay: 200ms\n",
      5, 15, "vacuum.cost_delay must be at most 100ms (PostgreSQL's vacuum_cost_delay limit)");
}

TEST_CASE("a max_duration PostgreSQL's statement_timeout cannot hold is reported at the value",
          "[config][vacuum][errors][limits]") {
  // max_duration becomes the vacuum session's statement_timeout: int milliseconds on the server.
  check_single_problem(
      "vacuum:\n"
      "  max_duration: 720h\n",
      5, 17,
      "vacuum.max_duration must be at most 596h 31m 23.647s (2147483647ms, PostgreSQL's statement_timeout limit)");
  check_single_problem(
      "vacuum:\n"
      "  max_duration: 2147483648ms\n",
      5, 17, "vacuum.max_duration must be at most 596h 31m 23.647s");
  CHECK(config_of(kTarget + "vacuum:\n  max_duration: 2147483647ms\n").vacuum.max_duration == 2147483647ms);
}

TEST_CASE("a vacuum lock_timeout past PostgreSQL's limit is reported at the value", "[config][vacuum][errors][limits]") {
  check_single_problem(
      "vacuum:\n"
      "  lock_timeout: 1000h\n",
      5, 17,
      "vacuum.lock_timeout must be at most 596h 31m 23.647s (2147483647ms, PostgreSQL's lock_timeout limit)");
}

TEST_CASE("a cost_delay with a fraction of a millisecond is refused, not rounded", "[config][vacuum][errors][limits]") {
  // PostgreSQL would take 0.5 (milliseconds) as 500us; the duration syntax has whole numbers only.
  check_single_problem(
      "vacuum:\n"
      "  cost_delay: 0.5ms\n",
      5, 15, "vacuum.cost_delay must be a duration such as 250ms");
}

TEST_CASE("max_concurrent 0 is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  max_concurrent: 0\n",
      5, 19, "vacuum.max_concurrent must be a whole number from 1 to 64");
}

TEST_CASE("zero lock_timeout, max_duration or max_per_hour is reported at the value",
          "[config][vacuum][errors]") {
  check_single_problem("vacuum:\n  lock_timeout: 0s\n", 5, 17, "vacuum.lock_timeout must be greater than zero");
  check_single_problem("vacuum:\n  max_duration: 0s\n", 5, 17, "vacuum.max_duration must be greater than zero");
  check_single_problem("vacuum:\n  max_per_hour: 0\n", 5, 17, "vacuum.max_per_hour must be a whole number from 1");
}

TEST_CASE("an invalid regular expression in vacuum.tables is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  tables:\n"
      "    - table: \"([\"\n",
      6, 14, "invalid regular expression in vacuum.tables[0].table");
  check_single_problem(
      "vacuum:\n"
      "  tables:\n"
      "    - table: ok\n"
      "    - schema: \"(a\"\n",
      7, 15, "invalid regular expression in vacuum.tables[1].schema");
}

TEST_CASE("an unknown key in vacuum.tables is reported at the key", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  tables:\n"
      "    - tabel: Message\n",
      6, 7, "unknown key 'tabel' in vacuum.tables[0]");
}

TEST_CASE("a rule's dead_tuple_ratio over 1 is reported at the value", "[config][vacuum][errors]") {
  check_single_problem(
      "vacuum:\n"
      "  tables:\n"
      "    - table: Message\n"
      "      dead_tuple_ratio: 2\n",
      7, 25, "vacuum.tables[0].dead_tuple_ratio must be a number from 0 to 1");
}

TEST_CASE("vacuum, windows and tables of the wrong shape are reported", "[config][vacuum][errors]") {
  check_single_problem("vacuum: true\n", 4, 9, "vacuum must be a mapping");
  check_single_problem("vacuum:\n  windows: nightly\n", 5, 12, "vacuum.windows must be a list");
  check_single_problem("vacuum:\n  tables: {table: x}\n", 5, 11, "vacuum.tables must be a list");
}

TEST_CASE("every problem of the vacuum section is reported together", "[config][vacuum][errors]") {
  const std::string yaml = kTarget +
                           "vacuum:\n"
                           "  dead_tuple_ratio: 1.5\n"
                           "  max_concurrent: 0\n"
                           "  timezone: Mars/Olympus\n";
  auto result = parse_config(yaml);
  REQUIRE(std::holds_alternative<std::vector<Problem>>(result));
  const auto& problems = std::get<std::vector<Problem>>(result);
  INFO(describe(problems));
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].line == 5);
  CHECK(problems[1].line == 6);
  CHECK(problems[2].line == 7);
}

// --- freeze: ----------------------------------------------------------------------------------------------

TEST_CASE("every freeze key lands in cfg.freeze, and without the section freezing is off", "[config][freeze]") {
  const auto off = config_of(kTarget);
  CHECK_FALSE(off.freeze.enabled);
  CHECK_FALSE(off.freeze.dry_run);
  CHECK(off.freeze.min_age_ratio == 0.5);
  CHECK(off.freeze.windows.empty());
  CHECK(off.freeze.max_duration == 4h);
  CHECK(off.freeze.max_concurrent == 1);
  CHECK(off.collectors.freeze.enabled);
  CHECK(off.collectors.freeze.interval == 300s);

  const auto cfg = config_of(kTarget +
                             "freeze:\n"
                             "  enabled: true\n"
                             "  dry_run: true\n"
                             "  min_age_ratio: 0.7\n"
                             "  windows: [{days: [sat, sun], start: \"01:00\", end: \"05:00\"}]\n"
                             "  max_duration: 6h\n"
                             "  max_concurrent: 2\n"
                             "collectors:\n"
                             "  freeze: {interval: 10m, enabled: false}\n");
  CHECK(cfg.freeze.enabled);
  CHECK(cfg.freeze.dry_run);
  CHECK(cfg.freeze.min_age_ratio == 0.7);
  REQUIRE(cfg.freeze.windows.size() == 1);
  CHECK(cfg.freeze.windows[0].days[6]);
  CHECK(cfg.freeze.windows[0].days[0]);
  CHECK_FALSE(cfg.freeze.windows[0].days[1]);
  CHECK(cfg.freeze.windows[0].start_minute == 60);
  CHECK(cfg.freeze.windows[0].end_minute == 300);
  CHECK(cfg.freeze.max_duration == 6h);
  CHECK(cfg.freeze.max_concurrent == 2);
  CHECK_FALSE(cfg.collectors.freeze.enabled);
  CHECK(cfg.collectors.freeze.interval == 10min);
}

TEST_CASE("bad freeze values are reported at their line and column", "[config][freeze]") {
  check_single_problem("freeze:\n  min_age_ratio: 0\n", 5, 18, "freeze.min_age_ratio must be a number from 0.01");
  check_single_problem("freeze:\n  max_concurrent: 0\n", 5, 19, "freeze.max_concurrent");
  // statement_timeout is an int of milliseconds: 720h would make every freeze session fail its setup.
  check_single_problem("freeze:\n  max_duration: 720h\n", 5, 17, "freeze.max_duration");
  check_single_problem("freeze:\n  windows: {start: \"01:00\"}\n", 5, 12, "freeze.windows must be a list");
  check_single_problem("freeze:\n  enable: true\n", 5, 3, "enable");
}

TEST_CASE("every advice and tuning key lands in the configuration, and tuning applies nothing by default",
          "[config][tuning]") {
  const auto off = config_of(kTarget);
  CHECK(off.advice.target_dead_ratio == 0.05);
  CHECK_FALSE(off.tuning.apply);
  CHECK_FALSE(off.tuning.may_relax);
  CHECK(off.tuning.max_per_day == 10);
  CHECK(off.tuning.windows.empty());
  CHECK(off.tuning.min_history == 1h);

  const auto cfg = config_of(kTarget +
                             "advice:\n"
                             "  target_dead_ratio: 0.02\n"
                             "tuning:\n"
                             "  apply: true\n"
                             "  may_relax: true\n"
                             "  max_per_day: 3\n"
                             "  min_history: 30m\n"
                             "  windows: [{days: [mon], start: \"02:00\", end: \"03:30\"}]\n");
  CHECK(cfg.advice.target_dead_ratio == 0.02);
  CHECK(cfg.tuning.apply);
  CHECK(cfg.tuning.may_relax);
  CHECK(cfg.tuning.max_per_day == 3);
  CHECK(cfg.tuning.min_history == 30min);
  REQUIRE(cfg.tuning.windows.size() == 1);
  CHECK(cfg.tuning.windows[0].days[1]);
  CHECK(cfg.tuning.windows[0].start_minute == 120);
  CHECK(cfg.tuning.windows[0].end_minute == 210);
}

TEST_CASE("bad advice and tuning values are reported at their line and column", "[config][tuning]") {
  check_single_problem("advice:\n  target_dead_ratio: 0\n", 5, 22, "advice.target_dead_ratio must be a number from 0.001");
  check_single_problem("advice:\n  target_dead_ratio: 1.5\n", 5, 22, "advice.target_dead_ratio");
  check_single_problem("tuning:\n  max_per_day: 0\n", 5, 16, "tuning.max_per_day");
  check_single_problem("tuning:\n  apply: sometimes\n", 5, 10, "tuning.apply");
  check_single_problem("tuning:\n  windows: [{days: [someday], start: \"01:00\", end: \"02:00\"}]\n", 5, 21, "someday");
  check_single_problem("tuning:\n  aply: true\n", 5, 3, "aply");
}

// --- reindex: ---------------------------------------------------------------------------------------------

TEST_CASE("every reindex key lands in cfg.reindex, and without the section nothing is rebuilt", "[config][reindex]") {
  const auto off = config_of(kTarget);
  CHECK_FALSE(off.reindex.enabled);
  CHECK_FALSE(off.reindex.dry_run);
  CHECK(off.reindex.min_bloat_ratio == 0.3);
  CHECK(off.reindex.min_size_bytes == 10485760);
  CHECK(off.reindex.windows.empty());
  CHECK(off.reindex.max_duration == 2h);
  CHECK(off.reindex.max_per_day == 4);
  CHECK(off.reindex.drop_leftovers);

  const auto cfg = config_of(kTarget +
                             "reindex:\n"
                             "  enabled: true\n"
                             "  dry_run: true\n"
                             "  min_bloat_ratio: 0.5\n"
                             "  min_size_bytes: 1048576\n"
                             "  windows: [{days: [sun], start: \"03:00\", end: \"04:00\"}]\n"
                             "  max_duration: 30m\n"
                             "  max_per_day: 2\n"
                             "  drop_leftovers: false\n");
  CHECK(cfg.reindex.enabled);
  CHECK(cfg.reindex.dry_run);
  CHECK(cfg.reindex.min_bloat_ratio == 0.5);
  CHECK(cfg.reindex.min_size_bytes == 1048576);
  REQUIRE(cfg.reindex.windows.size() == 1);
  CHECK(cfg.reindex.windows[0].days[0]);
  CHECK(cfg.reindex.windows[0].start_minute == 180);
  CHECK(cfg.reindex.max_duration == 30min);
  CHECK(cfg.reindex.max_per_day == 2);
  CHECK_FALSE(cfg.reindex.drop_leftovers);
}

TEST_CASE("bad reindex values are reported at their line and column", "[config][reindex]") {
  check_single_problem("reindex:\n  min_bloat_ratio: 0\n", 5, 20, "reindex.min_bloat_ratio must be a number from 0.01");
  check_single_problem("reindex:\n  min_bloat_ratio: 1\n", 5, 20, "reindex.min_bloat_ratio");
  check_single_problem("reindex:\n  min_size_bytes: -1\n", 5, 19, "reindex.min_size_bytes");
  check_single_problem("reindex:\n  max_per_day: 0\n", 5, 16, "reindex.max_per_day");
  check_single_problem("reindex:\n  max_duration: 720h\n", 5, 17, "reindex.max_duration");
  check_single_problem("reindex:\n  enabled: maybe\n", 5, 12, "reindex.enabled");
  check_single_problem("reindex:\n  drop_leftover: true\n", 5, 3, "drop_leftover");
}

TEST_CASE("health_page.rows_per_section: 50 by default, any count from 1 to 10,000", "[config]") {
  CHECK(config_of(kTarget).health_page.rows_per_section == 50);
  CHECK(config_of(kTarget + "health_page:\n  rows_per_section: 7\n").health_page.rows_per_section == 7);
  check_single_problem("health_page:\n  rows_per_section: 0\n", 5, 21, "health_page.rows_per_section");
  check_single_problem("health_page:\n  rows: 7\n", 5, 3, "rows");
}
