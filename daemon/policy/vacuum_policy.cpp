#include "policy/vacuum_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace pghealthd::policy {
namespace {

TimePoint from_unix(double seconds) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(seconds)));
}

// The most recent vacuum (or, for ANALYZE, analyze) of the table, by anyone, as far as we know.
std::optional<TimePoint> last_maintenance(const model::TableStats& t, const TableHistory* h, Action a) {
  std::optional<TimePoint> last;
  auto take = [&](const std::optional<double>& s) {
    if (s && (!last || from_unix(*s) > *last)) last = from_unix(*s);
  };
  take(t.last_vacuum);
  take(t.last_autovacuum);
  if (a == Action::kAnalyze) {
    take(t.last_analyze);
    take(t.last_autoanalyze);
  }
  if (h && h->last_action && (!last || *h->last_action > *last)) last = h->last_action;
  return last;
}

std::string minutes(config::Duration d) {
  return fmt::format("{}s", std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

std::string_view name(Reason r) {
  static constexpr std::array<std::string_view, kReasonCount> kNames{
      "below_threshold", "cooldown",   "outside_window",    "rate_limited", "autovacuum_running",
      "in_recovery",     "not_leader", "xmin_horizon_held", "excluded",     "dry_run",
      "temporary",       "exclusion_constraint", "index_build_running"};
  return kNames[static_cast<std::size_t>(r)];
}

std::string_view name(Action a) {
  switch (a) {
    case Action::kVacuumAnalyze: return "vacuum_analyze";
    case Action::kAnalyze: return "analyze";
    case Action::kFreeze: return "freeze";
    case Action::kTune: return "tune";
    case Action::kReindex: return "reindex";
  }
  return "?";
}

RuleSet::RuleSet(const config::Vacuum& cfg) {
  defaults_.dead_tuple_ratio = cfg.dead_tuple_ratio;
  defaults_.min_dead_tuples = cfg.min_dead_tuples;
  defaults_.cooldown = cfg.cooldown;
  for (const auto& o : cfg.tables) rules_.push_back({config::Pattern(o.schema), config::Pattern(o.table), o});
}

TableRules RuleSet::for_table(const std::string& schema, const std::string& table) const {
  for (const auto& c : rules_) {
    if (!c.schema.matches(schema) || !c.table.matches(table)) continue;
    TableRules r = defaults_;
    r.excluded = c.rule.exclude;
    if (c.rule.dead_tuple_ratio) r.dead_tuple_ratio = *c.rule.dead_tuple_ratio;
    if (c.rule.min_dead_tuples) r.min_dead_tuples = *c.rule.min_dead_tuples;
    if (c.rule.cooldown) r.cooldown = *c.rule.cooldown;
    return r;
  }
  return defaults_;
}

bool in_window(const std::vector<config::Window>& windows, LocalTime now) {
  if (windows.empty()) return true;
  for (const auto& w : windows) {
    if (w.start_minute < w.end_minute) {
      if (w.days[static_cast<std::size_t>(now.weekday)] && now.minute >= w.start_minute && now.minute < w.end_minute)
        return true;
    } else {  // past midnight: from start on its day until end on the next day
      const int yesterday = (now.weekday + 6) % 7;
      if (w.days[static_cast<std::size_t>(now.weekday)] && now.minute >= w.start_minute) return true;
      if (w.days[static_cast<std::size_t>(yesterday)] && now.minute < w.end_minute) return true;
    }
  }
  return false;
}

std::optional<std::chrono::seconds> window_remaining(const std::vector<config::Window>& windows, LocalTime now) {
  if (windows.empty()) return std::nullopt;
  int best = 0;  // minutes from now.minute to the end
  const int yesterday = (now.weekday + 6) % 7;
  for (const auto& w : windows) {
    int left = 0;
    if (w.start_minute < w.end_minute) {
      if (w.days[static_cast<std::size_t>(now.weekday)] && now.minute >= w.start_minute && now.minute < w.end_minute)
        left = w.end_minute - now.minute;
    } else {  // past midnight
      if (w.days[static_cast<std::size_t>(now.weekday)] && now.minute >= w.start_minute)
        left = 24 * 60 - now.minute + w.end_minute;
      else if (w.days[static_cast<std::size_t>(yesterday)] && now.minute < w.end_minute)
        left = w.end_minute - now.minute;
    }
    best = std::max(best, left);
  }
  if (best == 0) return std::chrono::seconds(0);
  return std::chrono::seconds(best * 60 - now.second);
}

std::vector<Decision> decide(const std::vector<model::TableStats>& tables, const config::Vacuum& cfg,
                             const RuleSet& rules, const History& history, const Environment& env, TimePoint now) {
  std::vector<Decision> acting, skipped;
  std::map<std::int64_t, const model::TableStats*> by_relid;
  for (const auto& t : tables) by_relid[t.relid] = &t;

  auto evaluate = [&](const model::TableStats& t, Action action, std::string why) -> Decision {
    Decision d{&t, action, std::nullopt, std::move(why), {}, {}};
    const auto rule = rules.for_table(t.schemaname, t.relname);
    const auto hit = history.find(t.relid);
    const TableHistory* h = hit == history.end() ? nullptr : &hit->second;
    auto skip = [&](Reason r, std::string why_not) {
      d.action.reset();
      d.skipped = r;
      d.why = std::move(why_not);
      return d;
    };
    if (const auto last = last_maintenance(t, h, action); last && now - *last < rule.cooldown)
      return skip(Reason::kCooldown, fmt::format("{} within the cooldown of {}",
                                                 action == Action::kAnalyze ? "analyzed" : "vacuumed",
                                                 minutes(rule.cooldown)));
    if (action == Action::kVacuumAnalyze && h && h->held_xmin && env.horizon_xmin == h->held_xmin)
      return skip(Reason::kXminHorizonHeld,
                  fmt::format("the last vacuum left dead rows behind xmin {}, which is still held", *h->held_xmin));
    if (env.vacuum_running.count(t.relid)) return skip(Reason::kAutovacuumRunning, "a vacuum of it is running");
    if (!in_window(cfg.windows, env.local)) return skip(Reason::kOutsideWindow, "outside the maintenance windows");
    if (env.in_recovery) return skip(Reason::kInRecovery, "the server is in recovery (a standby)");
    if (!env.leader) return skip(Reason::kNotLeader, "another pghealthd holds this database's vacuum lock");
    return d;
  };

  for (const auto& t : tables) {
    if (t.temporary) {
      skipped.push_back({&t, std::nullopt, Reason::kTemporary,
                         "a temporary table: only its own session can vacuum it", {}, {}});
      continue;
    }
    const auto rule = rules.for_table(t.schemaname, t.relname);
    if (rule.excluded) {
      skipped.push_back({&t, std::nullopt, Reason::kExcluded, "excluded by a vacuum.tables rule", {}, {}});
      continue;
    }
    if (t.relkind == 'p') continue;  // parents follow their partitions (below); they have no counters
    const std::int64_t dead = t.dead_tuples.value_or(0);
    const double ratio = model::dead_tuple_ratio(t.live_tuples, t.dead_tuples).value_or(0.0);
    const auto due = model::autovacuum_due_ratio(t);
    // No threshold: autovacuum never comes. A threshold of 0 (both settings 0): it is due at any dead row.
    const auto threshold = model::autovacuum_threshold(t);
    const bool autovacuum_late = !threshold || *threshold <= 0 || (due && *due >= 1.0);
    if (ratio > rule.dead_tuple_ratio && dead >= rule.min_dead_tuples &&
        (!cfg.only_when_autovacuum_late || autovacuum_late)) {
      acting.push_back(evaluate(t, Action::kVacuumAnalyze,
                                fmt::format("dead ratio {:.4f} > {} with {} dead rows (min {})", ratio,
                                            rule.dead_tuple_ratio, dead, rule.min_dead_tuples)));
      continue;
    }
    const double live = static_cast<double>(std::max<std::int64_t>(t.live_tuples.value_or(0), 0));
    const double analyze_at = static_cast<double>(cfg.analyze_only.min_modified_tuples) +
                              cfg.analyze_only.modified_ratio * live;
    const std::int64_t modified = t.mod_since_analyze.value_or(0);
    if (cfg.analyze_only.enabled && static_cast<double>(modified) > analyze_at) {
      acting.push_back(evaluate(
          t, Action::kAnalyze,
          fmt::format("{} rows modified since the last analyze > {:.0f}", modified, analyze_at)));
      continue;
    }
    std::string why = fmt::format("dead ratio {:.4f} (threshold {}), {} dead rows (min {})", ratio,
                                  rule.dead_tuple_ratio, dead, rule.min_dead_tuples);
    if (cfg.only_when_autovacuum_late && !autovacuum_late && ratio > rule.dead_tuple_ratio &&
        dead >= rule.min_dead_tuples)
      why = fmt::format("autovacuum is not late yet (due ratio {:.2f})", due.value_or(0.0));
    skipped.push_back({&t, std::nullopt, Reason::kBelowThreshold, std::move(why), {}, {}});
  }

  // Parents of partitions we act on get an ANALYZE.
  std::set<std::int64_t> parents;
  for (const auto& d : acting)
    if (d.action && d.table->parent_relid) parents.insert(*d.table->parent_relid);
  for (auto relid : parents) {
    auto it = by_relid.find(relid);
    if (it == by_relid.end() || it->second->relkind != 'p') continue;
    if (rules.for_table(it->second->schemaname, it->second->relname).excluded) continue;
    acting.push_back(evaluate(*it->second, Action::kAnalyze,
                              "a partition is being maintained: refresh the partitioned parent's statistics"));
  }

  // Most dead rows first; ANALYZE-only after vacuums. Then the budgets, then dry_run.
  std::stable_sort(acting.begin(), acting.end(), [](const Decision& a, const Decision& b) {
    const bool av = a.action == Action::kVacuumAnalyze, bv = b.action == Action::kVacuumAnalyze;
    if (av != bv) return av;
    return a.table->dead_tuples.value_or(0) > b.table->dead_tuples.value_or(0);
  });
  // Actions run one at a time per database; max_concurrent bounds them across a target's databases.
  Budget budget;
  budget.no_slot = env.running >= cfg.max_concurrent;
  budget.left = cfg.max_per_hour - env.actions_last_hour;
  budget.dry_run = cfg.dry_run;
  budget.no_slot_why = fmt::format("max_concurrent {} vacuums already running on this target", cfg.max_concurrent);
  budget.spent_why = fmt::format("max_per_hour {} reached", cfg.max_per_hour);
  return apply_budget(std::move(acting), std::move(skipped), budget);
}

std::optional<Wait> environment_wait(std::int64_t relid, const std::vector<config::Window>& windows,
                                     std::string_view windows_name, const Environment& env) {
  if (env.vacuum_running.count(relid)) return Wait{Reason::kAutovacuumRunning, "a vacuum of it is running"};
  if (!in_window(windows, env.local)) return Wait{Reason::kOutsideWindow, fmt::format("outside the {} windows", windows_name)};
  if (env.in_recovery) return Wait{Reason::kInRecovery, "the server is in recovery (a standby)"};
  if (!env.leader) return Wait{Reason::kNotLeader, "another pghealthd holds this database's maintenance lock"};
  return std::nullopt;
}

std::vector<Decision> highest_first(std::vector<Ranked> ranked) {
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.rank > b.rank; });
  std::vector<Decision> out;
  out.reserve(ranked.size());
  for (auto& r : ranked) out.push_back(std::move(r.decision));
  return out;
}

std::vector<Decision> apply_budget(std::vector<Decision> acting, std::vector<Decision> skipped, const Budget& budget) {
  int left = budget.left;
  for (auto& d : acting) {
    if (!d.action) continue;
    if (budget.no_slot || left <= 0) {
      d.action.reset();
      d.skipped = Reason::kRateLimited;
      d.why = budget.no_slot ? budget.no_slot_why : budget.spent_why;
      continue;
    }
    --left;
    if (budget.dry_run) {
      d.skipped = Reason::kDryRun;  // the action stays set: what it would have done
      d.why += " (dry run)";
    }
  }
  // Those that act (or, in a dry run, would act) first, in the order a real run would take them.
  std::stable_partition(acting.begin(), acting.end(), [](const Decision& d) { return d.action.has_value(); });
  acting.insert(acting.end(), std::make_move_iterator(skipped.begin()), std::make_move_iterator(skipped.end()));
  return acting;
}

}  // namespace pghealthd::policy
