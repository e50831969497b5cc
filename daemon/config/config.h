// The validated configuration of pghealthd: plain values, no YAML types. Only load_config() (load.h)
// produces a Config, so code that holds one may assume every value passed validation.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pghealthd::config {

using Duration = std::chrono::milliseconds;

// How pghealthd talks to one PostgreSQL server. Top-level `connection:` sets the defaults; a target's own
// `connection:` block overrides them key by key.
struct ConnectionSettings {
  Duration connect_timeout{std::chrono::seconds(10)};
  Duration statement_timeout{std::chrono::seconds(15)};  // server-side backstop for every query
  Duration lock_timeout{std::chrono::seconds(1)};
  Duration backoff_initial{std::chrono::seconds(1)};  // first retry after a lost connection
  Duration backoff_max{std::chrono::seconds(60)};     // cap of the exponential backoff
  int max_connections = 5;  // collector connections open at once per target (autodiscovery and vacuum aside)
  bool operator==(const ConnectionSettings&) const = default;  // reload compares configurations
};

struct Target {
  std::string name;      // the `target` label
  std::string conninfo;  // libpq conninfo or URI; may hold a password, so never log it
  std::optional<std::string> password_file;
  std::vector<std::string> databases;  // explicit list; replaces conninfo's dbname
  bool autodiscover = false;
  std::vector<std::string> include_databases;  // regexes, full match; empty means all
  std::vector<std::string> exclude_databases{"template.*"};
  Duration discovery_interval{std::chrono::minutes(5)};
  ConnectionSettings connection;
  // Constant labels added to every series of the target, e.g. cluster: orders on a primary and its
  // replicas (names follow Prometheus' rules and are none of pghealthd's own labels).
  std::map<std::string, std::string> labels;
  bool operator==(const Target&) const = default;  // reload compares configurations
};

struct Collector {
  bool enabled = true;
  Duration interval;
  bool operator==(const Collector&) const = default;  // reload compares configurations
};

struct Collectors {
  Collector stat_user_tables{true, std::chrono::seconds(30)};
  Collector statio_user_tables{true, std::chrono::seconds(60)};
  Collector stat_user_indexes{true, std::chrono::seconds(300)};
  Collector xmin_horizon{true, std::chrono::seconds(60)};
  Collector vacuum_progress{true, std::chrono::seconds(15)};
  Collector freeze{true, std::chrono::seconds(300)};
  Collector sequences{true, std::chrono::seconds(300)};
  Collector bloat{true, std::chrono::hours(1)};
  bool operator==(const Collectors&) const = default;  // reload compares configurations
  // Every collector's settings in collectors::Kind order (a collector added there must be added here).
  [[nodiscard]] std::array<const Collector*, 8> in_kind_order() const {
    return {&stat_user_tables, &statio_user_tables, &stat_user_indexes, &xmin_horizon,
            &vacuum_progress,  &freeze,             &sequences,         &bloat};
  }
};

// A maintenance window: on these weekdays, from start to end (minutes after midnight, in the vacuum
// time zone). end <= start means the window runs past midnight into the next day.
struct Window {
  std::array<bool, 7> days{};  // index: 0 = Sunday ... 6 = Saturday
  int start_minute = 0;
  int end_minute = 0;
  bool operator==(const Window&) const = default;  // reload compares configurations
};

// Per-table rules, first match wins; a field left unset keeps the vacuum-wide value.
struct VacuumOverride {
  std::string schema = ".*";  // regexes, full match
  std::string table = ".*";
  bool exclude = false;
  std::optional<double> dead_tuple_ratio;
  std::optional<std::int64_t> min_dead_tuples;
  std::optional<Duration> cooldown;
  bool operator==(const VacuumOverride&) const = default;  // reload compares configurations
};

struct AnalyzeOnly {
  bool enabled = true;
  std::int64_t min_modified_tuples = 1000;  // act when n_mod_since_analyze > min + ratio * live rows
  double modified_ratio = 0.1;
  bool operator==(const AnalyzeOnly&) const = default;  // reload compares configurations
};

struct Vacuum {
  bool enabled = false;  // opt-in: pghealthd only writes to a database when told to
  bool dry_run = false;
  double dead_tuple_ratio = 0.05;
  std::int64_t min_dead_tuples = 100;
  Duration cooldown{std::chrono::hours(1)};
  int max_concurrent = 1;  // per target
  int max_per_hour = 10;   // per target
  std::vector<Window> windows;  // empty: any time
  std::string timezone = "UTC";
  Duration lock_timeout{std::chrono::seconds(1)};
  Duration max_duration{std::chrono::hours(1)};
  Duration cost_delay{0};  // the session's vacuum_cost_delay; 0 = unthrottled
  int cost_limit = 200;
  bool truncate = false;  // TRUNCATE false avoids the ACCESS EXCLUSIVE lock of the final truncation
  bool only_when_autovacuum_late = false;
  AnalyzeOnly analyze_only;
  std::vector<VacuumOverride> tables;
  bool operator==(const Vacuum&) const = default;  // reload compares configurations
};

