// Freezing ahead of autovacuum (policy::decide_freeze) as a pure function: the threshold, every reason a
// table is left alone, the order (nearest to wraparound first), the budgets and dry_run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/stats.h"
#include "policy/freeze_policy.h"

namespace {

using namespace std::chrono_literals;
using pghealthd::config::Freeze;
using pghealthd::config::Vacuum;
using pghealthd::model::FreezeAge;
using pghealthd::model::TableStats;
using pghealthd::policy::Action;
using pghealthd::policy::Decision;
using pghealthd::policy::Environment;
using pghealthd::policy::History;
using pghealthd::policy::Reason;
using pghealthd::policy::RuleSet;
using pghealthd::policy::TimePoint;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'700'000'000));  // a Tuesday, 22:13 UTC

struct Table {
  TableStats stats;
  FreezeAge age;
};

// public.<name> at `due` of the default freeze max age (200 million).
Table table(std::int64_t relid, std::string name, double due) {
  Table t;
  t.stats.relid = relid;
  t.stats.schemaname = "public";
  t.stats.relname = name;
  t.age.relid = relid;
  t.age.schemaname = "public";
  t.age.relname = std::move(name);
  t.age.xid_age = static_cast<std::int64_t>(due * 200000000);
  t.age.mxid_age = 0;
  return t;
}

struct Run {
  std::vector<TableStats> tables;
  std::vector<FreezeAge> ages;
  std::vector<Decision> decisions;
  [[nodiscard]] const Decision& of(std::string_view relname) const {
    const auto it = std::find_if(decisions.begin(), decisions.end(),
                                 [&](const Decision& d) { return d.table->relname == relname; });
    REQUIRE(it != decisions.end());
    return *it;
  }
};

Run decide(const std::vector<Table>& input, const Freeze& cfg = {}, const Vacuum& vacuum = {},
           const History& history = {}, const Environment& env = {}) {
  Run r;
  for (const auto& t : input) {
    r.tables.push_back(t.stats);
    r.ages.push_back(t.age);
  }
  r.decisions = pghealthd::policy::decide_freeze(r.tables, r.ages, cfg, vacuum.max_per_hour, RuleSet(vacuum), history,
                                                 env, kNow);
  return r;
}

}  // namespace

TEST_CASE("freeze: tables at min_age_ratio or more are frozen, nearest to wraparound first", "[freeze]") {
  const auto r = decide({table(1, "young", 0.2), table(2, "half", 0.5), table(3, "old", 0.9), table(4, "due", 1.2)});
  REQUIRE(r.decisions.size() == 4);
  CHECK(r.decisions[0].table->relname == "due");
  CHECK(r.decisions[1].table->relname == "old");
  CHECK(r.decisions[2].table->relname == "half");
  for (int i = 0; i < 3; ++i) {
    CHECK(r.decisions[i].action == Action::kFreeze);
    CHECK_FALSE(r.decisions[i].skipped);
  }
  CHECK(r.of("young").skipped == Reason::kBelowThreshold);
  CHECK_FALSE(r.of("young").action);
  CHECK_THAT(r.of("old").why, Catch::Matchers::Contains("freeze due ratio 0.900 >= min_age_ratio 0.5"));
}

TEST_CASE("freeze: the multixact age counts when it is the nearer limit", "[freeze]") {
  auto t = table(1, "locked", 0.1);
  t.age.mxid_age = 300000000;  // 0.75 of the default 400 million
  const auto r = decide({t});
  CHECK(r.of("locked").action == Action::kFreeze);
}

TEST_CASE("freeze: every reason to leave a candidate alone", "[freeze]") {
  auto temp = table(1, "temp", 0.9);
  temp.stats.temporary = true;
  auto parent = table(2, "parent", 0.9);
  parent.stats.relkind = 'p';
  Vacuum vacuum;
  pghealthd::config::VacuumOverride excluded;
  excluded.table = "kept";
  excluded.exclude = true;
  vacuum.tables.push_back(excluded);
  History history;
  history[4].last_action = kNow - 10min;  // tried 10 minutes ago; the cooldown is 1 h
  Environment env;
  env.vacuum_running = {5};
  const auto r = decide({temp, parent, table(3, "kept", 0.9), table(4, "recent", 0.9), table(5, "busy", 0.9),
                         table(6, "ok", 0.9)},
                        {}, vacuum, history, env);
  CHECK(r.of("temp").skipped == Reason::kTemporary);
  CHECK(std::none_of(r.decisions.begin(), r.decisions.end(), [](const Decision& d) { return d.table->relname == "parent"; }));
  CHECK(r.of("kept").skipped == Reason::kExcluded);
  CHECK(r.of("recent").skipped == Reason::kCooldown);
  CHECK(r.of("busy").skipped == Reason::kAutovacuumRunning);
  CHECK(r.of("ok").action == Action::kFreeze);
  CHECK_FALSE(r.of("ok").skipped);
  CHECK(r.decisions.front().table->relname == "ok");  // the one that acts comes first

  // A cooldown long past does not hold it back.
  history[4].last_action = kNow - 2h;
  CHECK(decide({table(4, "recent", 0.9)}, {}, vacuum, history).of("recent").action == Action::kFreeze);
}

