#include "policy/advice.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "pg/conninfo.h"

namespace pghealthd::policy {
namespace {

// Two significant digits, never below `floor`: 0.03125 -> 0.031.
double round2(double v, double floor) {
  v = std::max(v, floor);
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)) - 1);
  return std::round(v / magnitude) * magnitude;
}

std::string percent(double ratio) { return fmt::format("{:.1f}%", 100 * ratio); }

}  // namespace

std::optional<Advice> advise(const TableStats& t, const Churn& churn, std::string_view reloptions,
                             const AdviceSettings& s) {
  if (t.relkind == 'p' || !t.autovacuum.enabled) return std::nullopt;
  const double rows = std::max(t.reltuples.value_or(0), static_cast<double>(t.live_tuples.value_or(0)));
  if (rows < s.min_rows) return std::nullopt;
  // The worst recent peak: a window that ran long without autovacuum shows what its trigger lets happen.
  double peak = churn.current_peak;
  for (double p : churn.peaks) peak = std::max(peak, p);
  if (churn.lifetime_only) peak = model::dead_tuple_ratio(t.live_tuples, t.dead_tuples).value_or(0);
  const double target = s.target_dead_ratio;
  if (peak <= target) return std::nullopt;

  // Dead rows at a ratio r of all rows, for `rows` live ones: r x rows / (1 - r).
  auto dead_at = [&](double r) { return r * rows / (1 - r); };
  const double threshold = model::autovacuum_threshold(t).value_or(0);
  const double trigger_ratio = threshold / (rows + threshold);
  // What the peak holds beyond the trigger: rows that die while autovacuum gets to the table and runs.
  const double lag = std::max(0.0, dead_at(peak) - threshold);
  const double wanted_threshold = dead_at(target) - lag;
  const double base = t.autovacuum.base_threshold;
  const double raw_scale = (wanted_threshold - base) / rows;

  Advice a;
  a.schemaname = t.schemaname;
  a.relname = t.relname;
  a.observed_peak = peak;
  const std::string seen = churn.lifetime_only
                               ? fmt::format("{} of its rows are dead now (no history: a one-shot check judges by "
                                             "the counters since the statistics reset)",
                                             percent(peak))
                               : fmt::format("its dead rows peaked at {} between autovacuums", percent(peak));
  if (raw_scale >= s.min_scale_factor) {
    const double scale = round2(raw_scale, s.min_scale_factor);
    if (scale >= t.autovacuum.scale_factor) return std::nullopt;  // never looser than it is
    a.vacuum_scale_factor = scale;
    a.reasoning = fmt::format(
        "{} (target {}); autovacuum starts at {} ({:.0f} dead rows of {:.0f}){}: a scale factor of {} starts it at "
        "{} and keeps the peak near the target",
        seen, percent(target), percent(trigger_ratio), threshold, rows,
        lag > 0 ? fmt::format(" and the table gains {} more before it is done", percent(peak - trigger_ratio)) : "",
        scale, percent((base + scale * rows) / (rows + base + scale * rows)));
  } else {
    // Starting earlier is not enough: the rows that die during a run alone pass the target. Faster runs.
    a.vacuum_scale_factor = std::min(t.autovacuum.scale_factor, s.min_scale_factor * 5);
    a.vacuum_cost_limit = 2000;
    a.reasoning = fmt::format(
        "{} (target {}), {} past where autovacuum starts ({}): starting earlier cannot keep up, the runs must be "
        "faster, so a cost limit of 2000 (ten times the default) and a scale factor of {}",
        seen, percent(target), percent(peak - trigger_ratio), percent(trigger_ratio), *a.vacuum_scale_factor);
  }
  // ANALYZE at half the vacuum's scale factor, as statistics go stale before the dead rows matter.
  const double analyze = round2(*a.vacuum_scale_factor / 2, s.min_scale_factor / 2);
  if (analyze < t.autovacuum.analyze_scale_factor) a.analyze_scale_factor = analyze;

  std::vector<std::pair<std::string, std::string>> set;
  set.emplace_back("autovacuum_vacuum_scale_factor", fmt::format("{}", *a.vacuum_scale_factor));
  if (a.analyze_scale_factor) set.emplace_back("autovacuum_analyze_scale_factor", fmt::format("{}", *a.analyze_scale_factor));
  if (a.vacuum_cost_limit) set.emplace_back("autovacuum_vacuum_cost_limit", std::to_string(*a.vacuum_cost_limit));
  const std::string table = pg::quote_identifier(t.schemaname) + "." + pg::quote_identifier(t.relname);
  std::string assignments, reset, restore;
  for (const auto& [key, value] : set) {
    assignments += (assignments.empty() ? "" : ", ") + key + " = " + value;
    // A DBA's own value comes back on undo (as a number: nothing from the catalogue is pasted as text).
    const auto old = model::reloption(reloptions, key);
    char* end = nullptr;
    const double old_value = old ? std::strtod(old->c_str(), &end) : 0;
    if (old && end && *end == '\0' && !old->empty())
      restore += (restore.empty() ? "" : ", ") + key + " = " + fmt::format("{}", old_value);
    else
      reset += (reset.empty() ? "" : ", ") + key;
  }
  a.alter_sql = "ALTER TABLE " + table + " SET (" + assignments + ")";
  if (!reset.empty()) a.undo_sql = "ALTER TABLE " + table + " RESET (" + reset + ")";
  if (!restore.empty())
    a.undo_sql += (a.undo_sql.empty() ? "" : "; ") + std::string("ALTER TABLE ") + table + " SET (" + restore + ")";
  return a;
}

}  // namespace pghealthd::policy
