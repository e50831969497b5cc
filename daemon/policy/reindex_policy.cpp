#include "policy/reindex_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace pghealthd::policy {
namespace {

bool ends_with_suffix(std::string_view name, std::string_view suffix) {
  // The suffix, then digits only (a second leftover of the same index is _ccnew1, and so on).
  const auto at = name.rfind(suffix);
  if (at == std::string_view::npos || at == 0) return false;
  const auto rest = name.substr(at + suffix.size());
  return std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string mib(double bytes) { return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0)); }

}  // namespace

std::optional<BloatNumber> bloat_number(const model::RelationBloat& r) {
  if (r.exact) return BloatNumber{r.exact->ratio, r.exact->wasted_bytes, "exact"};
  if (r.estimate.unestimated) return std::nullopt;
  return BloatNumber{r.estimate.ratio, r.estimate.wasted_bytes, "estimate"};
}

bool is_reindex_leftover(std::string_view index_name, bool valid) {
  return !valid && (ends_with_suffix(index_name, "_ccnew") || ends_with_suffix(index_name, "_ccold"));
}

std::vector<Decision> decide_reindex(const std::vector<model::RelationBloat>& bloat,
                                     const std::vector<model::TableStats>& tables, const config::Reindex& cfg,
                                     const RuleSet& rules, const ReindexHistory& history, const Environment& env,
                                     int reindexed_last_day, TimePoint now) {
  std::unordered_map<std::int64_t, const model::TableStats*> by_relid;
  for (const auto& t : tables) by_relid.emplace(t.relid, &t);

  std::vector<Ranked> acting;
  std::vector<Decision> skipped;
  for (const auto& r : bloat) {
    if (!r.index || !r.valid) continue;  // an invalid index is being built, or a leftover (dropped apart)
    const auto t = by_relid.find(r.table_relid);
    if (t == by_relid.end() || t->second->temporary) continue;
    const auto number = bloat_number(r);
    if (!number) continue;
    const double size = r.shape.relpages * r.shape.block_size;
    if (number->ratio < cfg.min_bloat_ratio || size < static_cast<double>(cfg.min_size_bytes)) continue;
    const auto& table = *t->second;
    Decision d{&table, Action::kReindex, std::nullopt,
               fmt::format("{:.1f}% bloated ({}, {} of {} wasted) >= min_bloat_ratio {}", number->ratio * 100,
                           number->method, mib(number->wasted_bytes), mib(size), cfg.min_bloat_ratio),
               std::nullopt, &r};
    auto not_now = [&](Reason reason, std::string why) {
      d.action.reset();
      d.skipped = reason;
      d.why = std::move(why);
    };
    const auto h = history.find({r.schemaname, r.indexrelname});
    if (rules.for_table(table.schemaname, table.relname).excluded)
      not_now(Reason::kExcluded, "its table is excluded by a vacuum.tables rule");
    else if (r.exclusion)
      not_now(Reason::kExclusionConstraint, "it enforces an exclusion constraint: REINDEX CONCURRENTLY cannot rebuild it");
    else if (h != history.end() && now - h->second < kReindexCooldown)
      not_now(Reason::kCooldown, "rebuilt (or tried) less than a day ago: once per index per day");
    else if (auto wait = environment_wait(table.relid, cfg.windows, "reindex", env))
      not_now(wait->reason, std::move(wait->why));
    if (d.action) acting.push_back({std::move(d), number->wasted_bytes});
    else skipped.push_back(std::move(d));
  }
  Budget budget;
  budget.no_slot = env.reindexes_running > 0;
  budget.left = cfg.max_per_day - reindexed_last_day;
  budget.dry_run = cfg.dry_run;
  budget.no_slot_why = "a REINDEX already runs on this target: one index at a time";
  budget.spent_why = fmt::format("reindex.max_per_day {} reached on this target", cfg.max_per_day);
  return apply_budget(highest_first(std::move(acting)), std::move(skipped), budget);
}

}  // namespace pghealthd::policy
