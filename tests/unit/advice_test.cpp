// Autovacuum tuning advice (policy::advise, policy::observe) on synthetic histories: steady churn, bursty
// churn, insert-only, a huge table whose autovacuum cannot keep up, a table already well tuned, and the
// SQL it writes (names quoted, a DBA's own value restored on undo).
#include <catch2/catch.hpp>

#include <string>

#include "metrics/snapshot.h"
#include "pg/rows.h"
#include "support/table_rows.h"
#include "policy/advice.h"
#include "policy/tuning_policy.h"

namespace {

using pghealthd::model::TableStats;
using pghealthd::policy::advise;
using pghealthd::model::Churn;
using pghealthd::model::observe;
using Catch::Matchers::Contains;

TableStats table(double rows, std::int64_t dead, std::int64_t autovacuums = 10) {
  TableStats t;
  t.schemaname = "public";
  t.relname = "orders";
  t.reltuples = rows;
  t.live_tuples = static_cast<std::int64_t>(rows);
  t.dead_tuples = dead;
  t.autovacuum_count = autovacuums;
  return t;
}

// Windows between autovacuums whose dead ratio peaked at `peak`.
Churn history(std::initializer_list<double> peaks) {
  Churn c;
  c.peaks = peaks;
  return c;
}

}  // namespace

TEST_CASE("process carries each table's history from snapshot to snapshot and exports its running peak",
          "[advice]") {
  // Three collections: 10% dead, 30% dead, then autovacuum ran (count 1 -> 2) and 5% are dead.
  auto answer = [](const char* dead, const char* autovacuums) {
    return pghealthd::test::table_rows(
        {"relid", "relkind", "relpersistence", "parent_relid", "reltuples", "reloptions", "av_on", "av_threshold",
         "av_scale_factor", "schemaname", "relname", "n_live_tup", "n_dead_tup", "n_mod_since_analyze", "seq_scan",
         "has_indexes", "last_vacuum", "last_autovacuum", "last_analyze", "last_autoanalyze", "vacuum_count",
         "autovacuum_count", "analyze_count", "autoanalyze_count", "last_seq_scan", "total_vacuum_time",
         "total_autovacuum_time", "total_analyze_time", "total_autoanalyze_time", "heap_bytes", "av_max_threshold",
         "av_insert_threshold", "av_insert_scale_factor", "av_analyze_threshold", "av_analyze_scale_factor", "av_cost_limit", "av_cost_delay",
         "relpages", "relallfrozen", "n_ins_since_vacuum", "toast_bytes"},
        {{"16390", "r", "p", std::nullopt, "900", std::nullopt, "t", "50", "0.2", "public", "orders", "900", dead,
          "0", "0", "f", std::nullopt, std::nullopt, std::nullopt, std::nullopt, "0", autovacuums, "0", "0",
          std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, "8192", "-1", "1000", "0.2", "50",
          "0.1", "200", "2", "1", std::nullopt, "0", "0"}});
  };
  const auto kind = pghealthd::collectors::Kind::kStatUserTables;
  pghealthd::metrics::SeriesFilter filter;
  pghealthd::metrics::History history;
  const auto first = pghealthd::metrics::process(kind, answer("100", "1"), "t", "d", filter, history);
  REQUIRE(first.snapshot);
  CHECK(first.snapshot->tables.at(0).dead_ratio_peak == Approx(0.1));
  const auto second =
      pghealthd::metrics::process(kind, answer("386", "1"), "t", "d", filter, pghealthd::metrics::History::of(*first.snapshot));
  CHECK(second.snapshot->tables.at(0).dead_ratio_peak == Approx(0.3).epsilon(0.01));
  const auto third =
      pghealthd::metrics::process(kind, answer("47", "2"), "t", "d", filter, pghealthd::metrics::History::of(*second.snapshot));
  CHECK(third.snapshot->tables.at(0).dead_ratio_peak == Approx(0.05).epsilon(0.01));
  const auto& churn = third.snapshot->churn.at(16390);
  REQUIRE(churn.peaks.size() == 1);
  CHECK(churn.peaks[0] == Approx(0.3).epsilon(0.01));
  CHECK(third.snapshot->series.text(pghealthd::metrics::Family::kTableDeadTupleRatioPeak)
            .find("pghealthd_table_dead_tuple_ratio_peak{") == 0);
}

