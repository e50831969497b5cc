// The automatic VACUUM decision (policy::decide) as a pure function: every reason a table is skipped, the
// ANALYZE-only rule, per-table overrides, partitioned parents, the hourly and concurrency budgets, the order
// of the answer, and the maintenance windows (policy::in_window). `now` is fixed; nothing sleeps.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/stats.h"
#include "policy/vacuum_policy.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using pghealthd::config::Vacuum;
using pghealthd::config::VacuumOverride;
using pghealthd::config::Window;
using pghealthd::model::TableStats;
using pghealthd::policy::Action;
using pghealthd::policy::Decision;
using pghealthd::policy::decide;
using pghealthd::policy::Environment;
using pghealthd::policy::History;
using pghealthd::policy::in_window;
using pghealthd::policy::LocalTime;
using pghealthd::policy::Reason;
using pghealthd::policy::RuleSet;
using pghealthd::policy::TimePoint;

// Tuesday 2023-11-14 22:13:20 UTC.
constexpr std::int64_t kNowUnix = 1'700'000'000;
const TimePoint kNow = TimePoint(std::chrono::seconds(kNowUnix));

// A Unix timestamp (as pg_stat_user_tables reports it) `ago` before kNow.
double unix_ago(std::chrono::seconds ago) { return static_cast<double>(kNowUnix - ago.count()); }

// A plain table public.<name> with the given n_live_tup and n_dead_tup and nothing else of note: never
// vacuumed or analyzed, no rows modified since the last analyze, autovacuum on with the defaults.
TableStats table(std::int64_t relid, std::string name, std::int64_t live, std::int64_t dead) {
  TableStats t;
  t.relid = relid;
  t.schemaname = "public";
  t.relname = std::move(name);
  t.live_tuples = live;
  t.dead_tuples = dead;
  t.mod_since_analyze = 0;
  return t;
}

// 10% dead, 1,000 dead rows: over the default 0.05 ratio and 100 rows minimum.
TableStats bloated(std::int64_t relid = 1, std::string name = "Message") {
  return table(relid, std::move(name), 9000, 1000);
}

// No dead rows, but 2,001 rows modified over 10,000 live: over the default 1000 + 0.1 x 10,000.
TableStats stale_statistics(std::int64_t relid = 2, std::string name = "Stale") {
  TableStats t = table(relid, std::move(name), 10000, 0);
  t.mod_since_analyze = 2001;
  return t;
}

// The decisions together with the tables they point into.
struct Run {
  std::vector<TableStats> tables;
  std::vector<Decision> decisions;

  [[nodiscard]] const Decision& of(std::string_view relname) const {
    const auto it = std::find_if(decisions.begin(), decisions.end(),
                                 [&](const Decision& d) { return d.table && d.table->relname == relname; });
    REQUIRE(it != decisions.end());
    return *it;
  }
  [[nodiscard]] bool has(std::string_view relname) const {
    return std::any_of(decisions.begin(), decisions.end(),
                       [&](const Decision& d) { return d.table && d.table->relname == relname; });
  }
  [[nodiscard]] std::vector<std::string> order() const {
    std::vector<std::string> out;
    for (const auto& d : decisions) out.push_back(d.table->relname);
    return out;
  }
};

Run run(std::vector<TableStats> tables, const Vacuum& cfg = {}, const History& history = {},
        const Environment& env = {}, TimePoint now = kNow) {
  Run r;
  r.tables = std::move(tables);
  r.decisions = decide(r.tables, cfg, RuleSet(cfg), history, env, now);
  return r;
}

bool acts(const Decision& d) { return d.action.has_value() && !d.skipped.has_value(); }

// Describes a decision for failure messages.
std::string describe(const Decision& d) {
  std::string out = d.table ? d.table->relname : "(no table)";
  out += ": action=";
  out += d.action ? std::string(pghealthd::policy::name(*d.action)) : "none";
  out += " skipped=";
  out += d.skipped ? std::string(pghealthd::policy::name(*d.skipped)) : "none";
  out += " why=" + d.why;
  return out;
}

void check_acts(const Decision& d, Action action) {
  INFO(describe(d));
  CHECK(d.action == action);
  CHECK_FALSE(d.skipped.has_value());
}

void check_skipped(const Decision& d, Reason reason) {
  INFO(describe(d));
  CHECK(d.skipped == reason);
  CHECK_FALSE(d.action.has_value());
}

VacuumOverride rule(std::string schema, std::string table_re) {
  VacuumOverride o;
  o.schema = std::move(schema);
  o.table = std::move(table_re);
  return o;
}

Window window(std::initializer_list<int> days, int start_minute, int end_minute) {
  Window w;
  for (int d : days) w.days[static_cast<std::size_t>(d)] = true;
  w.start_minute = start_minute;
  w.end_minute = end_minute;
  return w;
}

constexpr int kSun = 0, kMon = 1, kTue = 2, kWed = 3, kThu = 4, kFri = 5, kSat = 6;
constexpr int hm(int h, int m) { return h * 60 + m; }

}  // namespace

// --- names ------------------------------------------------------------------------------------------------