// Freezing ahead of autovacuum (opt-in): VACUUM (FREEZE) of the tables whose freeze due ratio is at least
// min_age_ratio, oldest first, in the windows, by the maintenance engine with vacuum's safeguards. Its
// time zone, lock_timeout, cost settings, max_per_hour and table rules are vacuum's.
struct Freeze {
  bool enabled = false;
  bool dry_run = false;
  double min_age_ratio = 0.5;         // of the table's effective freeze max age (pghealthd_table_freeze_due_ratio)
  std::vector<Window> windows;        // empty: any time
  Duration max_duration{std::chrono::hours(4)};  // statement_timeout of one freeze
  int max_concurrent = 1;             // freezes running at once on a target
  bool operator==(const Freeze&) const = default;  // reload compares configurations
};

// Autovacuum tuning advice (`advice:`, policy/advice.h): the dead-row ratio its reloptions aim to keep a
// table under. Shown by `pghealthd check`, GET /advice, and applied by `tuning:`.
struct Advice {
  double target_dead_ratio = 0.05;  // the report's goal
  bool operator==(const Advice&) const = default;  // reload compares configurations
};

// The health report the daemon serves (`health_page:`): GET /status.json and the page at `/`.
struct HealthPage {
  // Each section lists its worst this many rows; the rest are counted in a footnote. Bounds the answer at
  // 100,000 tables.
  std::size_t rows_per_section = 50;
  bool operator==(const HealthPage&) const = default;  // reload compares configurations
};

// Applying advice (opt-in): one ALTER TABLE ... SET (autovacuum_*) per table per day at most, at most
// max_per_day per target, in the windows (vacuum.timezone), through the maintenance engine's frame
// (primary only, leader lock, lock_timeout). A DBA's own stricter setting is loosened only with may_relax.
struct Tuning {
  bool apply = false;
  std::vector<Window> windows;  // empty: any time
  int max_per_day = 10;         // per target
  bool may_relax = false;
  // Advice is applied only to a table pghealthd has watched this long under its current settings.
  Duration min_history{std::chrono::hours(1)};
  bool operator==(const Tuning&) const = default;  // reload compares configurations
};

// REINDEX INDEX CONCURRENTLY of bloated btree indexes (opt-in, `reindex:`): one index at a time per target,
// at most max_per_day per target, in the windows (vacuum.timezone), through the maintenance engine's frame
// (primary only, leader lock, vacuum.lock_timeout for its waits, cancelled on shutdown). Decided from the
// bloat collector's exact reading when there is one, else its estimate.
struct Reindex {
  bool enabled = false;
  bool dry_run = false;
  double min_bloat_ratio = 0.3;                // act on an index at least this bloated ...
  std::int64_t min_size_bytes = 10 * 1024 * 1024;  // ... and at least this large
  std::vector<Window> windows;                 // empty: any time
  Duration max_duration{std::chrono::hours(2)};  // statement_timeout of one REINDEX
  int max_per_day = 4;                         // per target
  bool drop_leftovers = true;  // DROP INDEX CONCURRENTLY the invalid *_ccnew/*_ccold a failed one leaves
  bool operator==(const Reindex&) const = default;  // reload compares configurations
};

// Index health (`indexes:`): an index is called unused only when its statistics have counted for at
// least this long (since pg_stat_database.stats_reset, or since pghealthd began watching a database whose
// statistics were never reset). 0 judges at once.
struct Indexes {
  Duration unused_min_stats_age{std::chrono::hours(24 * 7)};
  bool operator==(const Indexes&) const = default;  // reload compares configurations
};

// Exact bloat readings (`bloat:`, opt-in): the bloat collector also reads each relation of at least
// exact_min_size_bytes with extension pgstattuple (pgstattuple_approx for tables, pgstatindex for btree
// indexes), as many per run as fit in exact_budget, the least recently read first, each under lock_timeout.
struct Bloat {
  bool exact = false;
  std::int64_t exact_min_size_bytes = 104857600;   // 100 MiB: smaller relations keep the estimate alone
  Duration exact_budget{std::chrono::minutes(1)};  // no reading starts after this much of a run
  Duration lock_timeout{std::chrono::seconds(1)};  // each reading's wait for its ACCESS SHARE lock
  bool operator==(const Bloat&) const = default;   // reload compares configurations
};

// Cardinality controls: which tables get per-table and per-index series, and a series budget per target.
// The vacuum policy sees every table whatever these say: they shape only what /metrics exports.
struct Cardinality {
  std::vector<std::string> include_schemas;  // regexes, full match; empty means all
  std::vector<std::string> exclude_schemas;
  std::vector<std::string> include_tables;   // on the table's name (relname)
  std::vector<std::string> exclude_tables;
  std::int64_t min_table_size_bytes = 0;     // smaller tables (heap + TOAST) export no per-table series
  std::int64_t max_series_per_target = 0;    // 0: no budget
  bool operator==(const Cardinality&) const = default;  // reload compares configurations
};

struct Config {
  std::string listen = "127.0.0.1:9188";
  std::string web_config_file;  // exporter-toolkit web config (TLS, basic auth); empty: plain HTTP
  std::string log_level = "info";
  std::vector<Target> targets;
  Collectors collectors;
  Cardinality cardinality;
  Vacuum vacuum;
  Freeze freeze;
  Advice advice;
  Tuning tuning;
  Reindex reindex;
  Indexes indexes;
  Bloat bloat;
  HealthPage health_page;
  bool operator==(const Config&) const = default;  // reload compares configurations
};

// A `host:port` listen address split into its parts; host "" means every interface.
struct ListenAddress {
  std::string host;
  unsigned short port = 0;
};

}  // namespace pghealthd::config