TEST_CASE("observe keeps the peak of each window between autovacuums, at most eight", "[advice]") {
  Churn c;
  auto before = table(1000, 0, 1);
  for (int window = 0; window < 12; ++window) {
    for (int dead : {50, 150, 100}) {  // the ratio rises to 150/1150, then falls a little: the peak stays
      auto now = before;
      now.dead_tuples = dead;
      observe(c, now, 0);
      before = now;
    }
    auto vacuumed = before;
    vacuumed.dead_tuples = 0;
    vacuumed.autovacuum_count = *before.autovacuum_count + 1;
    observe(c, vacuumed, 0);
    before = vacuumed;
  }
  REQUIRE(c.peaks.size() == Churn::kMaxPeaks);
  for (double p : c.peaks) CHECK(p == Approx(150.0 / 1150.0));
  CHECK(c.current_peak == 0.0);
}

TEST_CASE("observe drops the windows seen under other settings: an applied advice is judged afresh", "[advice]") {
  Churn c;
  auto t = table(1000, 300, 1);
  observe(c, t, 0);
  t.autovacuum_count = 2;
  t.dead_tuples = 10;
  observe(c, t, 0);
  REQUIRE(c.peaks.size() == 1);
  t.autovacuum.edit().scale_factor = 0.05;  // ALTER TABLE ... SET (autovacuum_vacuum_scale_factor = 0.05)
  t.dead_tuples = 20;
  observe(c, t, 0);
  CHECK(c.peaks.empty());
  CHECK(c.current_peak == Approx(20.0 / 1020.0));
  // Until an autovacuum runs under the new settings, there is nothing to say of them.
  CHECK(c.awaiting_window);
  CHECK_FALSE(advise(table(1e6, 300000, 2), c, ""));
  t.dead_tuples = 30;  // same settings again: the window goes on
  observe(c, t, 0);
  CHECK(c.current_peak == Approx(30.0 / 1030.0));
  t.autovacuum_count = 3;
  t.dead_tuples = 0;
  observe(c, t, 0);
  CHECK_FALSE(c.awaiting_window);
  CHECK(c.peaks.size() == 1);
}

TEST_CASE("steady churn past the target: a smaller scale factor, with its reasoning and SQL", "[advice]") {
  // 1,000,000 rows, default settings: autovacuum starts at 200,050 dead rows (16.7%); peaks at 17%.
  const auto t = table(1e6, 0);
  const auto a = advise(t, history({0.17, 0.168, 0.171}), "");
  REQUIRE(a);
  REQUIRE(a->vacuum_scale_factor);
  // The peak holds ~0.4% of lag beyond the trigger: the new trigger leaves room for it under 5%.
  CHECK(*a->vacuum_scale_factor < 0.0526);
  CHECK(*a->vacuum_scale_factor > 0.03);
  CHECK(a->analyze_scale_factor == Approx(*a->vacuum_scale_factor / 2).epsilon(0.1));
  CHECK_FALSE(a->vacuum_cost_limit);
  CHECK_THAT(a->reasoning, Contains("peaked at 17.1% between autovacuums (target 5.0%)"));
  CHECK(a->alter_sql.rfind("ALTER TABLE \"public\".\"orders\" SET (autovacuum_vacuum_scale_factor = 0.0", 0) == 0);
  CHECK(a->undo_sql ==
        "ALTER TABLE \"public\".\"orders\" RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)");
}

TEST_CASE("bursty churn: the worst recent window decides", "[advice]") {
  const auto calm = advise(table(1e6, 0), history({0.03, 0.04, 0.02}), "");
  CHECK_FALSE(calm);  // every peak under the target: nothing to say
  const auto burst = advise(table(1e6, 0), history({0.03, 0.25, 0.02}), "");
  REQUIRE(burst);
  CHECK(burst->observed_peak == 0.25);
}

