// REINDEX of bloated btree indexes (policy::decide_reindex) as a pure function: which number decides (exact
// over estimate, none when unestimated), the thresholds, every reason a candidate waits, the order (most
// wasted bytes first), the budgets and dry_run; and which invalid indexes are leftovers of failed rebuilds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/bloat.h"
#include "model/stats.h"
#include "policy/reindex_policy.h"

namespace {

using namespace std::chrono_literals;
using pghealthd::config::Reindex;
using pghealthd::config::Vacuum;
using pghealthd::model::RelationBloat;
using pghealthd::model::TableStats;
using pghealthd::policy::Action;
using pghealthd::policy::Decision;
using pghealthd::policy::Environment;
using pghealthd::policy::Reason;
using pghealthd::policy::ReindexHistory;
using pghealthd::policy::RuleSet;
using pghealthd::policy::TimePoint;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'700'000'000));  // a Tuesday, 22:13 UTC
constexpr double kMiB = 1024.0 * 1024.0;

TableStats table(std::int64_t relid, std::string name) {
  TableStats t;
  t.relid = relid;
  t.schemaname = "public";
  t.relname = std::move(name);
  return t;
}

// public.<name> on table `table_relid`, `mib` MiB large and `ratio` bloated by the estimate.
RelationBloat index(std::int64_t relid, std::int64_t table_relid, std::string name, double mib, double ratio) {
  RelationBloat b;
  b.relid = relid;
  b.table_relid = table_relid;
  b.index = true;
  b.schemaname = "public";
  b.relname = "t" + std::to_string(table_relid);
  b.indexrelname = std::move(name);
  b.shape.relpages = mib * kMiB / 8192;
  b.estimate.ratio = ratio;
  b.estimate.wasted_bytes = ratio * mib * kMiB;
  return b;
}

struct Run {
  std::vector<TableStats> tables;
  std::vector<RelationBloat> bloat;
  std::vector<Decision> decisions;
  [[nodiscard]] const Decision& of(std::string_view index) const {
    const auto it = std::find_if(decisions.begin(), decisions.end(),
                                 [&](const Decision& d) { return d.index->indexrelname == index; });
    REQUIRE(it != decisions.end());
    return *it;
  }
  [[nodiscard]] bool has(std::string_view index) const {
    return std::any_of(decisions.begin(), decisions.end(), [&](const Decision& d) { return d.index->indexrelname == index; });
  }
};

Run decide(std::vector<TableStats> tables, std::vector<RelationBloat> bloat, const Reindex& cfg,
           const Vacuum& vacuum = {}, const ReindexHistory& history = {}, const Environment& env = {},
           int reindexed_last_day = 0) {
  Run r{std::move(tables), std::move(bloat), {}};
  r.decisions = pghealthd::policy::decide_reindex(r.bloat, r.tables, cfg, RuleSet(vacuum), history, env,
                                                  reindexed_last_day, kNow);
  return r;
}

Reindex enabled() {
  Reindex cfg;
  cfg.enabled = true;
  return cfg;
}

}  // namespace

TEST_CASE("reindex: bloated and large btree indexes are candidates, most wasted bytes first", "[reindex]") {
  // Defaults: 30% and 10 MiB.
  const auto r = decide({table(1, "t1"), table(2, "t2")},
                        {index(11, 1, "small", 5, 0.9), index(12, 1, "tidy", 500, 0.1), index(13, 1, "half", 100, 0.5),
                         index(14, 2, "huge", 1000, 0.35), index(15, 2, "edge", 10, 0.3)},
                        enabled());
  CHECK_FALSE(r.has("small"));  // 5 MiB < min_size_bytes
  CHECK_FALSE(r.has("tidy"));   // 10% < min_bloat_ratio
  REQUIRE(r.decisions.size() == 3);
  // 350 MiB wasted, then 50, then 3.
  CHECK(r.decisions[0].index->indexrelname == "huge");
  CHECK(r.decisions[1].index->indexrelname == "half");
  CHECK(r.decisions[2].index->indexrelname == "edge");
  for (const auto& d : r.decisions) {
    CHECK(d.action == Action::kReindex);
    CHECK_FALSE(d.skipped);
  }
  CHECK(r.of("huge").table->relname == "t2");
  CHECK_THAT(r.of("half").why, Catch::Matchers::Contains("50.0% bloated (estimate, 50.0 MiB of 100.0 MiB wasted)"));
}

