// The one-shot health report of `pghealthd check`: the tables a DBA knows from a maintenance report
// (vacuum/analyze recency, dead tuples, index usage, cache hit ratio, autovacuum settings, bloat), each row
// with a status, worst first. Pure: built from collector snapshots and `now`, rendered as text or JSON.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "config/config.h"

namespace pghealthd::report {

enum class Status { kOk = 0, kWarning = 1, kCritical = 2 };
[[nodiscard]] std::string_view name(Status s);

struct Row {
  Status status = Status::kOk;
  std::vector<std::string> cells;  // in the section's column order
  std::string note;                // why this status
  // The table's dead ratio over the last hour, oldest first, one reading a minute (the daemon's page draws
  // it as a sparkline; /status.json lists it); empty when there is none (`pghealthd check`).
  std::vector<std::optional<float>> history;
};

struct Section {
  std::string title;
  std::vector<std::string> columns;
  std::vector<Row> rows;  // worst first
  // The text shows every row that needs attention and this many others; the rest are counted in one line.
  std::size_t ok_rows_shown = 5;
  // Lines below the rows, in the text and the JSON: what the rows do not say (the relations a bounded
  // section left out, those it could give no number).
  std::vector<std::string> footnotes;
  // A log (the maintenance log), newest first: it keeps its own bound, so it is not cut to
  // health_page.rows_per_section, and what it tells of the past does not count in the overall status.
  bool chronological = false;
  // Rows that need no attention which build() did not keep (Thresholds::ok_rows_kept): limit_rows counts
  // them in its footnote.
  std::size_t rows_left_out = 0;
};

struct DatabaseReport {
  std::string target, datname;
  std::string error;  // non-empty: the database could not be read
  std::vector<Section> sections;
  // The daemon's view (GET /, /status.json); absent from `pghealthd check`, which reads the database once.
  std::optional<bool> reachable;
  struct Collector {
    std::string name;
    std::optional<double> last_success_unix;  // absent: never succeeded
    std::string error;                        // the last run's, "" when it succeeded
  };
  std::vector<Collector> collectors;  // the enabled ones, in collectors::Kind order
};

// A length of time in the largest unit that keeps two digits: "45s", "12m", "36h", "7d".
[[nodiscard]] std::string span(double seconds);
// How long ago `when` was ("12m ago"), or "never".
[[nodiscard]] std::string age(std::optional<double> when, double now);
// A ratio as a percentage with two decimals ("7.31%"), or "-".
[[nodiscard]] std::string percent(std::optional<double> ratio);

// "rel" for a table in public, else "schema.rel": how every section names a table.
[[nodiscard]] std::string table_name(const std::string& schema, const std::string& rel);

struct Thresholds {
  double dead_ratio_warning = 0.05, dead_ratio_critical = 0.20;
  std::int64_t min_dead_tuples = 100;
  double cache_hit_warning = 0.95, cache_hit_critical = 0.80;
  std::int64_t cache_min_blocks = 1000;       // fewer reads+hits than this: too little traffic to judge
  std::int64_t unused_index_min_bytes = 1 << 20;  // an unused index smaller than this is only noted
  double stale_days = 7;                        // not vacuumed or analyzed for this long, with changes
  // Freeze age: XID or multixact age as a share of 2^31, where the server stops accepting writes (about
  // 3 million short of it); and the due ratio past which anti-wraparound autovacuum is not keeping up.
  double wraparound_warning = 0.5, wraparound_critical = 0.75;
  double freeze_due_warning = 1.5;
  // An index is judged unused only after its statistics counted this long (indexes.unused_min_stats_age).
  double unused_min_stats_age_seconds = 7 * 86400.0;
  // Sequences: share of the range used (pghealthd_sequence_used_ratio), as PghealthdSequenceNearExhaustion.
  double sequence_warning = 0.8, sequence_critical = 0.95;
  // advice.target_dead_ratio: the dead ratio the "Autovacuum tuning" section's advice aims under.
  double advice_target_dead_ratio = 0.05;
  // Bloat: a relation is a warning when both its wasted share and its wasted bytes are above these, as
  // PghealthdTableBloated and PghealthdIndexBloated (dashboards/alerts/pghealthd-rules.yml) say: a small
  // table half empty costs nothing worth a rewrite. The section lists the worst bloat_rows_shown.
  double bloat_ratio_warning = 0.5;
  double bloat_bytes_warning = 1024.0 * 1024 * 1024;
  std::size_t bloat_rows_shown = 10;
  // The xmin horizon held this long is a warning, as PghealthdVacuumBlockedByXminHorizon says.
  double horizon_age_warning_seconds = 3600;

  // How the daemon's page shapes the report (`pghealthd check` keeps every row and lists no summary): a
  // first section, "Tables that need attention" (report/attention.h), and in each section the rows that
  // need attention and at most ok_rows_kept others (health_page.rows_per_section), the rest counted.
  bool attention_list = false;
  std::size_t ok_rows_kept = std::numeric_limits<std::size_t>::max();
};

// An XID or multixact age as a share of 2^31, where the server stops accepting writes, and its verdict by
// wraparound_warning and wraparound_critical.
[[nodiscard]] double wraparound_share(std::int64_t age);
[[nodiscard]] Status wraparound_status(double share, const Thresholds& t);

// What a report reads, each from the collection of the collector that gathers it: the daemon keeps one
// snapshot per collector (metrics::Store), `pghealthd check` collects them all into one Data. Null: that
// collector has not succeeded yet (or is off), and its sections are built from nothing.
struct Sources {
  const collectors::Data* tables = nullptr;     // stat_user_tables (idx_scan attached), with its churn history
  const collectors::Data* io = nullptr;         // statio_user_tables
  const collectors::Data* indexes = nullptr;    // stat_user_indexes and its statistics' age
  const collectors::Data* freeze = nullptr;     // freeze: the tables' and the databases' ages
  const collectors::Data* sequences = nullptr;  // sequences
  const collectors::Data* bloat = nullptr;      // bloat
  [[nodiscard]] static Sources all(const collectors::Data& data);
};

[[nodiscard]] DatabaseReport build(const std::string& target, const std::string& datname, const Sources& sources,
                                   const Thresholds& t, double now_unix);
[[nodiscard]] DatabaseReport build(const std::string& target, const std::string& datname,
                                   const collectors::Data& data, const Thresholds& t, double now_unix);

// The worst status of one database's rows (critical when it could not be read); logs do not count.
[[nodiscard]] Status database_status(const DatabaseReport& report);
// The worst status in the reports (a database that could not be read is critical).
[[nodiscard]] Status overall(const std::vector<DatabaseReport>& reports);

// Keeps each section's worst `rows` rows (they come worst first) and counts the rest in a footnote, with how
// many of them need attention: a bounded report however many tables there are. The overall status stays
// what it was, as each section keeps its worst row.
void limit_rows(std::vector<DatabaseReport>& reports, std::size_t rows);
void limit_rows(DatabaseReport& report, std::size_t rows);

[[nodiscard]] std::string render_text(const std::vector<DatabaseReport>& reports);
[[nodiscard]] std::string render_json(const std::vector<DatabaseReport>& reports);

// Appends `v` to `out` as a JSON string (quotes, backslashes and control characters escaped).
void escape_json(std::string& out, std::string_view v);

}  // namespace pghealthd::report
