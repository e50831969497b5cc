#include "config/load.h"

#include <libpq-fe.h>
#include <spdlog/common.h>
#include <yaml-cpp/yaml.h>

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "config/pattern.h"
#include "metrics/catalog.h"

namespace pghealthd::config {
namespace {

std::string fmt_number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The longest duration pghealthd accepts anywhere: a year is plenty for any interval, backoff or cooldown,
// and it keeps every deadline computed from one (a nanosecond clock's now() + d, a doubled backoff, a
// schedule phase in a double) far from overflowing.
constexpr std::uint64_t kMaxDurationMs = 366ull * 24 * 3'600'000;

enum class DurationText { kOk, kMalformed, kTooLarge };

// parse_duration() that tells a malformed text from a well-formed one past kMaxDurationMs.
DurationText read_duration(std::string_view text, Duration& out) {
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ptr == first || (ec != std::errc() && ec != std::errc::result_out_of_range)) return DurationText::kMalformed;
  const std::string_view unit(ptr, static_cast<std::size_t>(last - ptr));
  std::uint64_t ms_per_unit = 0;
  if (unit == "ms")
    ms_per_unit = 1;
  else if (unit == "s")
    ms_per_unit = 1000;
  else if (unit == "m")
    ms_per_unit = 60'000;
  else if (unit == "h")
    ms_per_unit = 3'600'000;
  else if (unit == "d")
    ms_per_unit = 86'400'000;
  else
    return DurationText::kMalformed;
  // Integers only (no fractions, so nothing below a millisecond), compared before multiplying: no overflow.
  if (ec == std::errc::result_out_of_range || value > kMaxDurationMs / ms_per_unit) return DurationText::kTooLarge;
  out = Duration(static_cast<Duration::rep>(value * ms_per_unit));
  return DurationText::kOk;
}

// 2147483647ms -> "596h 31m 23.647s"; 100ms -> "100ms"; 8784h -> "8784h".
std::string describe_duration(Duration d) {
  auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const auto h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += (out.empty() ? "" : " ") + std::to_string(m) + "m";
  if (s || frac) {
    out += (out.empty() ? "" : " ") + std::to_string(s);
    if (frac) {
      char buf[8];
      std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(frac));
      out += buf;
      while (out.back() == '0') out.pop_back();
    }
    out += "s";
  }
  return out;
}

// What PostgreSQL accepts for a setting pghealthd sends it (set_config) from a configured duration.
struct ServerLimit {
  Duration max;
  const char* setting;
};
// statement_timeout and lock_timeout are int milliseconds on the server (about 24.8 days at most).
constexpr ServerLimit kStatementTimeoutLimit{Duration(2147483647), "statement_timeout"};
constexpr ServerLimit kLockTimeoutLimit{Duration(2147483647), "lock_timeout"};
// vacuum_cost_delay: 0 to 100 milliseconds.
constexpr ServerLimit kCostDelayLimit{Duration(100), "vacuum_cost_delay"};

// Collects every problem of a file instead of stopping at the first one.
class Reader {
 public:
  std::vector<Problem> problems;

  void error(const YAML::Node& at, std::string message) {
    YAML::Mark m = at.Mark();
    // yaml-cpp marks an empty value (`listen:` with nothing after it) at the next token, usually on the
    // next line; point at its key instead.
    if (at.IsNull()) {
      for (const auto& [value, key_mark] : empty_values_)
        if (value.is(at)) m = key_mark;
    }
    problems.push_back({m.line + 1, m.column + 1, std::move(message)});
  }