TEST_CASE("reindex: the exact reading decides over the estimate, and an unestimated index has no number",
          "[reindex]") {
  auto exact_tidy = index(11, 1, "exact_tidy", 100, 0.6);  // the estimate says 60%, pgstatindex 10%
  exact_tidy.exact = pghealthd::model::ExactBloat{0.1, 10 * kMiB, 1.7e9};
  auto exact_bloated = index(12, 1, "exact_bloated", 100, 0.05);  // and the other way round
  exact_bloated.exact = pghealthd::model::ExactBloat{0.7, 70 * kMiB, 1.7e9};
  auto unestimated = index(13, 1, "expression", 100, 0.9);
  unestimated.estimate.unestimated = pghealthd::model::Unestimated::kExpressionIndex;
  auto measured = index(14, 1, "measured_expression", 100, 0);
  measured.estimate.unestimated = pghealthd::model::Unestimated::kExpressionIndex;
  measured.exact = pghealthd::model::ExactBloat{0.5, 50 * kMiB, 1.7e9};
  const auto r = decide({table(1, "t1")}, {exact_tidy, exact_bloated, unestimated, measured}, enabled());
  CHECK_FALSE(r.has("exact_tidy"));
  CHECK_FALSE(r.has("expression"));
  CHECK(r.of("exact_bloated").action == Action::kReindex);
  CHECK_THAT(r.of("exact_bloated").why, Catch::Matchers::Contains("(exact,"));
  CHECK(r.of("measured_expression").action == Action::kReindex);
  CHECK(pghealthd::policy::bloat_number(unestimated) == std::nullopt);
  CHECK(pghealthd::policy::bloat_number(exact_tidy)->method == "exact");
  CHECK(pghealthd::policy::bloat_number(index(1, 1, "i", 1, 0.2))->method == "estimate");
}

TEST_CASE("reindex: tables it cannot see, invalid indexes and tables (not indexes) are never candidates",
          "[reindex]") {
  auto invalid = index(11, 1, "being_built", 100, 0.9);
  invalid.valid = false;
  auto heap = index(12, 1, "", 100, 0.9);
  heap.index = false;
  auto temp = table(2, "temp");
  temp.temporary = true;
  const auto r = decide({table(1, "t1"), temp},
                        {invalid, heap, index(13, 2, "temp_idx", 100, 0.9), index(14, 3, "orphan", 100, 0.9)},
                        enabled());
  CHECK(r.decisions.empty());
}

TEST_CASE("reindex: every reason to leave a candidate alone", "[reindex]") {
  Vacuum vacuum;
  pghealthd::config::VacuumOverride excluded;
  excluded.table = "kept";
  excluded.exclude = true;
  vacuum.tables.push_back(excluded);
  auto exclusion = index(12, 2, "no_overlap", 100, 0.9);
  exclusion.exclusion = true;
  ReindexHistory history;
  history[{"public", "recent"}] = kNow - 23h;  // once per index per day
  history[{"public", "yesterday"}] = kNow - 25h;
  Environment env;
  env.vacuum_running = {4};
  auto kept = table(3, "kept");
  const auto r = decide({table(1, "t1"), table(2, "t2"), kept, table(4, "busy"), table(5, "t5")},
                        {index(11, 3, "of_kept", 100, 0.9), exclusion, index(13, 1, "recent", 100, 0.9),
                         index(14, 4, "busy_idx", 100, 0.9), index(15, 5, "yesterday", 100, 0.9)},
                        enabled(), vacuum, history, env);
  CHECK(r.of("of_kept").skipped == Reason::kExcluded);
  CHECK(r.of("no_overlap").skipped == Reason::kExclusionConstraint);
  CHECK(r.of("recent").skipped == Reason::kCooldown);
  CHECK(r.of("busy_idx").skipped == Reason::kAutovacuumRunning);
  CHECK(r.of("yesterday").action == Action::kReindex);
  CHECK_FALSE(r.of("yesterday").skipped);
  // Those that act come first.
  CHECK(r.decisions.front().index->indexrelname == "yesterday");

  Environment standby;
  standby.in_recovery = true;
  CHECK(decide({table(1, "t1")}, {index(11, 1, "i", 100, 0.9)}, enabled(), {}, {}, standby).of("i").skipped ==
        Reason::kInRecovery);
  Environment follower;
  follower.leader = false;
  CHECK(decide({table(1, "t1")}, {index(11, 1, "i", 100, 0.9)}, enabled(), {}, {}, follower).of("i").skipped ==
        Reason::kNotLeader);
}

