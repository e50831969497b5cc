#include "policy/freeze_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace pghealthd::policy {

std::vector<Decision> decide_freeze(const std::vector<model::TableStats>& tables,
                                    const std::vector<model::FreezeAge>& ages, const config::Freeze& cfg,
                                    int max_per_hour, const RuleSet& rules, const History& history,
                                    const Environment& env, TimePoint now) {
  std::map<std::int64_t, const model::TableStats*> by_relid;
  for (const auto& t : tables) by_relid[t.relid] = &t;

  std::vector<Ranked> acting;
  std::vector<Decision> skipped;
  for (const auto& age : ages) {
    const auto it = by_relid.find(age.relid);
    if (it == by_relid.end() || it->second->relkind == 'p') continue;
    const model::TableStats& t = *it->second;
    const double due = model::freeze_due_ratio(age).value_or(0.0);
    const auto rule = rules.for_table(t.schemaname, t.relname);
    auto skip = [&](Reason r, std::string why) { skipped.push_back({&t, std::nullopt, r, std::move(why), {}, {}}); };
    if (t.temporary || age.temporary) {
      skip(Reason::kTemporary, "a temporary table: only its own session can vacuum it");
      continue;
    }
    if (rule.excluded) {
      skip(Reason::kExcluded, "excluded by a vacuum.tables rule");
      continue;
    }
    const std::string ages_text = fmt::format("xid age {} of {}, multixact age {} of {}", age.xid_age.value_or(0),
                                              age.freeze_max_age, age.mxid_age.value_or(0),
                                              age.multixact_freeze_max_age);
    if (due < cfg.min_age_ratio) {
      skip(Reason::kBelowThreshold,
           fmt::format("freeze due ratio {:.3f} < min_age_ratio {} ({})", due, cfg.min_age_ratio, ages_text));
      continue;
    }
    Decision d{&t, Action::kFreeze, std::nullopt,
               fmt::format("freeze due ratio {:.3f} >= min_age_ratio {} ({})", due, cfg.min_age_ratio, ages_text), {}, {}};
    auto not_now = [&](Reason r, std::string why) {
      d.action.reset();
      d.skipped = r;
      d.why = std::move(why);
    };
    const auto h = history.find(t.relid);
    if (h != history.end() && h->second.last_action && now - *h->second.last_action < rule.cooldown)
      not_now(Reason::kCooldown, fmt::format("frozen (or tried) within the cooldown of {}s",
                                             std::chrono::duration_cast<std::chrono::seconds>(rule.cooldown).count()));
    else if (auto wait = environment_wait(t.relid, cfg.windows, "freeze", env))
      not_now(wait->reason, std::move(wait->why));
    acting.push_back({std::move(d), due});
  }

  // Nearest to wraparound first; then the budgets, then dry_run.
  auto ordered = highest_first(std::move(acting));
  Budget budget;
  budget.no_slot = env.freezes_running >= cfg.max_concurrent;
  budget.left = max_per_hour - env.actions_last_hour;
  budget.dry_run = cfg.dry_run;
  budget.no_slot_why = fmt::format("freeze.max_concurrent {} freezes already running on this target", cfg.max_concurrent);
  budget.spent_why = fmt::format("vacuum.max_per_hour {} reached", max_per_hour);
  return apply_budget(std::move(ordered), std::move(skipped), budget);
}

}  // namespace pghealthd::policy