TEST_CASE("no advice for an insert-only table, a small one, a well tuned one, or one without autovacuum",
          "[advice]") {
  CHECK_FALSE(advise(table(1e6, 0), history({0.0, 0.0}), ""));  // inserts leave no dead rows
  CHECK_FALSE(advise(table(5000, 0), history({0.3}), ""));       // the base threshold decides there
  auto tuned = table(1e6, 0);
  tuned.autovacuum.edit().scale_factor = 0.02;
  CHECK_FALSE(advise(tuned, history({0.045, 0.049}), ""));
  auto off = table(1e6, 0);
  off.autovacuum.edit().enabled = false;
  CHECK_FALSE(advise(off, history({0.4}), ""));
  auto parent = table(1e6, 0);
  parent.relkind = 'p';
  CHECK_FALSE(advise(parent, history({0.4}), ""));
}

TEST_CASE("a huge table whose autovacuum cannot keep up: faster runs, not only an earlier start", "[advice]") {
  // 100 million rows, already at 2% (a DBA's): the peak reaches 9%, 7 points of it while autovacuum runs.
  auto t = table(1e8, 0);
  t.autovacuum.edit().scale_factor = 0.02;
  t.autovacuum.edit().cost_delay_ms = 20;  // PostgreSQL 11's default, kept by an old configuration
  const auto a = advise(t, history({0.09, 0.088}), "{fillfactor=90,autovacuum_vacuum_scale_factor=0.02}");
  REQUIRE(a);
  REQUIRE(a->vacuum_cost_limit);
  CHECK(*a->vacuum_cost_limit == 2000);
  REQUIRE(a->vacuum_cost_delay_ms);
  CHECK(*a->vacuum_cost_delay_ms == 2);
  REQUIRE(a->vacuum_scale_factor);
  CHECK(*a->vacuum_scale_factor == Approx(0.01));
  CHECK_THAT(a->reasoning, Contains("the runs must be faster"));
  CHECK_THAT(a->reasoning, Contains("a cost delay of 2ms (now 20ms)"));
  // The DBA's own scale factor comes back on undo; the others are reset.
  CHECK_THAT(a->undo_sql, Contains("SET (autovacuum_vacuum_scale_factor = 0.02)"));
  CHECK_THAT(a->undo_sql,
             Contains("RESET (autovacuum_analyze_scale_factor, autovacuum_vacuum_cost_limit, autovacuum_vacuum_cost_delay)"));
}

TEST_CASE("never looser than a DBA made it: a faster cost limit stays, a stricter scale factor stays", "[advice]") {
  auto t = table(1e8, 0);
  t.autovacuum.edit().scale_factor = 0.005;
  t.autovacuum.edit().analyze_scale_factor = 0.001;
  t.autovacuum.edit().cost_limit = 5000;
  const auto a = advise(t, history({0.09}), "{autovacuum_vacuum_scale_factor=0.005,autovacuum_vacuum_cost_limit=5000}");
  CHECK_FALSE(a);  // runs are as fast and starts as early as advice would make them: nothing to say
  t.autovacuum.edit().cost_limit = 200;
  const auto b = advise(t, history({0.09}), "{autovacuum_vacuum_scale_factor=0.005}");
  REQUIRE(b);
  CHECK_FALSE(b->vacuum_scale_factor);
  CHECK_FALSE(b->analyze_scale_factor);
  CHECK(b->vacuum_cost_limit == 2000);
  CHECK(b->undo_sql == "ALTER TABLE \"public\".\"orders\" RESET (autovacuum_vacuum_cost_limit)");
}

