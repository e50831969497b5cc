#include "policy/advice.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "pg/conninfo.h"

namespace pghealthd::policy {
namespace {

// The default autovacuum_vacuum_cost_limit and _delay would need to reach: ten times the cost budget,
// and 12+'s default delay.
constexpr int kFastCostLimit = 2000;
constexpr double kFastCostDelayMs = 2;

// Two significant digits, never below `floor`: 0.03125 -> 0.031 (as printed: no binary residue).
double round2(double v, double floor) { return std::strtod(fmt::format("{:.2g}", std::max(v, floor)).c_str(), nullptr); }

std::string percent(double ratio) { return fmt::format("{:.1f}%", 100 * ratio); }

std::optional<double> number(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (!end || *end != '\0') return std::nullopt;
  return v;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

AdviceSettings advice_settings(const config::Advice& advice, const config::Tuning& tuning) {
  AdviceSettings s;
  s.target_dead_ratio = advice.target_dead_ratio;
  s.may_relax = tuning.may_relax;
  return s;
}

std::vector<std::pair<std::string, std::string>> Advice::assignments() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (vacuum_scale_factor) out.emplace_back("autovacuum_vacuum_scale_factor", fmt::format("{}", *vacuum_scale_factor));
  if (vacuum_threshold) out.emplace_back("autovacuum_vacuum_threshold", fmt::format("{:.0f}", *vacuum_threshold));
  if (analyze_scale_factor)
    out.emplace_back("autovacuum_analyze_scale_factor", fmt::format("{}", *analyze_scale_factor));
  if (vacuum_cost_limit) out.emplace_back("autovacuum_vacuum_cost_limit", std::to_string(*vacuum_cost_limit));
  if (vacuum_cost_delay_ms) out.emplace_back("autovacuum_vacuum_cost_delay", fmt::format("{}", *vacuum_cost_delay_ms));
  return out;
}

std::string alter_statement(const Advice& a, std::string_view quoted_table) {
  std::vector<std::string> set;
  for (const auto& [key, value] : a.assignments()) set.push_back(key + " = " + value);
  return fmt::format("ALTER TABLE {} SET ({})", quoted_table, join(set));
}

std::string undo_statement(const Advice& a, std::string_view quoted_table) {
  std::vector<std::string> reset, restore;
  for (const auto& [key, value] : a.assignments()) {
    // A DBA's own value comes back on undo (as a number: nothing from the catalogue is pasted as text).
    const auto old = a.previous.find(key);
    if (old == a.previous.end())
      reset.push_back(key);
    else
      restore.push_back(fmt::format("{} = {}", key, old->second));
  }
  std::string out;
  if (!reset.empty()) out = fmt::format("ALTER TABLE {} RESET ({})", quoted_table, join(reset));
  if (!restore.empty())
    out += fmt::format("{}ALTER TABLE {} SET ({})", out.empty() ? "" : "; ", quoted_table, join(restore));
  return out;
}

bool applied(const Advice& a, std::string_view reloptions) {
  const auto set = a.assignments();
  return !set.empty() && std::all_of(set.begin(), set.end(), [&](const auto& kv) {
    const auto now = number(model::reloption(reloptions, kv.first));
    const double wanted = std::strtod(kv.second.c_str(), nullptr);
    return now && std::abs(*now - wanted) <= 1e-9 * std::max(1.0, std::abs(wanted));
  });
}

std::optional<Advice> advise(const TableStats& t, const Churn& churn, std::string_view reloptions,
                             const AdviceSettings& s) {
  if (t.relkind == 'p' || !t.autovacuum->enabled) return std::nullopt;
  const double rows = std::max(t.reltuples.value_or(0), static_cast<double>(t.live_tuples.value_or(0)));
  if (rows < s.min_rows) return std::nullopt;
  // The worst recent peak: a window that ran long without autovacuum shows what its trigger lets happen.
  double peak = churn.current_peak;
  for (double p : churn.peaks) peak = std::max(peak, p);
  if (churn.lifetime_only) peak = model::dead_tuple_ratio(t.live_tuples, t.dead_tuples).value_or(0);
  else if (churn.awaiting_window) return std::nullopt;  // new settings: judged after an autovacuum under them
  const double target = s.target_dead_ratio;
  const auto& av = *t.autovacuum;
  auto own = [&](std::string_view key) { return number(model::reloption(reloptions, key)); };

  // Dead rows at a ratio r of all rows, for `rows` live ones: r x rows / (1 - r).
  auto dead_at = [&](double r) { return r * rows / (1 - r); };
  const double threshold = model::autovacuum_threshold(t).value_or(0);
  const double trigger_ratio = threshold / (rows + threshold);
  // What the peak holds beyond the trigger: rows that die while autovacuum gets to the table and runs.
  const double lag = std::max(0.0, dead_at(peak) - threshold);
  const double wanted_threshold = dead_at(target) - lag;
  const double base = av.base_threshold;
  const double raw_scale = (wanted_threshold - base) / rows;
  auto starts_at = [&](double b, double scale) { return percent((b + scale * rows) / (rows + b + scale * rows)); };

  Advice a;
  a.schemaname = t.schemaname;
  a.relname = t.relname;
  a.observed_peak = peak;
  const std::string seen = churn.lifetime_only
                               ? fmt::format("{} of its rows are dead now (no history: a one-shot check judges by "
                                             "the counters since the statistics reset)",
                                             percent(peak))
                               : fmt::format("its dead rows peaked at {} between autovacuums", percent(peak));
  const std::string lag_text =
      lag > 0 ? fmt::format(" and the table gains {} more before it is done", percent(peak - trigger_ratio)) : "";

  if (peak <= target) {
    // Well tuned. Only a DBA's own setting that vacuums far more often than needed, over enough windows
    // to know, is worth loosening, and only when tuning.may_relax says so.
    const auto own_scale = own("autovacuum_vacuum_scale_factor");
    if (!s.may_relax || churn.lifetime_only || churn.peaks.size() < 3 || peak > target / 4 || !own_scale)
      return std::nullopt;
    const double scale = round2(raw_scale, s.min_scale_factor);
    if (scale < 2 * *own_scale) return std::nullopt;
    a.vacuum_scale_factor = scale;
    a.relaxes = true;
    a.reasoning = fmt::format(
        "its dead rows peaked at {} at most over {} windows between autovacuums, far under the target {}: its own "
        "scale factor {} vacuums it more often than needed, {} starts autovacuum at {} and still keeps the peak "
        "near the target",
        percent(peak), churn.peaks.size(), percent(target), *own_scale, scale, starts_at(base, scale));
  } else if (raw_scale >= s.min_scale_factor) {
    const double scale = round2(raw_scale, s.min_scale_factor);
    if (scale >= av.scale_factor) return std::nullopt;  // never looser than it is
    a.vacuum_scale_factor = scale;
    a.reasoning = fmt::format(
        "{} (target {}); autovacuum starts at {} ({:.0f} dead rows of {:.0f}){}: a scale factor of {} starts it at "
        "{} and keeps the peak near the target",
        seen, percent(target), percent(trigger_ratio), threshold, rows, lag_text, scale, starts_at(base, scale));
  } else if (wanted_threshold > 0 && base > wanted_threshold / 2 && lag < dead_at(target) / 2) {
    // The table's base threshold alone is most of the target: lower it too.
    const double new_base = round2(wanted_threshold / 2, 50);
    const double scale = round2((wanted_threshold - new_base) / rows, s.min_scale_factor);
    if (new_base >= base) return std::nullopt;
    a.vacuum_threshold = new_base;
    if (scale < av.scale_factor) a.vacuum_scale_factor = scale;
    const double new_scale = a.vacuum_scale_factor.value_or(av.scale_factor);
    a.reasoning = fmt::format(
        "{} (target {}); its base threshold of {:.0f} dead rows is most of the target on its own{}: a threshold of "
        "{:.0f} and a scale factor of {} start autovacuum at {}",
        seen, percent(target), base, lag_text, new_base, new_scale, starts_at(new_base, new_scale));
  } else {
    // Starting earlier is not enough: the rows that die during a run alone pass the target. Faster runs.
    const double scale = s.min_scale_factor * 5;
    if (scale < av.scale_factor) a.vacuum_scale_factor = scale;
    if (av.cost_limit < kFastCostLimit) a.vacuum_cost_limit = kFastCostLimit;
    if (av.cost_delay_ms > kFastCostDelayMs) a.vacuum_cost_delay_ms = kFastCostDelayMs;
    if (!a.vacuum_scale_factor && !a.vacuum_cost_limit && !a.vacuum_cost_delay_ms) return std::nullopt;
    std::vector<std::string> changes;
    if (a.vacuum_cost_limit) changes.push_back(fmt::format("a cost limit of {} (now {:.0f})", kFastCostLimit, av.cost_limit));
    if (a.vacuum_cost_delay_ms)
      changes.push_back(fmt::format("a cost delay of {}ms (now {}ms)", kFastCostDelayMs, av.cost_delay_ms));
    if (a.vacuum_scale_factor) changes.push_back(fmt::format("a scale factor of {}", scale));
    a.reasoning = fmt::format(
        "{} (target {}), {} past where autovacuum starts ({}): starting earlier cannot keep up, the runs must be "
        "faster, so {}",
        seen, percent(target), percent(peak - trigger_ratio), percent(trigger_ratio), join(changes));
  }
  // ANALYZE at half the vacuum's scale factor, as statistics go stale before the dead rows matter.
  if (a.vacuum_scale_factor && !a.relaxes) {
    const double analyze = round2(*a.vacuum_scale_factor / 2, s.min_scale_factor / 2);
    if (analyze < av.analyze_scale_factor) a.analyze_scale_factor = analyze;
  }
  for (const auto& kv : a.assignments())
    if (const auto old = own(kv.first)) a.previous.emplace(kv.first, *old);
  const std::string table = pg::quote_identifier(t.schemaname) + "." + pg::quote_identifier(t.relname);
  a.alter_sql = alter_statement(a, table);
  a.undo_sql = undo_statement(a, table);
  return a;
}

}  // namespace pghealthd::policy
