#include "policy/tuning_policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace pghealthd::policy {

std::vector<Decision> decide_tuning(const std::vector<model::TableStats>& tables,
                                    const std::unordered_map<std::int64_t, model::Churn>& churn,
                                    const config::Tuning& cfg, const AdviceSettings& advice, const RuleSet& rules,
                                    const History& history, const Environment& env, int tuned_last_day,
                                    TimePoint now) {
  std::vector<Ranked> acting;
  std::vector<Decision> skipped;
  const double now_unix = std::chrono::duration<double>(now.time_since_epoch()).count();
  for (const auto& t : tables) {
    const auto c = churn.find(t.relid);
    if (c == churn.end()) continue;
    auto a = advise(t, c->second, t.reloptions, advice);
    if (!a) continue;
    const double watched = now_unix - c->second.since;
    const double peak = a->observed_peak;
    Decision d{&t, Action::kTune, std::nullopt, a->reasoning, std::move(a), nullptr};
    auto not_now = [&](Reason r, std::string why) {
      d.action.reset();
      d.skipped = r;
      d.why = std::move(why);
    };
    const auto h = history.find(t.relid);
    if (watched < std::chrono::duration<double>(cfg.min_history).count())
      not_now(Reason::kBelowThreshold,
              fmt::format("watched for {:.0f}s under its current settings, less than tuning.min_history", watched));
    else if (t.temporary)
      not_now(Reason::kTemporary, "a temporary table: only its own session can alter it");
    else if (rules.for_table(t.schemaname, t.relname).excluded)
      not_now(Reason::kExcluded, "excluded by a vacuum.tables rule");
    else if (h != history.end() && h->second.last_action && now - *h->second.last_action < kTuningCooldown)
      not_now(Reason::kCooldown, "tuned (or tried) less than a day ago: one change per table per day");
    else if (auto wait = environment_wait(t.relid, cfg.windows, "tuning", env))
      not_now(wait->reason, std::move(wait->why));
    if (d.action) acting.push_back({std::move(d), peak});
    else skipped.push_back(std::move(d));
  }
  auto ordered = highest_first(std::move(acting));
  Budget budget;
  budget.left = cfg.max_per_day - tuned_last_day;
  budget.spent_why = fmt::format("tuning.max_per_day {} reached on this target", cfg.max_per_day);
  return apply_budget(std::move(ordered), std::move(skipped), budget);
}

}  // namespace pghealthd::policy
