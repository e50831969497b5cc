// Every metric pghealthd exports: name, type and help text, in one place. The README's metrics reference
// follows this file. Names follow Prometheus conventions: pghealthd_ prefix, base units, _ratio for 0..1,
// _total for counters, _timestamp_seconds for Unix times.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace pghealthd::metrics {

struct FamilyInfo {
  std::string_view name;
  std::string_view type;  // "gauge" or "counter" (exposition TYPE)
  std::string_view help;
};

// Per-table and per-index families, rendered from collector snapshots (see exposition.h).
enum class Family : std::size_t {
  kTableLiveTuples,
  kTableDeadTuples,
  kTableDeadTupleRatio,
  kTableDeadTupleRatioPeak,
  kTableModifiedSinceAnalyze,
  kTableSeqScans,
  kTableIndexScans,
  kTableSizeBytes,
  kTableLastVacuum,
  kTableLastAnalyze,
  kTableVacuums,
  kTableAnalyzes,
  kTableLastSeqScan,
  kTableVacuumSeconds,
  kTableAnalyzeSeconds,
  kTableBlocksHit,
  kTableBlocksRead,
  kTableCacheHitRatio,
  kTableAutovacuumThreshold,
  kTableAutovacuumDueRatio,
  kTableAutovacuumInsertDueRatio,
  kTableAutoanalyzeDueRatio,
  kTableAutovacuumEnabled,
  kAutovacuumEnabled,
  kIndexScans,
  kIndexTuplesRead,
  kIndexTuplesFetched,
  kIndexSizeBytes,
  kIndexUnused,
  kIndexValid,
  kIndexRedundant,
  kIndexLastScan,
  kDatabaseStatsReset,
  kXminHorizonAgeSeconds,
  kXminHorizonAgeTransactions,
  kVacuumProgressRatio,
  kVacuumProgressSeconds,
  kTableXidAge,
  kTableMxidAge,
  kTableFreezeMaxAge,
  kTableFreezeDueRatio,
  kDatabaseXidAge,
  kDatabaseMxidAge,
  kSequenceUsedRatio,
  kSequencesUnreadable,
  kTableBloatRatio,
  kTableBloatBytes,
  kIndexBloatRatio,
  kIndexBloatBytes,
  kBloatUnestimated,
  kBloatExactAvailable,
  kCount,
};

inline constexpr std::size_t kFamilyCount = static_cast<std::size_t>(Family::kCount);

