#include "model/stats.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>

namespace pghealthd::model {

std::optional<double> dead_tuple_ratio(Count live, Count dead) {
  if (!live || !dead) return std::nullopt;
  // Both are estimates and never negative in practice; clamp so a bad row cannot export a ratio outside 0..1.
  const double l = *live > 0 ? static_cast<double>(*live) : 0.0;
  const double d = *dead > 0 ? static_cast<double>(*dead) : 0.0;
  if (l + d == 0.0) return 0.0;
  return d / (l + d);
}

std::optional<double> cache_hit_ratio(Count hit, Count read) {
  if (!hit || !read) return std::nullopt;
  const double h = *hit > 0 ? static_cast<double>(*hit) : 0.0;
  const double r = *read > 0 ? static_cast<double>(*read) : 0.0;
  if (h + r == 0.0) return std::nullopt;
  return h / (h + r);
}

std::optional<double> vacuum_progress_ratio(Count total, Count scanned) {
  if (!total || !scanned || *total <= 0) return std::nullopt;
  // The scan never passes the total it started with; clamp anyway, as for the other ratios.
  const double s = *scanned > 0 ? static_cast<double>(*scanned) : 0.0;
  return std::min(s / static_cast<double>(*total), 1.0);
}

std::string_view vacuum_started_by(std::optional<std::string_view> backend_type,
                                   std::optional<std::string_view> application_name) {
  if (backend_type == "autovacuum worker") return "autovacuum";
  if (application_name == "pghealthd") return "pghealthd";
  return "other";
}

std::optional<double> index_unused(const IndexStats& index, std::optional<double> stats_age_seconds,
                                   double min_stats_age_seconds) {
  if (!index.scans) return std::nullopt;
  const bool old_enough = stats_age_seconds && *stats_age_seconds >= min_stats_age_seconds;
  return (*index.scans == 0 && !index.enforces_constraint && !index.replica_identity && old_enough) ? 1.0 : 0.0;
}

Seconds watched_since(const std::optional<DatabaseStatistics>& previous, const DatabaseStatistics& current,
                      double now) {
  if (current.reset_timestamp) return std::nullopt;
  const bool unbroken = previous && !previous->reset_timestamp && previous->watched_since && previous->transactions &&
                        current.transactions && *current.transactions >= *previous->transactions;
  return unbroken ? previous->watched_since : Seconds(now);
}

std::optional<double> statistics_age(const DatabaseStatistics& stats, double now) {
  if (stats.reset_timestamp) return std::max(0.0, stats.server_now - *stats.reset_timestamp);
  if (stats.watched_since) return std::max(0.0, now - *stats.watched_since);
  return std::nullopt;
}

namespace {

// A false boolean as PostgreSQL's parse_bool reads a reloption: any case, and any unique prefix of false,
// no or off ("f", "n", "of"). ALTER TABLE ... SET (autovacuum_enabled = 'F') stores the text as written.
bool is_false(std::string_view v) {
  auto prefix_of = [&](std::string_view word, std::size_t min_len) {
    if (v.size() < min_len || v.size() > word.size()) return false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(v[i])) != word[i]) return false;
    return true;
  };
  return v == "0" || prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2);
}

// Calls `f(key, value)` for each element of a reloptions array as text ({a=1,b=x}); malformed ones are
// skipped, as PostgreSQL would never store them.
template <typename F>
void for_each_reloption(std::string_view reloptions, F&& f) {
  if (reloptions.size() < 2 || reloptions.front() != '{' || reloptions.back() != '}') return;
  std::string_view body = reloptions.substr(1, reloptions.size() - 2);
  while (!body.empty()) {
    const auto comma = body.find(',');
    std::string_view item = body.substr(0, comma);
    body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
    // Array output quotes an element only when it holds special characters; these options never do,
    // but strip quotes anyway.
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    f(item.substr(0, eq), item.substr(eq + 1));
  }
}

// A whole-string number, else nothing.
template <typename T>
std::optional<T> number_of(std::string_view value) {
  T number{};
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  return number;
}

}  // namespace

std::optional<std::string> reloption(std::string_view reloptions, std::string_view key) {
  std::optional<std::string> out;
  for_each_reloption(reloptions, [&](std::string_view k, std::string_view v) {
    if (k == key) out = std::string(v);
  });
  return out;
}

AutovacuumSettings effective_autovacuum(AutovacuumSettings server, std::string_view reloptions) {
  for_each_reloption(reloptions, [&](std::string_view key, std::string_view value) {
    if (key == "autovacuum_enabled") {
      if (is_false(value)) server.enabled = server.table_enabled = false;
      return;
    }
    const auto number = number_of<double>(value);
    if (!number) return;
    // PostgreSQL stores only values in range: -1 where it means "off", never below.
    if (key == "autovacuum_vacuum_threshold") server.base_threshold = *number;
    if (key == "autovacuum_vacuum_scale_factor") server.scale_factor = *number;
    if (key == "autovacuum_vacuum_max_threshold") server.max_threshold = *number;
    if (key == "autovacuum_vacuum_insert_threshold") server.insert_threshold = *number;
    if (key == "autovacuum_vacuum_insert_scale_factor") server.insert_scale_factor = *number;
    if (key == "autovacuum_analyze_threshold") server.analyze_threshold = *number;
    if (key == "autovacuum_analyze_scale_factor") server.analyze_scale_factor = *number;
    if (key == "autovacuum_vacuum_cost_limit" && *number > 0) server.cost_limit = *number;
    if (key == "autovacuum_vacuum_cost_delay" && *number >= 0) server.cost_delay_ms = *number;
  });
  return server;
}