TEST_CASE("freeze: windows, standby, leadership, budgets and dry run", "[freeze]") {
  Freeze cfg;
  pghealthd::config::Window night;
  night.days.fill(true);
  night.start_minute = 1 * 60;
  night.end_minute = 5 * 60;
  cfg.windows = {night};
  Environment env;
  env.local = {2, 22 * 60 + 13};
  CHECK(decide({table(1, "t", 0.9)}, cfg, {}, {}, env).of("t").skipped == Reason::kOutsideWindow);
  env.local = {3, 2 * 60};
  CHECK(decide({table(1, "t", 0.9)}, cfg, {}, {}, env).of("t").action == Action::kFreeze);

  Environment standby;
  standby.in_recovery = true;
  CHECK(decide({table(1, "t", 0.9)}, {}, {}, {}, standby).of("t").skipped == Reason::kInRecovery);
  Environment follower;
  follower.leader = false;
  CHECK(decide({table(1, "t", 0.9)}, {}, {}, {}, follower).of("t").skipped == Reason::kNotLeader);

  Environment busy;
  busy.freezes_running = 1;  // freeze.max_concurrent is 1
  CHECK(decide({table(1, "t", 0.9)}, {}, {}, {}, busy).of("t").skipped == Reason::kRateLimited);
  Environment spent;
  Vacuum vacuum;
  vacuum.max_per_hour = 3;
  spent.actions_last_hour = 2;  // one left: the oldest table gets it
  const auto r = decide({table(1, "a", 0.6), table(2, "b", 0.95)}, {}, vacuum, {}, spent);
  CHECK(r.of("b").action == Action::kFreeze);
  CHECK(r.of("a").skipped == Reason::kRateLimited);

  Freeze dry;
  dry.dry_run = true;
  const auto d = decide({table(1, "t", 0.9)}, dry).of("t");
  CHECK(d.skipped == Reason::kDryRun);
  CHECK(d.action == Action::kFreeze);  // what it would have done
}

TEST_CASE("freeze: a table missing from either snapshot is not considered", "[freeze]") {
  Run r;
  auto a = table(1, "only_stats", 0.9), b = table(2, "only_ages", 0.9);
  r.tables = {a.stats};
  r.ages = {b.age};
  r.decisions = pghealthd::policy::decide_freeze(r.tables, r.ages, {}, 10, RuleSet(Vacuum{}), {}, {}, kNow);
  CHECK(r.decisions.empty());
}

TEST_CASE("window_remaining: how long until the window now is in closes", "[freeze]") {
  using pghealthd::policy::LocalTime;
  using pghealthd::policy::window_remaining;
  pghealthd::config::Window night;  // 01:00-05:00 every day
  night.days.fill(true);
  night.start_minute = 60;
  night.end_minute = 300;
  pghealthd::config::Window weekend_overnight;  // Saturday 22:00 to Sunday 02:00
  weekend_overnight.days[6] = true;
  weekend_overnight.start_minute = 22 * 60;
  weekend_overnight.end_minute = 2 * 60;

  CHECK_FALSE(window_remaining({}, LocalTime{2, 600, 0}).has_value());  // no windows: nothing closes
  CHECK(window_remaining({night}, LocalTime{2, 4 * 60 + 59, 30}) == std::chrono::seconds(30));
  CHECK(window_remaining({night}, LocalTime{2, 60, 0}) == std::chrono::seconds(4 * 3600));
  CHECK(window_remaining({night}, LocalTime{2, 300, 0}) == std::chrono::seconds(0));  // closed: now
  CHECK(window_remaining({weekend_overnight}, LocalTime{6, 23 * 60, 0}) == std::chrono::seconds(3 * 3600));
  CHECK(window_remaining({weekend_overnight}, LocalTime{0, 60, 15}) == std::chrono::seconds(3600 - 15));
  CHECK(window_remaining({weekend_overnight}, LocalTime{1, 60, 0}) == std::chrono::seconds(0));  // Monday
  // Two windows holding now: the later end.
  CHECK(window_remaining({night, weekend_overnight}, LocalTime{0, 90, 0}) == std::chrono::seconds(210 * 60));
}