inline constexpr std::array<FamilyInfo, kFamilyCount> kFamilies{{
    {"pghealthd_table_live_tuples", "gauge", "Estimated live rows (pg_stat_user_tables.n_live_tup)."},
    {"pghealthd_table_dead_tuples", "gauge", "Estimated dead rows (pg_stat_user_tables.n_dead_tup)."},
    {"pghealthd_table_dead_tuple_ratio", "gauge",
     "Dead rows over all rows: n_dead_tup / (n_live_tup + n_dead_tup), 0 when both are 0."},
    {"pghealthd_table_dead_tuple_ratio_peak", "gauge",
     "The highest dead-row ratio pghealthd saw since the table's last autovacuum (at its collections)."},
    {"pghealthd_table_modified_since_analyze_tuples", "gauge",
     "Rows modified since the last ANALYZE (pg_stat_user_tables.n_mod_since_analyze)."},
    {"pghealthd_table_seq_scans_total", "counter", "Sequential scans started on the table (seq_scan)."},
    {"pghealthd_table_index_scans_total", "counter",
     "Index scans started on the table's indexes (idx_scan); absent for a table without indexes."},
    {"pghealthd_table_size_bytes", "gauge",
     "Heap plus TOAST size from pg_class.relpages times block_size, as of the last VACUUM or ANALYZE."},
    {"pghealthd_table_last_vacuum_timestamp_seconds", "gauge",
     "Time of the last vacuum by kind (manual or auto); absent when it never happened."},
    {"pghealthd_table_last_analyze_timestamp_seconds", "gauge",
     "Time of the last analyze by kind (manual or auto); absent when it never happened."},
    {"pghealthd_table_vacuums_total", "counter", "Vacuums of the table by kind (manual or auto)."},
    {"pghealthd_table_analyzes_total", "counter", "Analyzes of the table by kind (manual or auto)."},
    {"pghealthd_table_last_seq_scan_timestamp_seconds", "gauge",
     "Time of the last sequential scan of the table (last_seq_scan, PostgreSQL 16+); absent when never."},
    {"pghealthd_table_vacuum_seconds_total", "counter",
     "Time spent vacuuming the table, by kind: manual (total_vacuum_time) or auto (total_autovacuum_time); "
     "PostgreSQL 18+."},
    {"pghealthd_table_analyze_seconds_total", "counter",
     "Time spent analyzing the table, by kind: manual (total_analyze_time) or auto (total_autoanalyze_time); "
     "PostgreSQL 18+."},
    {"pghealthd_table_blocks_hit_total", "counter",
     "Blocks found in shared buffers by area (heap, index, toast, toast_index)."},
    {"pghealthd_table_blocks_read_total", "counter",
     "Blocks not found in shared buffers (read from the OS or disk) by area."},
    {"pghealthd_table_cache_hit_ratio", "gauge",
     "heap_blks_hit / (heap_blks_hit + heap_blks_read) since the statistics reset; absent when both are 0."},
    {"pghealthd_table_autovacuum_threshold_tuples", "gauge",
     "Dead rows above which autovacuum vacuums the table: threshold + scale_factor * reltuples, the table's "
     "reloptions overriding the server settings; absent where autovacuum is off or for partitioned parents."},
    {"pghealthd_table_autovacuum_due_ratio", "gauge",
     "n_dead_tup divided by the autovacuum threshold (capped by autovacuum_vacuum_max_threshold on 18+): above 1 "
     "means autovacuum is due or late."},
    {"pghealthd_table_autovacuum_insert_due_ratio", "gauge",
     "n_ins_since_vacuum divided by the insert threshold (autovacuum_vacuum_insert_threshold + "
     "insert_scale_factor * reltuples, on 18+ times the unfrozen share of the pages); absent when the insert "
     "trigger is off (-1)."},
    {"pghealthd_table_autoanalyze_due_ratio", "gauge",
     "n_mod_since_analyze divided by the analyze threshold (autovacuum_analyze_threshold + "
     "analyze_scale_factor * reltuples): above 1 means autovacuum's ANALYZE is due or late."},
    {"pghealthd_table_autovacuum_enabled", "gauge",
     "1 when the table's autovacuum_enabled allows autovacuum (the server's setting aside), else 0."},
    {"pghealthd_autovacuum_enabled", "gauge",
     "1 when the server runs autovacuum for the database: autovacuum and track_counts on; else 0."},
    {"pghealthd_index_scans_total", "counter", "Scans started on the index (pg_stat_user_indexes.idx_scan)."},
    {"pghealthd_index_tuples_read_total", "counter", "Index entries returned by scans (idx_tup_read)."},
    {"pghealthd_index_tuples_fetched_total", "counter",
     "Live table rows fetched by index scans (idx_tup_fetch)."},
    {"pghealthd_index_size_bytes", "gauge", "Index size from pg_class.relpages times block_size."},
    {"pghealthd_index_unused", "gauge",
     "1 when the index was never scanned (idx_scan 0), enforces no primary key, unique or exclusion "
     "constraint, is not the replica identity, and the statistics are at least indexes.unused_min_stats_age "
     "old; else 0."},
    {"pghealthd_index_valid", "gauge",
     "0 for an index left invalid (pg_index.indisvalid false, e.g. by a failed CREATE INDEX CONCURRENTLY) "
     "that no CREATE INDEX or REINDEX is building right now; else 1."},
    {"pghealthd_index_redundant", "gauge",
     "1 for an index another index of the table makes redundant: kind=\"duplicate\" (identical definition) "
     "or kind=\"prefix\" (a btree whose key columns lead another btree's); covered_by names that index."},
    {"pghealthd_index_last_scan_timestamp_seconds", "gauge",
     "Time of the last scan of the index (last_idx_scan, PostgreSQL 16+); absent when never."},
    {"pghealthd_database_stats_reset_timestamp_seconds", "gauge",
     "Time the database's statistics were last reset (pg_stat_database.stats_reset); absent when never "
     "reset."},
    {"pghealthd_xmin_horizon_age_seconds", "gauge",
     "Age of the oldest transaction or prepared transaction holding back the xmin horizon, by source; 0 when "
     "none; absent for sources whose age in time is unknown (slots, standbys)."},
    {"pghealthd_xmin_horizon_age_transactions", "gauge",
     "Age in transactions of the oldest xmin held by each source (transaction, replication_slot, "
     "prepared_transaction, standby); 0 when none holds it."},
    {"pghealthd_vacuum_progress_ratio", "gauge",
     "Share of the heap a running VACUUM has scanned (pg_stat_progress_vacuum: heap_blks_scanned / "
     "heap_blks_total), by who started it (autovacuum, pghealthd, other) and phase; absent when nothing runs "
     "or heap_blks_total is 0."},
    {"pghealthd_vacuum_progress_seconds", "gauge",
     "How long a running VACUUM has run (since its transaction started), by who started it and phase; "
     "absent when nothing runs."},
    {"pghealthd_table_xid_age", "gauge",
     "Transactions since the table's oldest unfrozen transaction ID: age(relfrozenxid), or its TOAST "
     "table's when older."},
    {"pghealthd_table_mxid_age", "gauge",
     "Multixacts since the table's oldest unfrozen multixact ID: mxid_age(relminmxid), or its TOAST "
     "table's when older."},
    {"pghealthd_table_freeze_max_age", "gauge",
     "The table's effective autovacuum_freeze_max_age: its reloption (which can only lower it), else the "
     "server's."},
    {"pghealthd_table_freeze_due_ratio", "gauge",
     "xid_age / freeze_max_age, or the multixact equivalent when larger: 1 or more means an "
     "anti-wraparound autovacuum of the table is due."},
    {"pghealthd_database_xid_age", "gauge",
     "Transactions since the database's oldest unfrozen transaction ID: age(pg_database.datfrozenxid). "
     "At 2^31 minus about 3 million the server stops accepting writes."},
    {"pghealthd_database_mxid_age", "gauge",
     "Multixacts since the database's oldest unfrozen multixact ID: mxid_age(pg_database.datminmxid)."},
    {"pghealthd_sequence_used_ratio", "gauge",
     "How far the sequence has gone toward its limit, 0..1: the nearer of its own maxvalue (minvalue when "
     "descending) and the bound of the smallint/integer/bigint column it feeds."},
    {"pghealthd_sequences_unreadable", "gauge",
     "Sequences whose last value the role may not read (it needs SELECT or USAGE on them): they have no "
     "pghealthd_sequence_used_ratio."},
    {"pghealthd_table_bloat_ratio", "gauge",
     "Share of the table's heap not needed by its rows at its fill factor, 0..1; `method` says how it was "
     "obtained (estimate: from statistics; exact: pgstattuple_approx, when bloat.exact is on)."},
    {"pghealthd_table_bloat_bytes", "gauge", "Bytes of the table's heap not needed by its rows at its fill factor."},
    {"pghealthd_index_bloat_ratio", "gauge",
     "Share of the btree index not needed by its entries at its fill factor, 0..1; `method` says how it was "
     "obtained (estimate: from statistics; exact: pgstatindex, when bloat.exact is on)."},
    {"pghealthd_index_bloat_bytes", "gauge", "Bytes of the btree index not needed by its entries at its fill factor."},
    {"pghealthd_bloat_unestimated", "gauge",
     "Tables and btree indexes given no bloat estimate, by reason: never_analyzed, no_statistics (pg_stats "
     "hidden from the role), stale_statistics, expression_index, repeated_keys."},
    {"pghealthd_bloat_exact_available", "gauge",
     "1 when the database gives exact bloat readings (extension pgstattuple installed and its functions "
     "callable by the role, e.g. through pg_stat_scan_tables); 0 when the extension is missing or not "
     "permitted; absent when bloat.exact is off."},
}};