FreezeSettings effective_freeze(FreezeSettings server, std::string_view reloptions) {
  for_each_reloption(reloptions, [&](std::string_view key, std::string_view value) {
    const auto number = number_of<std::int64_t>(value);
    // -1 (or any negative value) means "use the server's"; a larger value is ignored by autovacuum.
    if (!number || *number < 0) return;
    if (key == "autovacuum_freeze_max_age") server.freeze_max_age = std::min(server.freeze_max_age, *number);
    if (key == "autovacuum_multixact_freeze_max_age")
      server.multixact_freeze_max_age = std::min(server.multixact_freeze_max_age, *number);
  });
  return server;
}

std::optional<double> freeze_due_ratio(const FreezeAge& t) {
  std::optional<double> ratio;
  auto consider = [&](const Count& age, std::int64_t max_age) {
    if (!age || max_age <= 0) return;
    const double r = static_cast<double>(std::max<std::int64_t>(*age, 0)) / static_cast<double>(max_age);
    if (!ratio || r > *ratio) ratio = r;
  };
  consider(t.xid_age, t.freeze_max_age);
  consider(t.mxid_age, t.multixact_freeze_max_age);
  return ratio;
}

namespace {

// reltuples as autovacuum reads it: below 0 (never vacuumed or analyzed) counts as 0.
double tuples_of(const TableStats& t) { return t.reltuples && *t.reltuples > 0 ? *t.reltuples : 0.0; }

// count / threshold; absent without either, or for a threshold of 0 (any row triggers it: no ratio).
std::optional<double> ratio_of(Count count, std::optional<double> threshold) {
  if (!threshold || !count || *threshold <= 0) return std::nullopt;
  return (*count > 0 ? static_cast<double>(*count) : 0.0) / *threshold;
}

}  // namespace

std::optional<double> autovacuum_threshold(const TableStats& t) {
  if (!t.autovacuum->enabled || t.relkind == 'p') return std::nullopt;
  const double threshold = t.autovacuum->base_threshold + t.autovacuum->scale_factor * tuples_of(t);
  const double cap = t.autovacuum->max_threshold;
  return cap >= 0 && threshold > cap ? cap : threshold;
}

std::optional<double> autovacuum_due_ratio(const TableStats& t) { return ratio_of(t.dead_tuples, autovacuum_threshold(t)); }

std::optional<double> autovacuum_insert_threshold(const TableStats& t) {
  if (!t.autovacuum->enabled || t.relkind == 'p' || t.autovacuum->insert_threshold < 0 || !t.ins_since_vacuum)
    return std::nullopt;
  double unfrozen = 1;
  if (t.relpages && t.relallfrozen && *t.relpages > 0 && *t.relallfrozen > 0)
    unfrozen = 1 - std::min(*t.relallfrozen, *t.relpages) / *t.relpages;
  return t.autovacuum->insert_threshold + t.autovacuum->insert_scale_factor * tuples_of(t) * unfrozen;
}

std::optional<double> autovacuum_insert_due_ratio(const TableStats& t) {
  return ratio_of(t.ins_since_vacuum, autovacuum_insert_threshold(t));
}

std::optional<double> autoanalyze_threshold(const TableStats& t) {
  if (!t.autovacuum->enabled || t.relkind == 'p' || t.relkind == 't') return std::nullopt;
  return t.autovacuum->analyze_threshold + t.autovacuum->analyze_scale_factor * tuples_of(t);
}

std::optional<double> autoanalyze_due_ratio(const TableStats& t) {
  return ratio_of(t.mod_since_analyze, autoanalyze_threshold(t));
}

std::uint64_t settings_fingerprint(const AutovacuumSettings& s) {
  std::uint64_t h = s.enabled ? 1469598103934665603ULL : 1099511628211ULL;
  for (double v : {s.base_threshold, s.scale_factor, s.max_threshold, s.cost_limit, s.cost_delay_ms})
    h = (h ^ std::hash<double>{}(v)) * 1099511628211ULL;
  return h;
}

void observe(Churn& churn, const TableStats& now, double now_unix) {
  const auto ratio = dead_tuple_ratio(now.live_tuples, now.dead_tuples).value_or(0);
  const auto settings = settings_fingerprint(*now.autovacuum);
  if (churn.settings != settings) {  // the first reading, or new settings
    churn.awaiting_window = churn.settings != 0;
    churn.peaks.clear();
    churn.current_peak = 0;
    churn.since = now_unix;
  }
  churn.settings = settings;
  const bool vacuumed = now.autovacuum_count && churn.autovacuum_count && *now.autovacuum_count > *churn.autovacuum_count;
  if (vacuumed) {
    // The finished window's peak is what autovacuum let it reach; the new window starts at the ratio now.
    churn.peaks.push_back(churn.current_peak);
    if (churn.peaks.size() > Churn::kMaxPeaks) churn.peaks.erase(churn.peaks.begin());
    churn.current_peak = ratio;
    churn.awaiting_window = false;
  } else {
    churn.current_peak = std::max(churn.current_peak, ratio);
  }
  churn.autovacuum_count = now.autovacuum_count;
}

}  // namespace pghealthd::model
