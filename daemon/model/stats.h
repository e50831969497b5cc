// Value types for one collection of each statistics view, and the pure ratio functions over them.
// A std::nullopt field is a NULL in the view: its series is absent, never exported as 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/boxed.h"
#include "model/indexes.h"
#include "model/nullable.h"

namespace pghealthd::model {

// One database of one target: the `target` and `datname` labels, and the key of everything per database.
struct DbKey {
  std::string target;
  std::string datname;
  auto operator<=>(const DbKey&) const = default;
};

// NULL-able values in 8 bytes (model/nullable.h): the rows below hold many of them per table and index.
using Count = Nullable<std::int64_t>;
using Seconds = Nullable<double>;  // a Unix timestamp in seconds
using Number = Nullable<double>;   // any other number; never NaN

// Autovacuum's three triggers for one table (dead rows, inserted rows, modified rows for ANALYZE): the
// server settings, overridden by the table's reloptions, as relation_needs_vacanalyze() reads them.
struct AutovacuumSettings {
  bool enabled = true;              // autovacuum and track_counts (server) and autovacuum_enabled (table)
  bool table_enabled = true;        // autovacuum_enabled (table) alone
  bool server_enabled = true;       // autovacuum and track_counts (server) alone
  double base_threshold = 50;       // autovacuum_vacuum_threshold
  double scale_factor = 0.2;        // autovacuum_vacuum_scale_factor
  double max_threshold = -1;        // autovacuum_vacuum_max_threshold (18+); -1: no cap
  double insert_threshold = -1;     // autovacuum_vacuum_insert_threshold (13+); -1: inserts never trigger it
  double insert_scale_factor = 0.2;  // autovacuum_vacuum_insert_scale_factor
  double analyze_threshold = 50;    // autovacuum_analyze_threshold
  double analyze_scale_factor = 0.1;  // autovacuum_analyze_scale_factor
  double cost_limit = 200;          // autovacuum_vacuum_cost_limit (-1: vacuum_cost_limit's)
  double cost_delay_ms = 2;         // autovacuum_vacuum_cost_delay (-1: vacuum_cost_delay's), milliseconds
};

// One row of pg_stat_user_tables (plus the lock-free size and autovacuum inputs from pg_class).
struct TableStats {
  std::int64_t relid = 0;
  char relkind = 'r';  // r table, p partitioned parent, m materialized view, t TOAST
  bool temporary = false;  // relpersistence 't': a session's temporary table (schema pg_temp_N)
  bool has_indexes = false;  // pg_class.relhasindex (beside the other flags: no padding of its own)
  Count parent_relid;  // the partitioned parent of a partition
  std::string schemaname;
  std::string relname;
  Count live_tuples;         // n_live_tup
  Count dead_tuples;         // n_dead_tup
  Count mod_since_analyze;   // n_mod_since_analyze
  Count seq_scans;           // seq_scan
  Count index_scans;         // idx_scan (NULL for a table without indexes): collectors::attach_index_scans
  Seconds last_vacuum;       // last_vacuum
  Seconds last_autovacuum;   // last_autovacuum
  Seconds last_analyze;      // last_analyze
  Seconds last_autoanalyze;  // last_autoanalyze
  Count vacuum_count;
  Count autovacuum_count;
  Count analyze_count;
  Count autoanalyze_count;
  // Columns of newer servers; NULL (absent) on older ones, which do not have them.
  Seconds last_seq_scan;                     // last_seq_scan (16+)
  Number vacuum_time_ms;      // total_vacuum_time (18+), milliseconds
  Number autovacuum_time_ms;  // total_autovacuum_time (18+)
  Number analyze_time_ms;     // total_analyze_time (18+)
  Number autoanalyze_time_ms; // total_autoanalyze_time (18+)
  Count size_bytes;  // (heap + TOAST) relpages * block_size
  Count heap_bytes;   // relpages * block_size
  // The TOAST table's relpages * block_size (0 without one): read on some runs only and carried over on
  // the others (metrics::parse), as only the TOAST table's vacuums and analyzes change it.
  Count toast_bytes;
  Number reltuples;  // pg_class.reltuples; -1 (never vacuumed or analyzed) stays -1
  Count ins_since_vacuum;            // n_ins_since_vacuum (13+)
  // The highest dead-row ratio pghealthd saw since the table's last autovacuum (Churn::current_peak),
  // set from the history the stat_user_tables snapshots carry; absent before pghealthd saw it twice.
  Number dead_ratio_peak;
  Number relpages;      // pg_class.relpages
  Number relallfrozen;  // pg_class.relallfrozen (18+): the insert trigger counts unfrozen pages
  // The server's settings, shared by the tables without reloptions of their own (model::Shared).
  Shared<AutovacuumSettings> autovacuum;
  RareText reloptions;  // pg_class.reloptions as text, "" when none (advice's undo restores a DBA's own)
};

// One row of pg_statio_user_tables.
struct TableIo {
  std::string schemaname;
  std::string relname;
  Count heap_blks_read, heap_blks_hit;
  Count idx_blks_read, idx_blks_hit;
  Count toast_blks_read, toast_blks_hit;
  Count tidx_blks_read, tidx_blks_hit;
};

// One row of pg_stat_user_indexes, with the index's validity, what protects it from being called unused,
// and the redundancy verdict judged from its definition (which is not kept).
struct IndexStats : IndexIdentity {
  // A hash of its own pg_class and pg_index rows' xmin (collectors/stat_user_indexes.cpp; the other catalog
  // rows its names and verdict come from are summed in DatabaseStatistics::catalog): a light run updates the
  // counters of an index of the same version only.
  std::int64_t version = 0;
  Count scans;                    // idx_scan
  Count tuples_read;              // idx_tup_read
  Count tuples_fetched;           // idx_tup_fetch
  Count size_bytes;               // relpages * block_size
  Seconds last_scan;              // last_idx_scan (16+)
  bool valid = true;              // pg_index.indisvalid
  bool building = false;          // a CREATE INDEX or REINDEX (CONCURRENTLY) builds it right now
  bool replica_identity = false;  // pg_index.indisreplident
  RareText parent_index;          // the partitioned index it is attached to (regclass text), "" none
  // Set by the collector from model::redundant_indexes over the database's indexes: "duplicate" or
  // "prefix" and the index that makes this one redundant; "" when none does.
  RareText redundant_kind;
  RareText covered_by;
};

// When a database's statistics (and so every idx_scan) started counting: pg_stat_database.stats_reset,
// read with the server's clock and the database's transaction count (which only a reset or a crash makes
// go down).
struct DatabaseStatistics {
  Seconds reset_timestamp;  // NULL: never reset
  double server_now = 0;    // the server's now() in the same statement
  Count transactions;       // xact_commit + xact_rollback
  // stat_user_indexes: a sum of hashes of the catalog rows its names and verdicts come from besides each
  // index's own (collectors/stat_user_indexes.cpp); a light run with another sum is not used.
  Count catalog;
  Seconds watched_since;    // never reset: since when pghealthd has read them unbroken (see watched_since)
};

// What was observed of one table between its autovacuums.
struct Churn {
  // The highest dead-row ratio seen in each completed window between two autovacuums, oldest first (at
  // most kMaxPeaks), and in the window that runs now.
  std::vector<double> peaks;
  double current_peak = 0;
  // No window was observed (a one-shot check): the current ratio stands in for a peak, and says so.
  bool lifetime_only = false;
  Count autovacuum_count;  // at the last reading: a window ends when it moves
  // The table's autovacuum settings at the last reading (settings_fingerprint): peaks seen under other
  // settings say nothing of these, so a change (an applied advice, a DBA's ALTER TABLE) starts afresh.
  std::uint64_t settings = 0;
  double since = 0;  // unix time of the first reading under these settings: how long the history is
  // The settings changed since pghealthd first read the table, and no autovacuum has run under the new
  // ones yet: the dead rows now were let in by the old ones, so nothing can be said of the new.
  bool awaiting_window = false;
  static constexpr std::size_t kMaxPeaks = 8;
};

// A fingerprint of the settings that decide when and how fast autovacuum vacuums a table.
[[nodiscard]] std::uint64_t settings_fingerprint(const AutovacuumSettings& s);

// Records one reading of the table: a new window when autovacuum_count moved since the last reading (the
// finished window's peak is kept), else the running peak rises to the current ratio; when the table's
// autovacuum settings changed, the windows seen under the old ones are dropped.
void observe(Churn& churn, const TableStats& now, double now_unix);

// Something that holds the xmin horizon back: dead rows newer than its xmin cannot be removed yet.
struct HorizonHolder {
  std::string source;  // transaction, replication_slot, prepared_transaction, standby
  std::string holder;  // who: "pid 123 user app application psql state idle in transaction", "slot s1", ...
  std::int64_t age_transactions = 0;  // age(xmin)
  std::optional<double> age_seconds;  // since the transaction or prepare started; unknown for slots/standbys
  std::string xmin;                   // the xid itself, to tell whether the horizon moved
};

// The freeze age of one table (pg_class): its own or its TOAST table's, whichever is older, and the ages at
// which autovacuum forces an anti-wraparound vacuum of it.
struct FreezeAge {
  std::int64_t relid = 0;
  bool temporary = false;  // relpersistence 't': a session's temporary table, which autovacuum never freezes
  std::string schemaname;
  std::string relname;
  Count xid_age;   // age(relfrozenxid), or the TOAST table's when older
  Count mxid_age;  // mxid_age(relminmxid), the same way
  std::int64_t freeze_max_age = 200000000;             // effective autovacuum_freeze_max_age
  std::int64_t multixact_freeze_max_age = 400000000;   // effective autovacuum_multixact_freeze_max_age
  Count size_bytes;  // (heap + TOAST) relpages * block_size, for the cardinality rules
};

// The freeze age of one database of the target (pg_database.datfrozenxid and datminmxid).
struct DatabaseAge {
  std::string datname;
  Count xid_age;
  Count mxid_age;
};

// The server's autovacuum_freeze_max_age and autovacuum_multixact_freeze_max_age, lowered by a table's
// reloptions of the same names (a reloption can only lower them: autovacuum ignores a larger one).
struct FreezeSettings {
  std::int64_t freeze_max_age = 200000000;
  std::int64_t multixact_freeze_max_age = 400000000;
};
[[nodiscard]] FreezeSettings effective_freeze(FreezeSettings server, std::string_view reloptions);

// xid_age / freeze_max_age, or mxid_age / multixact_freeze_max_age when larger: 1 or more means an
// anti-wraparound autovacuum of the table is due. Absent when neither age is known.
[[nodiscard]] std::optional<double> freeze_due_ratio(const FreezeAge& t);

inline constexpr const char* kHorizonSources[] = {"transaction", "replication_slot", "prepared_transaction",
                                                  "standby"};

// One VACUUM running now in this database (a row of pg_stat_progress_vacuum), whoever started it.
struct VacuumProgress {
  std::int64_t pid = 0;
  std::string schemaname;
  std::string relname;
  std::string by;     // autovacuum, pghealthd or other (vacuum_started_by)
  std::string phase;  // the view's phase text, as the server wrote it
  Count heap_blks_total;
  Count heap_blks_scanned;
  std::optional<double> running_seconds;  // since the backend's transaction (else query) started
};

// Who started a VACUUM, from its backend's pg_stat_activity row: `autovacuum` for an autovacuum worker,
// `pghealthd` for pghealthd's own sessions (application_name 'pghealthd'), else `other`. A backend that
// has no row there any more (NULLs) is `other`.
[[nodiscard]] std::string_view vacuum_started_by(std::optional<std::string_view> backend_type,
                                                 std::optional<std::string_view> application_name);

// heap_blks_scanned / heap_blks_total; absent when the total is 0 or either is NULL (nothing to scan,
// or the server has not said yet).
[[nodiscard]] std::optional<double> vacuum_progress_ratio(Count total, Count scanned);

// Milliseconds (as the statistics views count time) in seconds, the base unit of every exported time.
[[nodiscard]] inline std::optional<double> ms_to_seconds(std::optional<double> ms) {
  if (!ms) return std::nullopt;
  return *ms / 1000.0;
}

// n_dead_tup / (n_live_tup + n_dead_tup); 0 when both are 0 (an empty table has no bloat);
// absent when either is NULL. Unlike the seed report's dead/live, a table whose rows are all dead is 1.
[[nodiscard]] std::optional<double> dead_tuple_ratio(Count live, Count dead);

// hit / (hit + read); absent when both are 0 (no reads yet: no ratio to speak of) or either is NULL.
[[nodiscard]] std::optional<double> cache_hit_ratio(Count hit, Count read);

// 1 when the index was never scanned (idx_scan 0), enforces no constraint, is not the table's replica
// identity (dropping it would change no behaviour), and the statistics are old enough to judge:
// `stats_age_seconds` (unknown: too young) at least `min_stats_age_seconds`. 0 otherwise; absent when
// idx_scan is NULL.
[[nodiscard]] std::optional<double> index_unused(const IndexStats& index, std::optional<double> stats_age_seconds,
                                                 double min_stats_age_seconds);

// For statistics never reset: when pghealthd began reading them unbroken (Unix time by `now`'s clock).
// Carried over from the previous reading while they stay never reset and the transaction count does not go
// down (a crash or a restore loses them without setting a reset time); else `now`. Absent once reset.
[[nodiscard]] Seconds watched_since(const std::optional<DatabaseStatistics>& previous,
                                    const DatabaseStatistics& current, double now);

// How long the statistics have counted: since their reset, by the server's clock; when never reset, since
// stats.watched_since, by `now`'s clock; unknown without either.
[[nodiscard]] std::optional<double> statistics_age(const DatabaseStatistics& stats, double now);

// Applies a table's reloptions (pg_class.reloptions as text, e.g. {autovacuum_enabled=false,fillfactor=70})
// over the server's settings. Unknown or malformed options are ignored, as PostgreSQL would never store them.
[[nodiscard]] AutovacuumSettings effective_autovacuum(AutovacuumSettings server, std::string_view reloptions);

// The value of one reloption as stored ("0.05" for autovacuum_vacuum_scale_factor=0.05), or none.
[[nodiscard]] std::optional<std::string> reloption(std::string_view reloptions, std::string_view key);

// The number of dead rows above which autovacuum vacuums the table: base threshold + scale factor x
// reltuples (reltuples below 0, never analyzed, counts as 0, as autovacuum does), at most the max threshold
// (18+). Absent where autovacuum never vacuums: disabled for the table or server, or a partitioned parent.
[[nodiscard]] std::optional<double> autovacuum_threshold(const TableStats& t);

// n_dead_tup / autovacuum_threshold: 1 or more means autovacuum is due (or late).
[[nodiscard]] std::optional<double> autovacuum_due_ratio(const TableStats& t);

// The number of rows inserted since the last vacuum above which autovacuum vacuums the table (13+):
// insert threshold + insert scale factor x reltuples, on 18 times the share of its pages not all frozen.
// Absent where autovacuum never vacuums, where the insert trigger is off (-1) or the server has none.
[[nodiscard]] std::optional<double> autovacuum_insert_threshold(const TableStats& t);
// n_ins_since_vacuum / autovacuum_insert_threshold.
[[nodiscard]] std::optional<double> autovacuum_insert_due_ratio(const TableStats& t);

// The number of rows modified since the last ANALYZE above which autovacuum analyzes the table: analyze
// threshold + analyze scale factor x reltuples. Absent where autovacuum never does (disabled, partitioned
// parents).
[[nodiscard]] std::optional<double> autoanalyze_threshold(const TableStats& t);
// n_mod_since_analyze / autoanalyze_threshold.
[[nodiscard]] std::optional<double> autoanalyze_due_ratio(const TableStats& t);

}  // namespace pghealthd::model