// Every label pghealthd's own series use, which a target's constant labels (targets[].labels) may not
// name; and the ones Prometheus itself sets on a scrape, or reserves (le, quantile).
inline constexpr std::array<std::string_view, 22> kBuiltInLabels{
    "target", "datname", "schemaname", "relname",  "indexrelname", "sequencename", "collector", "kind",
    "area",   "source",  "by",         "phase",    "action",       "result",       "reason",    "version",
    "method", "covered_by", "le",      "quantile", "instance",     "job"};

[[nodiscard]] constexpr const FamilyInfo& info(Family f) { return kFamilies[static_cast<std::size_t>(f)]; }

// The daemon's own metrics, kept in a prometheus-cpp registry (see self_metrics.h).
namespace self {
inline constexpr FamilyInfo kUp{"pghealthd_up", "gauge",
                                "1 when pghealthd's connection to the database works, else 0."};
inline constexpr FamilyInfo kCollectorDuration{"pghealthd_collector_duration_seconds", "gauge",
                                               "Duration of the collector's last run."};
inline constexpr FamilyInfo kCollectorSuccess{"pghealthd_collector_success", "gauge",
                                              "1 when the collector's last run succeeded, else 0."};
inline constexpr FamilyInfo kCollectorLastSuccess{"pghealthd_collector_last_success_timestamp_seconds",
                                                  "gauge", "Time of the collector's last successful run."};
inline constexpr FamilyInfo kCollectorSkipped{
    "pghealthd_collector_skipped_total", "counter",
    "Runs skipped because the previous run of the same collector was still going."};
inline constexpr FamilyInfo kCollectorSeries{"pghealthd_collector_series", "gauge",
                                             "Series the collector's last successful run exports."};
inline constexpr FamilyInfo kCollectorSeriesDropped{
    "pghealthd_collector_series_dropped", "gauge",
    "Series the collector's last successful run left out to keep the target within "
    "cardinality.max_series_per_target (0 when nothing was cut)."};
inline constexpr FamilyInfo kConnections{
    "pghealthd_connections", "gauge",
    "Connections the target's collectors hold now (bounded by max_connections; autodiscovery and vacuum "
    "connections are not counted)."};
inline constexpr FamilyInfo kConnectionsMax{"pghealthd_connections_max", "gauge",
                                            "The target's max_connections: the bound of pghealthd_connections."};
inline constexpr FamilyInfo kConnectionWaiters{
    "pghealthd_connection_waiters", "gauge",
    "Databases of the target whose collectors wait for a free connection (max_connections reached)."};
inline constexpr FamilyInfo kVacuumRuns{
    "pghealthd_vacuum_runs_total", "counter",
    "Automatic maintenance runs by action (vacuum, analyze, freeze) and result: success, not_processed, "
    "unverified, lock_not_available, permission_denied, dropped, timeout, cancelled, failed, dry_run."};
inline constexpr FamilyInfo kVacuumDuration{"pghealthd_vacuum_duration_seconds", "histogram",
                                            "Duration of automatic vacuums and analyzes."};
inline constexpr FamilyInfo kTuningChanges{
    "pghealthd_tuning_changes_total", "counter",
    "Autovacuum tuning changes (ALTER TABLE ... SET of advice, tuning.apply) by result: success (pg_class.reloptions "
    "shows every value), not_processed, unverified, lock_not_available, permission_denied, dropped, timeout, "
    "cancelled, failed."};
inline constexpr FamilyInfo kReindexRuns{
    "pghealthd_reindex_runs_total", "counter",
    "Automatic REINDEX INDEX CONCURRENTLY runs by index and result: success (the index of that name is a new, "
    "valid relation), not_processed, unverified, lock_not_available, permission_denied, dropped, timeout, "
    "cancelled, failed, dry_run."};
inline constexpr FamilyInfo kReindexReclaimed{"pghealthd_reindex_bytes_reclaimed_total", "counter",
                                              "Bytes given back by successful automatic REINDEXes (size before "
                                              "minus size after)."};
inline constexpr FamilyInfo kReindexSkipped{"pghealthd_reindex_skipped_total", "counter",
                                            "Bloated indexes not rebuilt at a check, by index and reason."};
inline constexpr FamilyInfo kReindexLeftoversDropped{
    "pghealthd_reindex_leftovers_dropped_total", "counter",
    "Invalid indexes left by a failed or cancelled REINDEX CONCURRENTLY (*_ccnew, *_ccold) that pghealthd dropped."};
inline constexpr FamilyInfo kVacuumSkipped{"pghealthd_vacuum_skipped_total", "counter",
                                           "Tables not vacuumed at a check, by reason."};
inline constexpr FamilyInfo kVacuumDeadRemoved{
    "pghealthd_vacuum_dead_tuples_removed_total", "counter",
    "Dead rows removed by automatic vacuums (n_dead_tup before minus after)."};
inline constexpr FamilyInfo kReloadOk{"pghealthd_config_last_reload_successful", "gauge",
                                      "1 when the last configuration load (start or SIGHUP) succeeded, else 0."};
inline constexpr FamilyInfo kReloadTime{"pghealthd_config_last_reload_success_timestamp_seconds", "gauge",
                                        "Time of the last successful configuration load."};
inline constexpr FamilyInfo kBuildInfo{"pghealthd_build_info", "gauge",
                                       "Always 1; the version label says which pghealthd this is."};
}  // namespace self

}  // namespace pghealthd::metrics