TEST_CASE("a table whose own base threshold is most of the target gets a lower one", "[advice]") {
  // 100,000 rows, a DBA's threshold of 20,000 dead rows: autovacuum starts at 16.7% whatever the scale.
  auto t = table(1e5, 0);
  t.autovacuum.edit().base_threshold = 20000;
  t.autovacuum.edit().scale_factor = 0.0;
  const auto a = advise(t, history({0.17}), "{autovacuum_vacuum_threshold=20000,autovacuum_vacuum_scale_factor=0}");
  REQUIRE(a);
  REQUIRE(a->vacuum_threshold);
  CHECK(*a->vacuum_threshold < 5263);  // 5% of all rows is 5,263 dead for 100,000 live
  CHECK_FALSE(a->vacuum_scale_factor);  // 0 stays 0: never looser
  CHECK_THAT(a->reasoning, Contains("base threshold of 20000"));
  CHECK_THAT(a->undo_sql, Contains("SET (autovacuum_vacuum_threshold = 20000)"));
}

TEST_CASE("a DBA's over-eager scale factor is loosened only with may_relax, and only with enough history",
          "[advice]") {
  auto t = table(1e6, 0);
  t.autovacuum.edit().scale_factor = 0.001;
  const std::string own = "{autovacuum_vacuum_scale_factor=0.001}";
  pghealthd::policy::AdviceSettings relax;
  relax.may_relax = true;
  CHECK_FALSE(advise(t, history({0.002, 0.001, 0.002}), own));  // may_relax off: well tuned is well tuned
  CHECK_FALSE(advise(t, history({0.002, 0.001}), own, relax));  // two windows are not enough to know
  CHECK_FALSE(advise(t, history({0.002, 0.02, 0.001}), own, relax));  // one peak near the target
  CHECK_FALSE(advise(table(1e6, 0), history({0.002, 0.001, 0.002}), "", relax));  // the server's: not ours to loosen
  const auto a = advise(t, history({0.002, 0.001, 0.002}), own, relax);
  REQUIRE(a);
  CHECK(a->relaxes);
  REQUIRE(a->vacuum_scale_factor);
  CHECK(*a->vacuum_scale_factor > 0.01);
  CHECK(*a->vacuum_scale_factor < 0.0526);
  CHECK_FALSE(a->analyze_scale_factor);
  CHECK(a->undo_sql == "ALTER TABLE \"public\".\"orders\" SET (autovacuum_vacuum_scale_factor = 0.001)");
}

TEST_CASE("applied: the catalog proves every value, whatever else it holds", "[advice]") {
  const auto a = advise(table(1e6, 0), history({0.17}), "");
  REQUIRE(a);
  const auto set = a->assignments();
  REQUIRE(set.size() == 2);
  const std::string both = "{fillfactor=90," + set[0].first + "=" + set[0].second + "," + set[1].first + "=" +
                           set[1].second + "}";
  CHECK(pghealthd::policy::applied(*a, both));
  CHECK_FALSE(pghealthd::policy::applied(*a, "{" + set[0].first + "=" + set[0].second + "}"));
  CHECK_FALSE(pghealthd::policy::applied(*a, ""));
  CHECK_FALSE(pghealthd::policy::applied(*a, "{" + set[0].first + "=0.3," + set[1].first + "=" + set[1].second + "}"));
}

TEST_CASE("a one-shot check reasons from the counters and says so, and names are quoted", "[advice]") {
  auto t = table(2e6, 400000);  // 16.7% dead now
  t.schemaname = "we\"ird";
  t.relname = "Ord ers";
  Churn lifetime;
  lifetime.lifetime_only = true;
  const auto a = advise(t, lifetime, "");
  REQUIRE(a);
  CHECK_THAT(a->reasoning, Contains("no history"));
  CHECK(a->alter_sql.rfind("ALTER TABLE \"we\"\"ird\".\"Ord ers\" SET (", 0) == 0);
}

// --- tuning.apply: which advice is applied now (policy::decide_tuning) ------------------------------------

namespace {

struct Tuned {
  std::vector<TableStats> tables;
  std::unordered_map<std::int64_t, Churn> churn;
  pghealthd::config::Tuning cfg;
  pghealthd::config::Vacuum vacuum;
  pghealthd::policy::History history;
  pghealthd::policy::Environment env;
  int tuned_last_day = 0;
  pghealthd::policy::TimePoint now = std::chrono::system_clock::now();

