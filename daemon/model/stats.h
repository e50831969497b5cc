// Value types for one collection of each statistics view, and the pure ratio functions over them.
// A std::nullopt field is a NULL in the view: its series is absent, never exported as 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pghealthd::model {

using Count = std::optional<std::int64_t>;
using Seconds = std::optional<double>;  // a Unix timestamp in seconds

// One row of pg_stat_user_tables (plus the lock-free size from pg_class).
struct TableStats {
  std::string schemaname;
  std::string relname;
  Count live_tuples;         // n_live_tup
  Count dead_tuples;         // n_dead_tup
  Count mod_since_analyze;   // n_mod_since_analyze
  Count seq_scans;           // seq_scan
  Count index_scans;         // idx_scan (NULL for a table without indexes)
  Seconds last_vacuum;       // last_vacuum
  Seconds last_autovacuum;   // last_autovacuum
  Seconds last_analyze;      // last_analyze
  Seconds last_autoanalyze;  // last_autoanalyze
  Count vacuum_count;
  Count autovacuum_count;
  Count analyze_count;
  Count autoanalyze_count;
  Count size_bytes;  // (heap + TOAST) relpages * block_size
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

// One row of pg_stat_user_indexes (plus size and whether it enforces a constraint).
struct IndexStats {
  std::string schemaname;
  std::string relname;
  std::string indexrelname;
  Count scans;                       // idx_scan
  Count tuples_read;                 // idx_tup_read
  Count tuples_fetched;              // idx_tup_fetch
  Count size_bytes;                  // relpages * block_size
  bool enforces_constraint = false;  // primary key, unique or exclusion
};

// n_dead_tup / (n_live_tup + n_dead_tup); 0 when both are 0 (an empty table has no bloat);
// absent when either is NULL. Unlike the seed report's dead/live, a table whose rows are all dead is 1.
[[nodiscard]] std::optional<double> dead_tuple_ratio(Count live, Count dead);

// hit / (hit + read); absent when both are 0 (no reads yet: no ratio to speak of) or either is NULL.
[[nodiscard]] std::optional<double> cache_hit_ratio(Count hit, Count read);

// 1 when the index was never scanned since the last statistics reset and enforces no constraint
// (dropping it would change no behaviour); 0 otherwise; absent when idx_scan is NULL.
[[nodiscard]] std::optional<double> index_unused(const IndexStats& index);

}  // namespace pghealthd::model