TEST_CASE("reindex: only in its windows", "[reindex]") {
  auto cfg = enabled();
  pghealthd::config::Window w;
  w.days.fill(true);
  w.start_minute = 60;  // 01:00-05:00
  w.end_minute = 300;
  cfg.windows.push_back(w);
  Environment night, evening;
  night.local = {2, 120, 0};
  evening.local = {2, 22 * 60 + 13, 0};
  CHECK(decide({table(1, "t1")}, {index(11, 1, "i", 100, 0.9)}, cfg, {}, {}, night).of("i").action == Action::kReindex);
  const auto r = decide({table(1, "t1")}, {index(11, 1, "i", 100, 0.9)}, cfg, {}, {}, evening);
  CHECK(r.of("i").skipped == Reason::kOutsideWindow);
  CHECK_THAT(r.of("i").why, Catch::Matchers::Contains("reindex windows"));
}

TEST_CASE("reindex: one at a time per target, max_per_day, and dry_run", "[reindex]") {
  const std::vector<RelationBloat> three{index(11, 1, "a", 300, 0.9), index(12, 1, "b", 200, 0.9),
                                         index(13, 1, "c", 100, 0.9)};
  Environment busy;
  busy.reindexes_running = 1;
  const auto one_running = decide({table(1, "t1")}, three, enabled(), {}, {}, busy);
  for (const auto& d : one_running.decisions) {
    CHECK(d.skipped == Reason::kRateLimited);
    CHECK_FALSE(d.action);
  }
  CHECK_THAT(one_running.of("a").why, Catch::Matchers::Contains("one index at a time"));

  auto cfg = enabled();
  cfg.max_per_day = 4;
  const auto spent = decide({table(1, "t1")}, three, cfg, {}, {}, {}, 3);
  CHECK(spent.of("a").action == Action::kReindex);
  CHECK(spent.of("b").skipped == Reason::kRateLimited);
  CHECK_THAT(spent.of("b").why, Catch::Matchers::Contains("reindex.max_per_day 4"));

  cfg.dry_run = true;
  const auto dry = decide({table(1, "t1")}, three, cfg);
  for (const auto& d : dry.decisions) {
    CHECK(d.skipped == Reason::kDryRun);
    CHECK(d.action == Action::kReindex);  // what it would have done
  }
}

TEST_CASE("reindex leftovers: invalid *_ccnew and *_ccold indexes, numbered or not, and nothing else",
          "[reindex]") {
  using pghealthd::policy::is_reindex_leftover;
  CHECK(is_reindex_leftover("t_v_ccnew", false));
  CHECK(is_reindex_leftover("t_v_ccnew1", false));
  CHECK(is_reindex_leftover("t_v_ccnew12", false));
  CHECK(is_reindex_leftover("t_v_ccold", false));
  CHECK(is_reindex_leftover("t_v_ccold3", false));
  CHECK_FALSE(is_reindex_leftover("t_v_ccnew", true));   // valid: a DBA's index that happens to be named so
  CHECK_FALSE(is_reindex_leftover("t_v", false));         // a failed CREATE INDEX CONCURRENTLY: not ours to drop
  CHECK_FALSE(is_reindex_leftover("t_v_ccnewer", false));
  CHECK_FALSE(is_reindex_leftover("t_v_ccnew1a", false));
  CHECK_FALSE(is_reindex_leftover("_ccnew", false));      // nothing before the suffix
  CHECK_FALSE(is_reindex_leftover("t_ccnew_v", false));
}