  // A 1,000,000-row table whose dead rows peaked at `peak` between autovacuums.
  void add(std::int64_t relid, const char* name, double peak) {
    auto t = table(1e6, 0);
    t.relid = relid;
    t.relname = name;
    tables.push_back(t);
    churn[relid] = ::history({peak});
  }
  [[nodiscard]] std::vector<pghealthd::policy::Decision> decide() const {
    const pghealthd::policy::RuleSet rules(vacuum);
    return pghealthd::policy::decide_tuning(tables, churn, cfg, {}, rules, history, env, tuned_last_day, now);
  }
};

}  // namespace

TEST_CASE("tuning: advice is applied worst first, within max_per_day, once per table per day", "[advice][tuning]") {
  using pghealthd::policy::Action;
  using pghealthd::policy::Reason;
  Tuned s;
  s.add(1, "calm", 0.03);  // no advice: not a candidate at all
  s.add(2, "busy", 0.17);
  s.add(3, "worse", 0.30);
  s.add(4, "worst", 0.40);
  s.cfg.max_per_day = 3;
  s.tuned_last_day = 1;
  s.history[2].last_action = s.now - std::chrono::hours(25);  // a day ago: may be tuned again
  auto d = s.decide();
  REQUIRE(d.size() == 3);
  CHECK(d[0].table->relname == "worst");
  CHECK(d[0].action == Action::kTune);
  REQUIRE(d[0].advice);
  CHECK(d[0].advice->observed_peak == 0.40);
  CHECK(d[1].table->relname == "worse");
  CHECK(d[1].action == Action::kTune);
  CHECK(d[2].table->relname == "busy");  // the day's budget is spent (1 + 2 of 3)
  CHECK(d[2].skipped == Reason::kRateLimited);
  CHECK_THAT(d[2].why, Contains("tuning.max_per_day 3"));

  s.history[3].last_action = s.now - std::chrono::hours(23);
  d = s.decide();
  for (const auto& x : d)
    if (x.table->relname == "worse") CHECK(x.skipped == Reason::kCooldown);
}

TEST_CASE("tuning: every reason to leave advice unapplied", "[advice][tuning]") {
  using pghealthd::policy::Reason;
  auto only = [](const Tuned& s) {
    const auto d = s.decide();
    REQUIRE(d.size() == 1);
    return d[0];
  };
  Tuned s;
  s.add(7, "t", 0.3);
  CHECK(only(s).action);
  Tuned temp = s;
  temp.tables[0].temporary = true;
  CHECK(only(temp).skipped == Reason::kTemporary);
  Tuned excluded = s;
  excluded.vacuum.tables.push_back({});
  excluded.vacuum.tables.back().table = "t";
  excluded.vacuum.tables.back().exclude = true;
  CHECK(only(excluded).skipped == Reason::kExcluded);
  Tuned running = s;
  running.env.vacuum_running.insert(7);
  CHECK(only(running).skipped == Reason::kAutovacuumRunning);
  Tuned closed = s;
  closed.cfg.windows.push_back({});
  closed.cfg.windows.back().days.fill(true);
  closed.cfg.windows.back().start_minute = 60;
  closed.cfg.windows.back().end_minute = 120;
  closed.env.local.minute = 3 * 60;
  CHECK(only(closed).skipped == Reason::kOutsideWindow);
  Tuned standby = s;
  standby.env.in_recovery = true;
  CHECK(only(standby).skipped == Reason::kInRecovery);
  Tuned follower = s;
  follower.env.leader = false;
  CHECK(only(follower).skipped == Reason::kNotLeader);
  Tuned no_history = s;
  no_history.churn.clear();  // never read: no history, no advice applied
  CHECK(no_history.decide().empty());
  Tuned young = s;  // read for a minute only (tuning.min_history is an hour)
  young.churn[7].since = std::chrono::duration<double>(young.now.time_since_epoch()).count() - 60;
  CHECK(only(young).skipped == Reason::kBelowThreshold);
  CHECK_THAT(only(young).why, Contains("watched for 60s"));
  young.cfg.min_history = std::chrono::seconds(30);
  CHECK(only(young).action);
}