  // Checks that `node` is a mapping whose keys are all in `allowed` and appear once each.
  bool expect_map(const YAML::Node& node, const std::string& what,
                  std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      error(node, what + " must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        error(kv.first, what + " has a key that is not a plain name");
        continue;
      }
      const std::string key = kv.first.Scalar();
      if (kv.second.IsNull()) empty_values_.emplace_back(kv.second, kv.first.Mark());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string known;
        for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
        error(kv.first, "unknown key '" + key + "' in " + what + " (known: " + known + ")");
      } else if (!seen.insert(key).second) {
        error(kv.first, "duplicate key '" + key + "' in " + what);
      }
    }
    return true;
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) {
      error(node, what + " must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::string> nonempty_string(const YAML::Node& node, const std::string& what) {
    auto s = string(node, what);
    if (s && s->empty()) {
      error(node, what + " must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& what) {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      error(node, what + " must be true or false");
      return std::nullopt;
    }
    return value;
  }

  std::optional<double> number(const YAML::Node& node, const std::string& what, double min, double max) {
    double value = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !(value >= min && value <= max)) {
      error(node, what + " must be a number from " + fmt_number(min) + " to " + fmt_number(max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& what, std::int64_t min,
                                      std::int64_t max) {
    std::int64_t value = 0;
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!node.IsScalar() || text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < min ||
        value > max) {
      error(node, what + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<Duration> duration(const YAML::Node& node, const std::string& what, bool allow_zero = false) {
    Duration d{};
    const auto parsed = node.IsScalar() ? read_duration(node.Scalar(), d) : DurationText::kMalformed;
    if (parsed == DurationText::kTooLarge) {
      error(node, what + " must be at most " + describe_duration(Duration(kMaxDurationMs)) +
                      " (366 days, the longest duration pghealthd accepts)");
      return std::nullopt;
    }
    if (parsed == DurationText::kMalformed) {
      error(node, what + " must be a duration such as 250ms, 30s, 5m, 1h or 7d");
      return std::nullopt;
    }
    if (d.count() > 0 || allow_zero) return d;
    error(node, what + " must be greater than zero");
    return std::nullopt;
  }

  // A duration pghealthd sends to the server as `limit.setting`: also at most what PostgreSQL accepts
  // there, so a value the server would refuse fails --check-config, not every session's setup.
  std::optional<Duration> server_duration(const YAML::Node& node, const std::string& what, const ServerLimit& limit,
                                          bool allow_zero = false) {
    auto d = duration(node, what, allow_zero);
    if (d && *d > limit.max) {
      const auto text = describe_duration(limit.max);
      const auto ms = std::to_string(limit.max.count()) + "ms";
      error(node, what + " must be at most " + text + " (" + (text == ms ? "" : ms + ", ") + "PostgreSQL's " +
                      limit.setting + " limit)");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::vector<std::string>> string_list(const YAML::Node& node, const std::string& what) {
    if (!node.IsSequence()) {
      error(node, what + " must be a list of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : node) {
      if (auto s = nonempty_string(item, "each entry of " + what)) out.push_back(*s);
    }
    return out;
  }

  std::optional<std::vector<std::string>> regex_list(const YAML::Node& node, const std::string& what) {
    auto list = string_list(node, what);
    if (!list) return list;
    for (const auto& item : node) {
      if (!item.IsScalar()) continue;
      if (auto why = pattern_error(item.Scalar()))
        error(item, "invalid regular expression in " + what + ": " + *why);
    }
    return list;
  }

  void connection(const YAML::Node& node, const std::string& what, ConnectionSettings& out) {
    if (!expect_map(
            node, what,
            {"connect_timeout", "statement_timeout", "lock_timeout", "backoff_initial", "backoff_max",
             "max_connections"}))
      return;
    auto set = [&](const char* key, Duration& field, const ServerLimit* limit = nullptr) {
      if (const auto n = node[key]) {
        auto d = limit ? server_duration(n, what + "." + key, *limit) : duration(n, what + "." + key);
        if (d) field = *d;
      }
    };
    set("connect_timeout", out.connect_timeout);  // client-side only: our own deadline
    set("statement_timeout", out.statement_timeout, &kStatementTimeoutLimit);
    set("lock_timeout", out.lock_timeout, &kLockTimeoutLimit);
    set("backoff_initial", out.backoff_initial);
    set("backoff_max", out.backoff_max);
    if (const auto n = node["max_connections"])
      if (auto i = integer(n, what + ".max_connections", 1, 10000)) out.max_connections = static_cast<int>(*i);
    if (out.backoff_initial > out.backoff_max)
      error(node, what + ".backoff_initial must not be larger than backoff_max");
  }

 private:
  std::vector<std::pair<YAML::Node, YAML::Mark>> empty_values_;  // null mapping values and their keys
};

void read_cardinality(Reader& r, const YAML::Node& node, Cardinality& out) {
  const std::string what = "cardinality";
  if (!r.expect_map(node, what,
                    {"include_schemas", "exclude_schemas", "include_tables", "exclude_tables",
                     "min_table_size_bytes", "max_series_per_target"}))
    return;
  const std::pair<const char*, std::vector<std::string>*> lists[] = {{"include_schemas", &out.include_schemas},
                                                                      {"exclude_schemas", &out.exclude_schemas},
                                                                      {"include_tables", &out.include_tables},
                                                                      {"exclude_tables", &out.exclude_tables}};
  for (const auto& [key, field] : lists)
    if (const auto n = node[key])
      if (auto list = r.regex_list(n, what + "." + key)) *field = std::move(*list);
  if (const auto n = node["min_table_size_bytes"])
    if (auto i = r.integer(n, what + ".min_table_size_bytes", 0, INT64_MAX)) out.min_table_size_bytes = *i;
  if (const auto n = node["max_series_per_target"])
    if (auto i = r.integer(n, what + ".max_series_per_target", 0, INT64_MAX)) out.max_series_per_target = *i;
}

void read_collectors(Reader& r, const YAML::Node& node, Collectors& out) {
  if (!r.expect_map(node, "collectors",
                    {"stat_user_tables", "statio_user_tables", "stat_user_indexes", "xmin_horizon",
                     "vacuum_progress", "freeze", "sequences", "bloat"}))
    return;
  auto one = [&](const char* name, Collector& c) {
    const auto n = node[name];
    if (!n) return;
    const std::string what = std::string("collectors.") + name;
    if (!r.expect_map(n, what, {"interval", "enabled"})) return;
    if (const auto i = n["interval"]) {
      if (auto d = r.duration(i, what + ".interval")) c.interval = *d;
    }
    if (const auto e = n["enabled"]) {
      if (auto b = r.boolean(e, what + ".enabled")) c.enabled = *b;
    }
  };
  one("stat_user_tables", out.stat_user_tables);
  one("statio_user_tables", out.statio_user_tables);
  one("stat_user_indexes", out.stat_user_indexes);
  one("xmin_horizon", out.xmin_horizon);
  one("vacuum_progress", out.vacuum_progress);
  one("freeze", out.freeze);
  one("sequences", out.sequences);
  one("bloat", out.bloat);
}

void read_bloat(Reader& r, const YAML::Node& node, Bloat& out) {
  const std::string what = "bloat";
  if (!r.expect_map(node, what, {"exact", "exact_min_size_bytes", "exact_budget", "lock_timeout"})) return;
  if (const auto n = node["exact"])
    if (auto b = r.boolean(n, what + ".exact")) out.exact = *b;
  if (const auto n = node["exact_min_size_bytes"])
    if (auto i = r.integer(n, what + ".exact_min_size_bytes", 0, INT64_MAX)) out.exact_min_size_bytes = *i;
  if (const auto n = node["exact_budget"])
    if (auto d = r.duration(n, what + ".exact_budget")) out.exact_budget = *d;
  // Not 0: on the server that means waiting for a lock forever, behind any ACCESS EXCLUSIVE request.
  if (const auto n = node["lock_timeout"])
    if (auto d = r.server_duration(n, what + ".lock_timeout", kLockTimeoutLimit)) out.lock_timeout = *d;
}

// What bloat.exact needs of the collectors: the bloat collector runs it, and a pass longer than the
// collector's interval would make every other run a skipped one.
void check_bloat(Reader& r, const YAML::Node& node, const Bloat& b, const Collectors& c) {
  if (!b.exact) return;
  if (!c.bloat.enabled)
    r.error(node["exact"], "bloat.exact needs the bloat collector (collectors.bloat.enabled)");
  if (b.exact_budget >= c.bloat.interval)
    r.error(node["exact_budget"] ? node["exact_budget"] : node["exact"],
            "bloat.exact_budget (" + describe_duration(b.exact_budget) +
                ") must be shorter than collectors.bloat.interval (" + describe_duration(c.bloat.interval) +
                ")");
}

void read_indexes(Reader& r, const YAML::Node& node, Indexes& out) {
  if (!r.expect_map(node, "indexes", {"unused_min_stats_age"})) return;
  if (const auto n = node["unused_min_stats_age"])
    if (auto d = r.duration(n, "indexes.unused_min_stats_age", true)) out.unused_min_stats_age = *d;
}

// targets[].labels: a mapping of label names (Prometheus' [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__",
// none of pghealthd's own) to string values.
void read_labels(Reader& r, const YAML::Node& node, const std::string& what, std::map<std::string, std::string>& out) {
  if (!node.IsMap()) {
    r.error(node, what + " must be a mapping of label names to values");
    return;
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      r.error(kv.first, what + " has a key that is not a plain name");
      continue;
    }
    const std::string name = kv.first.Scalar();
    const bool valid = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                       });
    if (!valid) {
      r.error(kv.first, "label name '" + name + "' in " + what +
                            " is not a Prometheus label name (letters, digits and _, not starting with a digit)");
      continue;
    }
    if (name.rfind("__", 0) == 0) {
      r.error(kv.first, "label name '" + name + "' in " + what + " starts with __, which Prometheus reserves");
      continue;
    }
    if (std::find(metrics::kBuiltInLabels.begin(), metrics::kBuiltInLabels.end(), name) !=
        metrics::kBuiltInLabels.end()) {
      r.error(kv.first, "label name '" + name + "' in " + what + " is one of pghealthd's or Prometheus' own labels");
      continue;
    }
    if (out.count(name)) {
      r.error(kv.first, "duplicate label '" + name + "' in " + what);
      continue;
    }
    if (auto v = r.string(kv.second, what + "." + name)) out.emplace(name, *v);
  }
}

// "HH:MM" -> minutes after midnight.
std::optional<int> parse_time_of_day(const std::string& s) {
  if (s.size() != 5 || s[2] != ':' || !std::isdigit(static_cast<unsigned char>(s[0])) ||
      !std::isdigit(static_cast<unsigned char>(s[1])) || !std::isdigit(static_cast<unsigned char>(s[3])) ||
      !std::isdigit(static_cast<unsigned char>(s[4])))
    return std::nullopt;
  const int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

void read_window(Reader& r, const YAML::Node& node, const std::string& what, std::vector<Window>& out) {
  if (!r.expect_map(node, what, {"days", "start", "end"})) return;
  Window w;
  w.days.fill(true);
  if (const auto n = node["days"]) {
    // "mon", "Monday", "tues": at least three letters of the full name, nothing else ("monkey" is no day).
    static constexpr std::array<std::string_view, 7> kNames{"sunday",   "monday", "tuesday", "wednesday",
                                                            "thursday", "friday", "saturday"};
    if (auto list = r.string_list(n, what + ".days")) {
      w.days.fill(false);
      std::size_t i = 0;
      for (const auto& item : n) {
        if (i >= list->size()) break;
        std::string day = (*list)[i++];
        std::transform(day.begin(), day.end(), day.begin(), [](unsigned char c) { return std::tolower(c); });
        const auto it = std::find_if(kNames.begin(), kNames.end(),
                                     [&](std::string_view full) { return full.substr(0, day.size()) == day; });
        if (day.size() < 3 || it == kNames.end())
          r.error(item, what + ".days: '" + day + "' is not a weekday (mon, tue, wed, thu, fri, sat, sun)");
        else
          w.days[static_cast<std::size_t>(it - kNames.begin())] = true;
      }
    }
  }
  for (const char* key : {"start", "end"}) {
    const auto n = node[key];
    if (!n) {
      r.error(node, what + " needs " + key + " (HH:MM)");
      continue;
    }
    auto text = r.string(n, what + "." + key);
    auto t = text ? parse_time_of_day(*text) : std::nullopt;
    if (text && !t) r.error(n, what + "." + key + " must be a time of day as HH:MM (00:00 to 24:00)");
    if (t) (std::string_view(key) == "start" ? w.start_minute : w.end_minute) = *t;
  }
  out.push_back(w);
}

// `what`.windows: a list of windows (read_window), when the key is there.
void read_windows(Reader& r, const YAML::Node& node, const std::string& what, std::vector<Window>& out) {
  const auto n = node["windows"];
  if (!n) return;
  if (!n.IsSequence()) {
    r.error(n, what + ".windows must be a list");
    return;
  }
  std::size_t i = 0;
  for (const auto& w : n) read_window(r, w, what + ".windows[" + std::to_string(i++) + "]", out);
}

void read_vacuum(Reader& r, const YAML::Node& node, Vacuum& v) {
  const std::string what = "vacuum";
  if (!r.expect_map(node, what,
                    {"enabled", "dry_run", "dead_tuple_ratio", "min_dead_tuples", "cooldown", "max_concurrent",
                     "max_per_hour", "windows", "timezone", "lock_timeout", "max_duration", "cost_delay",
                     "cost_limit", "truncate", "only_when_autovacuum_late", "analyze_only", "tables"}))
    return;
  auto flag = [&](const char* key, bool& field) {
    if (const auto n = node[key])
      if (auto b = r.boolean(n, what + "." + key)) field = *b;
  };
  auto dur = [&](const char* key, Duration& field, bool allow_zero = false) {
    if (const auto n = node[key])
      if (auto d = r.duration(n, what + "." + key, allow_zero)) field = *d;
  };
  auto server_dur = [&](const char* key, Duration& field, const ServerLimit& limit, bool allow_zero = false) {
    if (const auto n = node[key])
      if (auto d = r.server_duration(n, what + "." + key, limit, allow_zero)) field = *d;
  };
  flag("enabled", v.enabled);
  flag("dry_run", v.dry_run);
  flag("truncate", v.truncate);
  flag("only_when_autovacuum_late", v.only_when_autovacuum_late);
  if (const auto n = node["dead_tuple_ratio"])
    if (auto d = r.number(n, what + ".dead_tuple_ratio", 0.0, 1.0)) v.dead_tuple_ratio = *d;
  if (const auto n = node["min_dead_tuples"])
    if (auto i = r.integer(n, what + ".min_dead_tuples", 0, INT64_MAX)) v.min_dead_tuples = *i;
  if (const auto n = node["max_concurrent"])
    if (auto i = r.integer(n, what + ".max_concurrent", 1, 64)) v.max_concurrent = static_cast<int>(*i);
  if (const auto n = node["max_per_hour"])
    if (auto i = r.integer(n, what + ".max_per_hour", 1, 100000)) v.max_per_hour = static_cast<int>(*i);
  if (const auto n = node["cost_limit"])
    if (auto i = r.integer(n, what + ".cost_limit", 1, 10000)) v.cost_limit = static_cast<int>(*i);
  dur("cooldown", v.cooldown, true);
  server_dur("lock_timeout", v.lock_timeout, kLockTimeoutLimit);
  // The vacuum session's statement_timeout is max_duration (maintenance/engine.cpp).
  server_dur("max_duration", v.max_duration, kStatementTimeoutLimit);
  // Whole milliseconds: the duration syntax has no fractions, so nothing reaches the server to be rounded.
  server_dur("cost_delay", v.cost_delay, kCostDelayLimit, true);
  if (const auto n = node["timezone"]) {
    if (auto tz = r.nonempty_string(n, what + ".timezone")) {
      try {
        (void)date::locate_zone(*tz);
        v.timezone = *tz;
      } catch (const std::exception&) {
        r.error(n, what + ".timezone '" + *tz + "' is not a known time zone (e.g. UTC, Europe/Berlin)");
      }
    }
  }
  read_windows(r, node, what, v.windows);
  if (const auto n = node["analyze_only"]) {
    const std::string a = what + ".analyze_only";
    if (r.expect_map(n, a, {"enabled", "min_modified_tuples", "modified_ratio"})) {
      if (const auto e = n["enabled"])
        if (auto b = r.boolean(e, a + ".enabled")) v.analyze_only.enabled = *b;
      if (const auto e = n["min_modified_tuples"])
        if (auto i = r.integer(e, a + ".min_modified_tuples", 0, INT64_MAX)) v.analyze_only.min_modified_tuples = *i;
      if (const auto e = n["modified_ratio"])
        if (auto d = r.number(e, a + ".modified_ratio", 0.0, 1000.0)) v.analyze_only.modified_ratio = *d;
    }
  }
  if (const auto n = node["tables"]) {
    if (!n.IsSequence()) {
      r.error(n, what + ".tables must be a list");
      return;
    }
    std::size_t i = 0;
    for (const auto& t : n) {
      const std::string tw = what + ".tables[" + std::to_string(i++) + "]";
      if (!r.expect_map(t, tw, {"schema", "table", "exclude", "dead_tuple_ratio", "min_dead_tuples", "cooldown"}))
        continue;
      VacuumOverride o;
      for (const char* key : {"schema", "table"}) {
        const auto e = t[key];
        if (!e) continue;
        if (auto re = r.string(e, tw + "." + key)) {
          if (auto why = pattern_error(*re))
            r.error(e, "invalid regular expression in " + tw + "." + key + ": " + *why);
          else
            (std::string_view(key) == "schema" ? o.schema : o.table) = *re;
        }
      }
      if (const auto e = t["exclude"])
        if (auto b = r.boolean(e, tw + ".exclude")) o.exclude = *b;
      if (const auto e = t["dead_tuple_ratio"])
        if (auto d = r.number(e, tw + ".dead_tuple_ratio", 0.0, 1.0)) o.dead_tuple_ratio = *d;
      if (const auto e = t["min_dead_tuples"])
        if (auto x = r.integer(e, tw + ".min_dead_tuples", 0, INT64_MAX)) o.min_dead_tuples = *x;
      if (const auto e = t["cooldown"])
        if (auto d = r.duration(e, tw + ".cooldown", true)) o.cooldown = *d;
      v.tables.push_back(std::move(o));
    }
  }
}

void read_freeze(Reader& r, const YAML::Node& node, Freeze& f) {
  const std::string what = "freeze";
  if (!r.expect_map(node, what, {"enabled", "dry_run", "min_age_ratio", "windows", "max_duration", "max_concurrent"}))
    return;
  if (const auto n = node["enabled"])
    if (auto b = r.boolean(n, what + ".enabled")) f.enabled = *b;
  if (const auto n = node["dry_run"])
    if (auto b = r.boolean(n, what + ".dry_run")) f.dry_run = *b;
  // Above 0: a freeze of every table at every check would be a full-database rewrite loop.
  if (const auto n = node["min_age_ratio"])
    if (auto d = r.number(n, what + ".min_age_ratio", 0.01, 100.0)) f.min_age_ratio = *d;
  if (const auto n = node["max_concurrent"])
    if (auto i = r.integer(n, what + ".max_concurrent", 1, 64)) f.max_concurrent = static_cast<int>(*i);
  // The freeze's statement_timeout (maintenance/engine.cpp).
  if (const auto n = node["max_duration"])
    if (auto d = r.server_duration(n, what + ".max_duration", kStatementTimeoutLimit, false)) f.max_duration = *d;
  read_windows(r, node, what, f.windows);
}

void read_advice(Reader& r, const YAML::Node& node, Advice& a) {
  const std::string what = "advice";
  if (!r.expect_map(node, what, {"target_dead_ratio"})) return;
  // Above 0 (0 would ask for autovacuum on every dead row), below 1.
  if (const auto n = node["target_dead_ratio"])
    if (auto d = r.number(n, what + ".target_dead_ratio", 0.001, 0.9)) a.target_dead_ratio = *d;
}

void read_health_page(Reader& r, const YAML::Node& node, HealthPage& h) {
  const std::string what = "health_page";
  if (!r.expect_map(node, what, {"rows_per_section"})) return;
  if (const auto n = node["rows_per_section"])
    if (auto i = r.integer(n, what + ".rows_per_section", 1, 10000)) h.rows_per_section = static_cast<std::size_t>(*i);
}

void read_tuning(Reader& r, const YAML::Node& node, Tuning& t) {
  const std::string what = "tuning";
  if (!r.expect_map(node, what, {"apply", "windows", "max_per_day", "may_relax", "min_history"})) return;
  if (const auto n = node["min_history"])
    if (auto d = r.duration(n, what + ".min_history", true)) t.min_history = *d;
  if (const auto n = node["apply"])
    if (auto b = r.boolean(n, what + ".apply")) t.apply = *b;
  if (const auto n = node["may_relax"])
    if (auto b = r.boolean(n, what + ".may_relax")) t.may_relax = *b;
  if (const auto n = node["max_per_day"])
    if (auto i = r.integer(n, what + ".max_per_day", 1, 100000)) t.max_per_day = static_cast<int>(*i);
  read_windows(r, node, what, t.windows);
}

void read_reindex(Reader& r, const YAML::Node& node, Reindex& x) {
  const std::string what = "reindex";
  if (!r.expect_map(node, what,
                    {"enabled", "dry_run", "min_bloat_ratio", "min_size_bytes", "windows", "max_duration",
                     "max_per_day", "drop_leftovers"}))
    return;
  if (const auto n = node["enabled"])
    if (auto b = r.boolean(n, what + ".enabled")) x.enabled = *b;
  if (const auto n = node["dry_run"])
    if (auto b = r.boolean(n, what + ".dry_run")) x.dry_run = *b;
  if (const auto n = node["drop_leftovers"])
    if (auto b = r.boolean(n, what + ".drop_leftovers")) x.drop_leftovers = *b;
  // Above 0: rebuilding indexes that are not bloated would be a rewrite loop.
  if (const auto n = node["min_bloat_ratio"])
    if (auto d = r.number(n, what + ".min_bloat_ratio", 0.01, 0.99)) x.min_bloat_ratio = *d;
  if (const auto n = node["min_size_bytes"])
    if (auto i = r.integer(n, what + ".min_size_bytes", 0, INT64_MAX)) x.min_size_bytes = *i;
  if (const auto n = node["max_per_day"])
    if (auto i = r.integer(n, what + ".max_per_day", 1, 10000)) x.max_per_day = static_cast<int>(*i);
  // The REINDEX's statement_timeout (maintenance/engine.cpp).
  if (const auto n = node["max_duration"])
    if (auto d = r.server_duration(n, what + ".max_duration", kStatementTimeoutLimit, false)) x.max_duration = *d;
  read_windows(r, node, what, x.windows);
}

void check_conninfo(Reader& r, const YAML::Node& node, const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    // libpq's message names the offending keyword, never a value, so it is safe to show.
    std::string msg = err ? err : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    r.error(node, "conninfo is not a valid libpq connection string: " + msg);
  }
  if (err) PQfreemem(err);
  if (opts) PQconninfoFree(opts);
}

void read_target(Reader& r, const YAML::Node& node, std::size_t index, const ConnectionSettings& defaults,
                 const std::string& base_dir, std::set<std::string>& names, std::vector<Target>& out) {
  const std::string what = "targets[" + std::to_string(index) + "]";
  if (!r.expect_map(node, what,
                    {"name", "conninfo", "password_file", "databases", "autodiscover", "include_databases",
                     "exclude_databases", "discovery_interval", "connection", "labels"}))
    return;
  Target t;
  t.connection = defaults;
  if (const auto n = node["name"]) {
    if (auto s = r.nonempty_string(n, what + ".name")) {
      t.name = *s;
      if (!names.insert(t.name).second) r.error(n, "duplicate target name '" + t.name + "'");
    }
  } else {
    r.error(node, what + " needs a name");
  }
  if (const auto n = node["conninfo"]) {
    if (auto s = r.nonempty_string(n, what + ".conninfo")) {
      t.conninfo = *s;
      check_conninfo(r, n, t.conninfo);
    }
  } else {
    r.error(node, what + " needs a conninfo");
  }
  if (const auto n = node["password_file"]) {
    if (auto s = r.nonempty_string(n, what + ".password_file")) {
      std::filesystem::path p(*s);
      if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
      t.password_file = p.lexically_normal().string();
      std::ifstream probe(*t.password_file);
      std::error_code ec;
      namespace fs = std::filesystem;
      if (!probe || !fs::is_regular_file(*t.password_file, ec)) {
        r.error(n, what + ".password_file is not a readable file: " + *t.password_file);
      } else if (const auto perms = fs::status(*t.password_file, ec).permissions();
                 !ec && (perms & fs::perms::others_all) != fs::perms::none) {
        // Like ssh with a private key: a secret every local user can read is refused, not used.
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(perms & fs::perms::mask));
        r.error(n, what + ".password_file " + *t.password_file + " is open to every user of this host (mode " +
                       mode + "): chmod 600 it (or 640, owned by the daemon's group)");
      }
    }
  }
  if (const auto n = node["databases"]) {
    if (auto list = r.string_list(n, what + ".databases")) {
      std::set<std::string> seen;
      std::size_t i = 0;
      for (const auto& item : n) {
        if (i < list->size() && !seen.insert((*list)[i]).second)
          r.error(item, "database '" + (*list)[i] + "' is listed twice in " + what + ".databases");
        ++i;
      }
      if (list->empty())
        r.error(n, what + ".databases must not be empty (omit it to watch conninfo's database)");
      t.databases = *list;
    }
  }
  if (const auto n = node["autodiscover"]) {
    if (auto b = r.boolean(n, what + ".autodiscover")) t.autodiscover = *b;
    if (t.autodiscover && node["databases"])
      r.error(n, what + " sets both databases and autodiscover: choose one");
  }
  for (const char* key : {"include_databases", "exclude_databases"}) {
    const auto n = node[key];
    if (!n) continue;
    if (!t.autodiscover) r.error(n, what + "." + key + " only applies with autodiscover: true");
    if (auto list = r.regex_list(n, what + "." + key))
      (std::string_view(key) == "include_databases" ? t.include_databases : t.exclude_databases) = *list;
  }
  if (const auto n = node["discovery_interval"]) {
    if (!t.autodiscover) r.error(n, what + ".discovery_interval only applies with autodiscover: true");
    if (auto d = r.duration(n, what + ".discovery_interval")) t.discovery_interval = *d;
  }
  if (const auto n = node["connection"]) r.connection(n, what + ".connection", t.connection);
  if (const auto n = node["labels"]) read_labels(r, n, what + ".labels", t.labels);
  out.push_back(std::move(t));
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  Duration d{};
  if (read_duration(text, d) != DurationText::kOk) return std::nullopt;
  return d;
}

std::optional<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.empty()) return std::nullopt;
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return std::nullopt;  // bare IPv6 needs brackets
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || port.empty() || value > 65535)
    return std::nullopt;
  out.port = static_cast<unsigned short>(value);
  return out;
}

std::string format_problem(const std::string& file, const Problem& p) {
  std::ostringstream os;
  os << file << ':' << p.line << ':' << p.column << ": " << p.message;
  return os.str();
}

LoadResult parse_config(std::string_view yaml_text, const std::string& base_dir) {
  Reader r;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    return std::vector<Problem>{{e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg}};
  }
  Config cfg;
  if (!root || root.IsNull())
    return std::vector<Problem>{{1, 1, "the configuration is empty: it needs targets"}};
  if (!r.expect_map(root, "the configuration",
                    {"listen", "log_level", "web_config_file", "targets", "collectors", "cardinality",
                     "connection", "vacuum", "freeze", "advice", "tuning", "reindex", "indexes", "bloat",
                     "health_page"}))
    return r.problems;

  if (const auto n = root["listen"]) {
    if (auto s = r.string(n, "listen")) {
      if (parse_listen(*s))
        cfg.listen = *s;
      else
        r.error(n, "listen must be host:port (\":9188\" for every interface, \"[::1]:9188\" for IPv6)");
    }
  }
  if (const auto n = root["web_config_file"]) {
    if (auto f = r.nonempty_string(n, "web_config_file")) {
      std::filesystem::path p(*f);
      if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
      cfg.web_config_file = p.lexically_normal().string();
      if (!std::ifstream(cfg.web_config_file)) r.error(n, "web_config_file cannot be read: " + cfg.web_config_file);
    }
  }
  if (const auto n = root["log_level"]) {
    if (auto s = r.string(n, "log_level")) {
      if (spdlog::level::from_str(*s) == spdlog::level::off && *s != "off")
        r.error(n, "log_level must be one of trace, debug, info, warn, error, critical, off");
      else
        cfg.log_level = *s;
    }
  }
  ConnectionSettings defaults;
  if (const auto n = root["connection"]) r.connection(n, "connection", defaults);
  if (const auto n = root["collectors"]) read_collectors(r, n, cfg.collectors);
  if (const auto n = root["cardinality"]) read_cardinality(r, n, cfg.cardinality);
  if (const auto n = root["vacuum"]) read_vacuum(r, n, cfg.vacuum);
  if (const auto n = root["freeze"]) read_freeze(r, n, cfg.freeze);
  if (const auto n = root["advice"]) read_advice(r, n, cfg.advice);
  if (const auto n = root["tuning"]) read_tuning(r, n, cfg.tuning);
  if (const auto n = root["health_page"]) read_health_page(r, n, cfg.health_page);
  if (const auto n = root["reindex"]) read_reindex(r, n, cfg.reindex);
  if (const auto n = root["indexes"]) read_indexes(r, n, cfg.indexes);
  if (const auto n = root["bloat"]) {
    read_bloat(r, n, cfg.bloat);
    check_bloat(r, n, cfg.bloat, cfg.collectors);
  }

  const auto targets = root["targets"];
  if (!targets) {
    r.problems.push_back({1, 1, "no targets: the configuration needs at least one PostgreSQL server"});
  } else if (!targets.IsSequence()) {
    r.error(targets, "targets must be a list");
  } else if (targets.size() == 0) {
    r.error(targets, "targets is empty: the configuration needs at least one PostgreSQL server");
  } else {
    std::set<std::string> names;
    std::size_t i = 0;
    for (const auto& t : targets) read_target(r, t, i++, defaults, base_dir, names, cfg.targets);
  }
  if (!r.problems.empty()) return r.problems;
  return cfg;
}

LoadResult load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::vector<Problem>{{0, 0, "cannot read the configuration file"}};
  std::ostringstream buf;
  buf << in.rdbuf();
  const auto dir = std::filesystem::path(path).parent_path();
  return parse_config(buf.str(), dir.empty() ? "." : dir.string());
}

}  // namespace pghealthd::config