TEST_CASE("every reason has its metric label name", "[policy]") {
  using pghealthd::policy::name;
  CHECK(name(Reason::kBelowThreshold) == "below_threshold");
  CHECK(name(Reason::kCooldown) == "cooldown");
  CHECK(name(Reason::kOutsideWindow) == "outside_window");
  CHECK(name(Reason::kRateLimited) == "rate_limited");
  CHECK(name(Reason::kAutovacuumRunning) == "autovacuum_running");
  CHECK(name(Reason::kInRecovery) == "in_recovery");
  CHECK(name(Reason::kNotLeader) == "not_leader");
  CHECK(name(Reason::kXminHorizonHeld) == "xmin_horizon_held");
  CHECK(name(Reason::kExcluded) == "excluded");
  CHECK(name(Reason::kDryRun) == "dry_run");
  CHECK(name(Reason::kTemporary) == "temporary");
  CHECK(name(Reason::kExclusionConstraint) == "exclusion_constraint");
  CHECK(name(Reason::kIndexBuildRunning) == "index_build_running");
  CHECK(pghealthd::policy::kReasonCount == 13);
  CHECK(pghealthd::policy::kVacuumReasonCount == 11);
}

TEST_CASE("every action has its name", "[policy]") {
  CHECK(pghealthd::policy::name(Action::kVacuumAnalyze) == "vacuum_analyze");
  CHECK(pghealthd::policy::name(Action::kAnalyze) == "analyze");
  CHECK(pghealthd::policy::name(Action::kReindex) == "reindex");
}

// --- below_threshold ----------------------------------------------------------------------------------------

TEST_CASE("a table over the dead ratio with enough dead rows gets VACUUM ANALYZE", "[policy]") {
  const auto r = run({bloated()});
  REQUIRE(r.decisions.size() == 1);
  check_acts(r.decisions[0], Action::kVacuumAnalyze);
  CHECK(r.decisions[0].table == &r.tables[0]);
  CHECK_THAT(r.decisions[0].why, Contains("1000 dead rows"));
}

TEST_CASE("a temporary table is never a candidate, however bloated, even when a rule would include it",
          "[policy]") {
  TableStats temp = bloated(7, "scratch");
  temp.schemaname = "pg_temp_3";
  temp.temporary = true;
  TableStats stale = stale_statistics(8, "scratch_stats");
  stale.schemaname = "pg_temp_3";
  stale.temporary = true;
  Vacuum cfg;
  auto only_temp = rule("pg_temp_.*", ".*");
  only_temp.dead_tuple_ratio = 0.0;
  only_temp.min_dead_tuples = 0;
  cfg.tables.push_back(only_temp);
  const auto r = run({temp, stale, bloated(9, "Message")}, cfg);
  check_skipped(r.of("scratch"), Reason::kTemporary);
  check_skipped(r.of("scratch_stats"), Reason::kTemporary);
  CHECK_THAT(r.of("scratch").why, Contains("temporary"));
  check_acts(r.of("Message"), Action::kVacuumAnalyze);  // and it uses no budget: the real table still goes
}

TEST_CASE("a dead ratio at or below the threshold is below_threshold", "[policy]") {
  // 500 of 10,000 rows dead is exactly 0.05, the default threshold: not over it.
  const auto r = run({table(1, "at", 9500, 500), table(2, "below", 9600, 400), table(3, "clean", 10000, 0)});
  check_skipped(r.of("at"), Reason::kBelowThreshold);
  check_skipped(r.of("below"), Reason::kBelowThreshold);
  check_skipped(r.of("clean"), Reason::kBelowThreshold);
  // Just over it acts.
  check_acts(run({table(1, "over", 9490, 510)}).of("over"), Action::kVacuumAnalyze);
}

TEST_CASE("a high dead ratio with fewer than min_dead_tuples dead rows is below_threshold", "[policy]") {
  // 90% dead, but only 99 rows: not worth a VACUUM.
  check_skipped(run({table(1, "tiny", 11, 99)}).of("tiny"), Reason::kBelowThreshold);
  // 100 dead rows is the default minimum: enough.
  check_acts(run({table(1, "small", 10, 100)}).of("small"), Action::kVacuumAnalyze);
}

TEST_CASE("a table whose counters are NULL is below_threshold", "[policy]") {
  TableStats t = bloated();
  t.dead_tuples = std::nullopt;
  t.mod_since_analyze = std::nullopt;
  check_skipped(run({t}).of("Message"), Reason::kBelowThreshold);
}

TEST_CASE("only_when_autovacuum_late waits while autovacuum is not yet due", "[policy]") {
  Vacuum cfg;
  cfg.only_when_autovacuum_late = true;
  TableStats t = bloated();  // 1,000 dead rows
  t.reltuples = 10000;       // autovacuum's threshold 50 + 0.2 x 10,000 = 2,050: due ratio 0.49
  const auto r = run({t}, cfg);
  check_skipped(r.of("Message"), Reason::kBelowThreshold);
  CHECK_THAT(r.of("Message").why, Contains("autovacuum is not late"));
  // Without the option the same table is vacuumed.
  check_acts(run({t}).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("only_when_autovacuum_late acts once autovacuum is due", "[policy]") {
  Vacuum cfg;
  cfg.only_when_autovacuum_late = true;
  TableStats t = bloated();  // 1,000 dead rows
  SECTION("due ratio exactly 1") {
    t.reltuples = 4750;  // 50 + 0.2 x 4,750 = 1,000
    REQUIRE(pghealthd::model::autovacuum_due_ratio(t) == 1.0);
  }
  SECTION("due ratio over 1") {
    t.reltuples = 100;  // 50 + 20 = 70
  }
  check_acts(run({t}, cfg).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("only_when_autovacuum_late acts on a table autovacuum never vacuums", "[policy]") {
  Vacuum cfg;
  cfg.only_when_autovacuum_late = true;
  TableStats t = bloated();
  t.reltuples = 1'000'000;  // would not be due for a long time
  t.autovacuum.edit().enabled = false;
  check_acts(run({t}, cfg).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("only_when_autovacuum_late acts when autovacuum's threshold is zero", "[policy]") {
  // autovacuum_vacuum_threshold = 0 and scale factor 0 for the table: autovacuum is due at any dead row.
  Vacuum cfg;
  cfg.only_when_autovacuum_late = true;
  TableStats t = bloated();
  t.reltuples = 10000;
  t.autovacuum.edit().base_threshold = 0;
  t.autovacuum.edit().scale_factor = 0;
  check_acts(run({t}, cfg).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("only_when_autovacuum_late still needs the dead ratio and min_dead_tuples", "[policy]") {
  Vacuum cfg;
  cfg.only_when_autovacuum_late = true;
  TableStats t = table(1, "Message", 99000, 1000);  // ratio 0.01
  t.reltuples = 100;                                // autovacuum long overdue
  check_skipped(run({t}, cfg).of("Message"), Reason::kBelowThreshold);
}

// --- ANALYZE only -----------------------------------------------------------------------------------------

TEST_CASE("a table with many rows modified since the last analyze gets ANALYZE only", "[policy]") {
  const auto r = run({stale_statistics()});
  check_acts(r.of("Stale"), Action::kAnalyze);
  CHECK_THAT(r.of("Stale").why, Contains("2001 rows modified"));
}

TEST_CASE("ANALYZE only needs more than min_modified_tuples + modified_ratio x live rows", "[policy]") {
  TableStats t = stale_statistics();
  t.mod_since_analyze = 2000;  // exactly 1000 + 0.1 x 10,000: not more
  check_skipped(run({t}).of("Stale"), Reason::kBelowThreshold);

  Vacuum cfg;
  cfg.analyze_only.min_modified_tuples = 10;
  cfg.analyze_only.modified_ratio = 0.01;  // 10 + 100 = 110
  t.mod_since_analyze = 111;
  check_acts(run({t}, cfg).of("Stale"), Action::kAnalyze);
  t.mod_since_analyze = 110;
  check_skipped(run({t}, cfg).of("Stale"), Reason::kBelowThreshold);
}

TEST_CASE("ANALYZE only is off when analyze_only.enabled is false", "[policy]") {
  Vacuum cfg;
  cfg.analyze_only.enabled = false;
  TableStats t = stale_statistics();
  t.mod_since_analyze = 1'000'000;
  check_skipped(run({t}, cfg).of("Stale"), Reason::kBelowThreshold);
  // The vacuum rule is unaffected.
  check_acts(run({bloated()}, cfg).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("a table over both thresholds gets VACUUM ANALYZE, not ANALYZE", "[policy]") {
  TableStats t = bloated();
  t.mod_since_analyze = 1'000'000;
  check_acts(run({t}).of("Message"), Action::kVacuumAnalyze);
}

// --- cooldown ---------------------------------------------------------------------------------------------

TEST_CASE("a table vacuumed by hand less than cooldown ago is in cooldown", "[policy]") {
  TableStats t = bloated();
  t.last_vacuum = unix_ago(30min);
  const auto r = run({t});
  check_skipped(r.of("Message"), Reason::kCooldown);
  CHECK_THAT(r.of("Message").why, Contains("3600s"));
}

TEST_CASE("a table autovacuumed less than cooldown ago is in cooldown", "[policy]") {
  TableStats t = bloated();
  t.last_autovacuum = unix_ago(59min);
  check_skipped(run({t}).of("Message"), Reason::kCooldown);
}

TEST_CASE("the cooldown ends exactly cooldown after the last vacuum", "[policy]") {
  TableStats t = bloated();
  t.last_vacuum = unix_ago(2h);
  t.last_autovacuum = unix_ago(1h);  // the most recent of the two counts
  check_acts(run({t}).of("Message"), Action::kVacuumAnalyze);
  t.last_autovacuum = unix_ago(1h - 1s);
  check_skipped(run({t}).of("Message"), Reason::kCooldown);
}

TEST_CASE("a table pghealthd acted on less than cooldown ago is in cooldown", "[policy]") {
  const TableStats t = bloated(42);
  History history;
  history[42].last_action = kNow - 10min;
  check_skipped(run({t}, {}, history).of("Message"), Reason::kCooldown);
  // Another table's history does not count.
  History other;
  other[43].last_action = kNow - 10min;
  check_acts(run({t}, {}, other).of("Message"), Action::kVacuumAnalyze);
  // Our own action long ago does not count either.
  history[42].last_action = kNow - 3h;
  check_acts(run({t}, {}, history).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("a cooldown of zero never holds a table back", "[policy]") {
  Vacuum cfg;
  cfg.cooldown = 0ms;
  TableStats t = bloated();
  t.last_vacuum = unix_ago(0s);
  check_acts(run({t}, cfg).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("ANALYZE's cooldown also counts the last analyze and autoanalyze", "[policy]") {
  TableStats t = stale_statistics();
  SECTION("last_analyze") { t.last_analyze = unix_ago(10min); }
  SECTION("last_autoanalyze") { t.last_autoanalyze = unix_ago(10min); }
  SECTION("last_vacuum (VACUUM ANALYZE analyzes too)") { t.last_vacuum = unix_ago(10min); }
  check_skipped(run({t}).of("Stale"), Reason::kCooldown);
}

TEST_CASE("a recent analyze does not hold back a VACUUM", "[policy]") {
  TableStats t = bloated();
  t.last_analyze = unix_ago(1min);
  t.last_autoanalyze = unix_ago(1min);
  check_acts(run({t}).of("Message"), Action::kVacuumAnalyze);
}

// --- xmin_horizon_held ------------------------------------------------------------------------------------

TEST_CASE("a table whose last vacuum was blocked by a horizon that is still held is xmin_horizon_held",
          "[policy]") {
  const TableStats t = bloated(7);
  History history;
  history[7].held_xmin = "123456";
  Environment env;
  env.horizon_xmin = "123456";
  const auto r = run({t}, {}, history, env);
  check_skipped(r.of("Message"), Reason::kXminHorizonHeld);
  CHECK_THAT(r.of("Message").why, Contains("123456"));
}

TEST_CASE("a vacuum blocked by the horizon is retried once the horizon moved or was released", "[policy]") {
  const TableStats t = bloated(7);
  History history;
  history[7].held_xmin = "123456";
  Environment env;
  SECTION("moved") { env.horizon_xmin = "123999"; }
  SECTION("nothing holds it any more") { env.horizon_xmin = std::nullopt; }
  check_acts(run({t}, {}, history, env).of("Message"), Action::kVacuumAnalyze);
}

TEST_CASE("a held horizon does not matter to a table whose last vacuum was not blocked", "[policy]") {
  Environment env;
  env.horizon_xmin = "123456";
  History history;
  history[7].held_xmin = std::nullopt;
  check_acts(run({bloated(7)}, {}, history, env).of("Message"), Action::kVacuumAnalyze);
}

// --- autovacuum_running -----------------------------------------------------------------------------------

TEST_CASE("a table that is being vacuumed now is autovacuum_running", "[policy]") {
  Environment env;
  env.vacuum_running = {7};
  const auto r = run({bloated(7, "busy"), bloated(8, "idle")}, {}, {}, env);
  check_skipped(r.of("busy"), Reason::kAutovacuumRunning);
  check_acts(r.of("idle"), Action::kVacuumAnalyze);
}

// --- windows --------------------------------------------------------------------------------------------

TEST_CASE("no maintenance windows means any time", "[policy][window]") {
  for (int day = 0; day < 7; ++day) {
    for (int minute : {0, hm(3, 0), hm(12, 0), hm(23, 59)}) {
      INFO("day " << day << " minute " << minute);
      CHECK(in_window({}, LocalTime{day, minute}));
    }
  }
}

TEST_CASE("a same-day window includes its start and excludes its end", "[policy][window]") {
  const std::vector<Window> w{window({kSun, kMon, kTue, kWed, kThu, kFri, kSat}, hm(2, 0), hm(5, 0))};
  CHECK_FALSE(in_window(w, {kTue, hm(1, 59)}));
  CHECK(in_window(w, {kTue, hm(2, 0)}));
  CHECK(in_window(w, {kTue, hm(4, 59)}));
  CHECK_FALSE(in_window(w, {kTue, hm(5, 0)}));
  CHECK_FALSE(in_window(w, {kTue, hm(23, 0)}));
}

TEST_CASE("a window only opens on its weekdays", "[policy][window]") {
  const std::vector<Window> w{window({kMon, kTue, kWed, kThu, kFri}, hm(2, 0), hm(5, 0))};
  CHECK(in_window(w, {kWed, hm(3, 0)}));
  CHECK(in_window(w, {kFri, hm(3, 0)}));
  CHECK_FALSE(in_window(w, {kSat, hm(3, 0)}));
  CHECK_FALSE(in_window(w, {kSun, hm(3, 0)}));
}

TEST_CASE("a window past midnight runs into the next morning of its day", "[policy][window]") {
  const std::vector<Window> w{window({kMon}, hm(22, 0), hm(6, 0))};  // Monday 22:00 to Tuesday 06:00
  CHECK_FALSE(in_window(w, {kMon, hm(21, 59)}));
  CHECK(in_window(w, {kMon, hm(22, 0)}));
  CHECK(in_window(w, {kMon, hm(23, 59)}));
  CHECK(in_window(w, {kTue, hm(0, 0)}));
  CHECK(in_window(w, {kTue, hm(5, 59)}));  // Tuesday morning belongs to Monday's window
  CHECK_FALSE(in_window(w, {kTue, hm(6, 0)}));
  CHECK_FALSE(in_window(w, {kTue, hm(22, 30)}));  // Tuesday has no window of its own
  CHECK_FALSE(in_window(w, {kMon, hm(3, 0)}));    // Monday morning would be Sunday's window
}

TEST_CASE("a Saturday window past midnight runs into Sunday morning", "[policy][window]") {
  const std::vector<Window> w{window({kSat}, hm(23, 0), hm(1, 0))};
  CHECK(in_window(w, {kSat, hm(23, 30)}));
  CHECK(in_window(w, {kSun, hm(0, 30)}));
  CHECK_FALSE(in_window(w, {kSun, hm(1, 0)}));
  CHECK_FALSE(in_window(w, {kSun, hm(23, 30)}));
  CHECK_FALSE(in_window(w, {kFri, hm(23, 30)}));
}

TEST_CASE("now is in the windows when it is in any one of them", "[policy][window]") {
  const std::vector<Window> w{window({kSat, kSun}, hm(0, 0), hm(24, 0)), window({kWed}, hm(12, 0), hm(13, 0))};
  CHECK(in_window(w, {kSun, hm(15, 0)}));
  CHECK(in_window(w, {kWed, hm(12, 30)}));
  CHECK_FALSE(in_window(w, {kWed, hm(13, 30)}));
  CHECK_FALSE(in_window(w, {kThu, hm(12, 30)}));
}

TEST_CASE("a table outside every maintenance window is outside_window", "[policy]") {
  Vacuum cfg;
  cfg.windows = {window({kTue}, hm(2, 0), hm(5, 0))};
  Environment env;
  env.local = {kTue, hm(22, 13)};
  check_skipped(run({bloated()}, cfg, {}, env).of("Message"), Reason::kOutsideWindow);
  env.local = {kTue, hm(3, 0)};
  check_acts(run({bloated()}, cfg, {}, env).of("Message"), Action::kVacuumAnalyze);
}

// --- in_recovery, not_leader ------------------------------------------------------------------------------

TEST_CASE("nothing is vacuumed on a standby", "[policy]") {
  Environment env;
  env.in_recovery = true;
  const auto r = run({bloated(1, "a"), stale_statistics(2, "b")}, {}, {}, env);
  check_skipped(r.of("a"), Reason::kInRecovery);
  check_skipped(r.of("b"), Reason::kInRecovery);
}

TEST_CASE("nothing is vacuumed when another pghealthd holds the database's vacuum lock", "[policy]") {
  Environment env;
  env.leader = false;
  const auto r = run({bloated(1, "a"), stale_statistics(2, "b")}, {}, {}, env);
  check_skipped(r.of("a"), Reason::kNotLeader);
  check_skipped(r.of("b"), Reason::kNotLeader);
}

// --- rate_limited -------------------------------------------------------------------------------------------

TEST_CASE("with one action left this hour, the table with the most dead rows acts", "[policy]") {
  Vacuum cfg;
  cfg.max_per_hour = 1;
  const auto r = run({table(1, "fewer", 9000, 1000), table(2, "most", 45000, 5000)}, cfg);
  check_acts(r.of("most"), Action::kVacuumAnalyze);
  check_skipped(r.of("fewer"), Reason::kRateLimited);
  CHECK_THAT(r.of("fewer").why, Contains("max_per_hour 1"));
}

TEST_CASE("the hourly budget counts the actions already taken this hour", "[policy]") {
  Vacuum cfg;  // max_per_hour 10
  Environment env;
  env.actions_last_hour = 8;
  const auto r =
      run({table(1, "a", 9000, 1000), table(2, "b", 9000, 2000), table(3, "c", 9000, 3000)}, cfg, {}, env);
  check_acts(r.of("c"), Action::kVacuumAnalyze);
  check_acts(r.of("b"), Action::kVacuumAnalyze);
  check_skipped(r.of("a"), Reason::kRateLimited);

  env.actions_last_hour = 10;
  const auto none = run({bloated()}, cfg, {}, env);
  check_skipped(none.of("Message"), Reason::kRateLimited);
}

TEST_CASE("a table skipped for another reason does not use the hourly budget", "[policy]") {
  Vacuum cfg;
  cfg.max_per_hour = 1;
  TableStats cooling = table(1, "cooling", 45000, 5000);
  cooling.last_vacuum = unix_ago(1min);
  const auto r = run({cooling, table(2, "next", 9000, 1000)}, cfg);
  check_skipped(r.of("cooling"), Reason::kCooldown);
  check_acts(r.of("next"), Action::kVacuumAnalyze);
}

TEST_CASE("when max_concurrent vacuums already run on the target, every table is rate_limited", "[policy]") {
  Vacuum cfg;
  cfg.max_concurrent = 2;
  Environment env;
  env.running = 2;
  const auto r = run({bloated(1, "a"), bloated(2, "b"), stale_statistics(3, "c")}, cfg, {}, env);
  check_skipped(r.of("a"), Reason::kRateLimited);
  check_skipped(r.of("b"), Reason::kRateLimited);
  check_skipped(r.of("c"), Reason::kRateLimited);
  CHECK_THAT(r.of("a").why, Contains("max_concurrent 2"));
  // With a slot free they act.
  env.running = 1;
  const auto free = run({bloated(1, "a"), bloated(2, "b")}, cfg, {}, env);
  check_acts(free.of("a"), Action::kVacuumAnalyze);
  check_acts(free.of("b"), Action::kVacuumAnalyze);
}

// --- excluded ---------------------------------------------------------------------------------------------

TEST_CASE("a table excluded by a vacuum.tables rule is never vacuumed", "[policy]") {
  Vacuum cfg;
  VacuumOverride o = rule("public", "Msg");
  o.exclude = true;
  cfg.tables = {o};
  TableStats clean = table(3, "Msg", 10, 0);
  clean.schemaname = "public";
  const auto r = run({bloated(1, "Msg"), bloated(2, "Msg2")}, cfg);
  check_skipped(r.of("Msg"), Reason::kExcluded);
  // Rules match the whole name: "Msg" is not "Msg2".
  check_acts(r.of("Msg2"), Action::kVacuumAnalyze);
  // Excluded comes before every other reason, even below_threshold.
  check_skipped(run({clean}, cfg).of("Msg"), Reason::kExcluded);
}

TEST_CASE("a rule's schema must match the whole schema name", "[policy]") {
  Vacuum cfg;
  VacuumOverride o = rule("pub", ".*");
  o.exclude = true;
  cfg.tables = {o};
  check_acts(run({bloated()}, cfg).of("Message"), Action::kVacuumAnalyze);
  cfg.tables[0].schema = "pub.*";
  check_skipped(run({bloated()}, cfg).of("Message"), Reason::kExcluded);
}

// --- dry_run ----------------------------------------------------------------------------------------------

TEST_CASE("in a dry run a table that would act keeps its action and is skipped as dry_run", "[policy]") {
  Vacuum cfg;
  cfg.dry_run = true;
  const auto r = run({bloated(1, "a"), stale_statistics(2, "b"), table(3, "clean", 10, 0)}, cfg);
  const auto& a = r.of("a");
  CHECK(a.action == Action::kVacuumAnalyze);
  CHECK(a.skipped == Reason::kDryRun);
  CHECK_THAT(a.why, Contains("dry run"));
  CHECK(r.of("b").action == Action::kAnalyze);
  CHECK(r.of("b").skipped == Reason::kDryRun);
  check_skipped(r.of("clean"), Reason::kBelowThreshold);
}

TEST_CASE("a dry run obeys the same budgets as a real run", "[policy]") {
  Vacuum cfg;
  cfg.dry_run = true;
  cfg.max_per_hour = 1;
  const auto r = run({table(1, "fewer", 9000, 1000), table(2, "most", 45000, 5000)}, cfg);
  CHECK(r.of("most").skipped == Reason::kDryRun);
  check_skipped(r.of("fewer"), Reason::kRateLimited);
}

TEST_CASE("a dry run lists the tables it would act on first, like a real run", "[policy]") {
  Vacuum cfg;
  cfg.dry_run = true;
  TableStats cooling = table(1, "cooling", 9000, 9000);
  cooling.last_vacuum = unix_ago(1min);
  TableStats stale = stale_statistics(2, "stale");
  const auto r = run({table(3, "clean", 10, 0), cooling, stale, bloated(4, "bloated")}, cfg);
  CHECK(r.order() == std::vector<std::string>{"bloated", "stale", "cooling", "clean"});
}

// --- the order of reasons ---------------------------------------------------------------------------------

TEST_CASE("the first reason that applies is the one reported, in the documented order", "[policy]") {
  // Start with every reason applying, then take them away one at a time.
  Vacuum cfg;
  cfg.dry_run = true;
  cfg.max_concurrent = 1;
  cfg.windows = {window({kMon}, hm(2, 0), hm(5, 0))};
  VacuumOverride excluding = rule("public", "Message");
  excluding.exclude = true;
  cfg.tables = {excluding};
  TableStats t = table(7, "Message", 9000, 10);  // below min_dead_tuples
  t.last_autovacuum = unix_ago(1min);
  History history;
  history[7].held_xmin = "900";
  Environment env;
  env.horizon_xmin = "900";
  env.vacuum_running = {7};
  env.local = {kTue, hm(12, 0)};
  env.in_recovery = true;
  env.leader = false;
  env.running = 1;

  auto reason = [&] {
    const auto r = run({t}, cfg, history, env);
    INFO(describe(r.of("Message")));
    return r.of("Message").skipped;
  };
  CHECK(reason() == Reason::kExcluded);
  cfg.tables.clear();
  CHECK(reason() == Reason::kBelowThreshold);
  t.dead_tuples = 1000;
  CHECK(reason() == Reason::kCooldown);
  t.last_autovacuum = std::nullopt;
  CHECK(reason() == Reason::kXminHorizonHeld);
  env.horizon_xmin = "901";
  CHECK(reason() == Reason::kAutovacuumRunning);
  env.vacuum_running.clear();
  CHECK(reason() == Reason::kOutsideWindow);
  env.local = {kMon, hm(3, 0)};
  CHECK(reason() == Reason::kInRecovery);
  env.in_recovery = false;
  CHECK(reason() == Reason::kNotLeader);
  env.leader = true;
  CHECK(reason() == Reason::kRateLimited);
  env.running = 0;
  CHECK(reason() == Reason::kDryRun);
  cfg.dry_run = false;
  CHECK(reason() == std::nullopt);
  check_acts(run({t}, cfg, history, env).of("Message"), Action::kVacuumAnalyze);
}

// --- per-table overrides ----------------------------------------------------------------------------------

TEST_CASE("a rule's dead_tuple_ratio replaces the vacuum-wide one for its tables", "[policy]") {
  Vacuum cfg;
  VacuumOverride o = rule("public", "big_.*");
  o.dead_tuple_ratio = 0.2;
  cfg.tables = {o};
  // Both at 10% dead: the rule's table needs 20%.
  const auto r = run({table(1, "big_events", 9000, 1000), table(2, "small", 9000, 1000)}, cfg);
  check_skipped(r.of("big_events"), Reason::kBelowThreshold);
  check_acts(r.of("small"), Action::kVacuumAnalyze);
  check_acts(run({table(1, "big_events", 7000, 3000)}, cfg).of("big_events"), Action::kVacuumAnalyze);
}

TEST_CASE("a rule's min_dead_tuples replaces the vacuum-wide one for its tables", "[policy]") {
  Vacuum cfg;
  VacuumOverride o = rule("public", "queue");
  o.min_dead_tuples = 10;
  cfg.tables = {o};
  const auto r = run({table(1, "queue", 50, 50), table(2, "other", 50, 50)}, cfg);
  check_acts(r.of("queue"), Action::kVacuumAnalyze);
  check_skipped(r.of("other"), Reason::kBelowThreshold);
}

TEST_CASE("a rule's cooldown replaces the vacuum-wide one for its tables", "[policy]") {
  Vacuum cfg;
  VacuumOverride o = rule("public", "queue");
  o.cooldown = std::chrono::minutes(10);
  cfg.tables = {o};
  TableStats queue = bloated(1, "queue");
  queue.last_autovacuum = unix_ago(30min);
  TableStats other = bloated(2, "other");
  other.last_autovacuum = unix_ago(30min);
  const auto r = run({queue, other}, cfg);
  check_acts(r.of("queue"), Action::kVacuumAnalyze);
  check_skipped(r.of("other"), Reason::kCooldown);
}

TEST_CASE("the first matching rule wins and fields it leaves unset keep the vacuum-wide value", "[policy]") {
  Vacuum cfg;
  cfg.min_dead_tuples = 500;
  VacuumOverride first = rule(".*", "orders");
  first.dead_tuple_ratio = 0.5;
  VacuumOverride second = rule(".*", ".*");
  second.dead_tuple_ratio = 0.01;
  second.exclude = true;
  cfg.tables = {first, second};
  const RuleSet rules(cfg);
  const auto orders = rules.for_table("public", "orders");
  CHECK_FALSE(orders.excluded);
  CHECK(orders.dead_tuple_ratio == 0.5);
  CHECK(orders.min_dead_tuples == 500);
  CHECK(orders.cooldown == std::chrono::hours(1));
  CHECK(rules.for_table("public", "orders_archive").excluded);
  CHECK(rules.for_table("public", "orders_archive").dead_tuple_ratio == 0.01);
}

TEST_CASE("a table no rule matches gets the vacuum-wide settings", "[policy]") {
  Vacuum cfg;
  cfg.dead_tuple_ratio = 0.3;
  cfg.min_dead_tuples = 7;
  cfg.cooldown = std::chrono::minutes(5);
  cfg.tables = {rule("audit", ".*")};
  const auto r = RuleSet(cfg).for_table("public", "orders");
  CHECK_FALSE(r.excluded);
  CHECK(r.dead_tuple_ratio == 0.3);
  CHECK(r.min_dead_tuples == 7);
  CHECK(r.cooldown == std::chrono::minutes(5));
}

// --- partitioned tables -----------------------------------------------------------------------------------

namespace {

TableStats parent(std::int64_t relid, std::string name) {
  TableStats t;
  t.relid = relid;
  t.relkind = 'p';
  t.schemaname = "public";
  t.relname = std::move(name);
  // A partitioned parent has no rows of its own; make it look bloated anyway to show it is never vacuumed.
  t.live_tuples = 9000;
  t.dead_tuples = 1000;
  t.mod_since_analyze = 100000;
  return t;
}

TableStats partition(std::int64_t relid, std::string name, std::int64_t parent_relid, std::int64_t dead) {
  TableStats t = table(relid, std::move(name), 9000, dead);
  t.parent_relid = parent_relid;
  return t;
}

}  // namespace

TEST_CASE("a partitioned parent is never vacuumed as a whole", "[policy]") {
  const auto r = run({parent(100, "events"), partition(101, "events_2024", 100, 0)});
  for (const auto& d : r.decisions) {
    INFO(describe(d));
    CHECK(d.action != Action::kVacuumAnalyze);
    if (d.table->relname == "events") {
      CHECK_FALSE(d.action.has_value());
    }
  }
}

TEST_CASE("the partitioned parent of a partition being vacuumed gets an ANALYZE", "[policy]") {
  const auto r = run({parent(100, "events"), partition(101, "events_2024", 100, 1000),
                      partition(102, "events_2025", 100, 0), parent(200, "other_parent")});
  check_acts(r.of("events_2024"), Action::kVacuumAnalyze);
  check_skipped(r.of("events_2025"), Reason::kBelowThreshold);
  check_acts(r.of("events"), Action::kAnalyze);
  CHECK_THAT(r.of("events").why, Contains("partition"));
  // Another parent, none of whose partitions is maintained, gets nothing.
  CHECK_FALSE((r.has("other_parent") && r.of("other_parent").action.has_value()));
}

TEST_CASE("a partitioned parent is analyzed once however many of its partitions act", "[policy]") {
  const auto r = run({partition(101, "p1", 100, 1000), partition(102, "p2", 100, 2000), parent(100, "events")});
  const auto analyzes = std::count_if(r.decisions.begin(), r.decisions.end(), [](const Decision& d) {
    return d.table->relname == "events" && d.action == Action::kAnalyze;
  });
  CHECK(analyzes == 1);
}

TEST_CASE("a partitioned parent's ANALYZE obeys its own cooldown and exclusion", "[policy]") {
  TableStats events = parent(100, "events");
  SECTION("recently analyzed") {
    events.last_autoanalyze = unix_ago(5min);
    const auto r = run({events, partition(101, "events_2024", 100, 1000)});
    check_skipped(r.of("events"), Reason::kCooldown);
    check_acts(r.of("events_2024"), Action::kVacuumAnalyze);
  }
  SECTION("excluded") {
    Vacuum cfg;
    VacuumOverride o = rule("public", "events");
    o.exclude = true;
    cfg.tables = {o};
    const auto r = run({events, partition(101, "events_2024", 100, 1000)}, cfg);
    check_skipped(r.of("events"), Reason::kExcluded);
    check_acts(r.of("events_2024"), Action::kVacuumAnalyze);
  }
}

TEST_CASE("a partition that does not act leaves its parent alone", "[policy]") {
  TableStats p = partition(101, "events_2024", 100, 1000);
  p.last_vacuum = unix_ago(1min);  // cooldown
  const auto r = run({parent(100, "events"), p});
  check_skipped(r.of("events_2024"), Reason::kCooldown);
  CHECK_FALSE((r.has("events") && r.of("events").action.has_value()));
}

TEST_CASE("only a partitioned parent gets the ANALYZE of its partitions", "[policy]") {
  // parent_relid naming a plain table (which pg_inherits never does for a partition) adds no decision.
  const auto r = run({table(100, "plain", 10, 0), partition(101, "child", 100, 1000)});
  REQUIRE(r.decisions.size() == 2);
  check_skipped(r.of("plain"), Reason::kBelowThreshold);
  check_acts(r.of("child"), Action::kVacuumAnalyze);
}

// --- order ------------------------------------------------------------------------------------------------

TEST_CASE("tables to act on come first, vacuums by most dead rows, then ANALYZE-only", "[policy]") {
  TableStats cooling = table(1, "cooling", 9000, 9000);
  cooling.last_vacuum = unix_ago(1min);
  // 50,000 dead rows, but only 0.5% of the table: ANALYZE only, so after the vacuums despite its dead rows.
  TableStats analyze = table(2, "analyze", 10'000'000, 50'000);
  analyze.mod_since_analyze = 2'000'000;
  const auto r = run({table(3, "clean", 10, 0), cooling, table(4, "small", 1800, 200), analyze,
                      table(5, "big", 45000, 5000)});
  REQUIRE(r.decisions.size() == 5);
  CHECK(r.order() == std::vector<std::string>{"big", "small", "analyze", "cooling", "clean"});
  check_acts(r.decisions[0], Action::kVacuumAnalyze);
  check_acts(r.decisions[1], Action::kVacuumAnalyze);
  check_acts(r.decisions[2], Action::kAnalyze);
  CHECK_FALSE(acts(r.decisions[3]));
  CHECK_FALSE(acts(r.decisions[4]));
}

TEST_CASE("rate_limited tables come after the ones that act", "[policy]") {
  Vacuum cfg;
  cfg.max_per_hour = 2;
  const auto r = run({table(1, "a", 9000, 1000), table(2, "b", 9000, 3000), table(3, "c", 9000, 2000)}, cfg);
  CHECK(r.order() == std::vector<std::string>{"b", "c", "a"});
  CHECK(acts(r.decisions[0]));
  CHECK(acts(r.decisions[1]));
  CHECK(r.decisions[2].skipped == Reason::kRateLimited);
}

TEST_CASE("every table gets exactly one decision", "[policy]") {
  const auto r = run({bloated(1, "a"), stale_statistics(2, "b"), table(3, "c", 10, 0)});
  CHECK(r.decisions.size() == 3);
  for (const auto& d : r.decisions) {
    INFO(describe(d));
    CHECK(d.action.has_value() != d.skipped.has_value());  // act, or skip for a reason (no dry run here)
    CHECK_FALSE(d.why.empty());
  }
}

TEST_CASE("no tables means no decisions", "[policy]") { CHECK(run({}).decisions.empty()); }
