// Bloat estimates from statistics (issue 15, method="estimate"), as pure functions: how many pages a table
// or a btree index would take if packed as its fill factor asks, from reltuples, the average width and null
// fraction of each column (pg_stats), and PostgreSQL's page and tuple overheads; the rest of relpages is
// wasted. No I/O.
//
// An estimate is only as good as its statistics, so there is no number (and a reason instead) when:
//   never_analyzed      the relation was never analyzed: pg_stats has nothing to say
//   no_statistics       some column it stores has no pg_stats row the role may see (a pg_monitor-only role
//                       sees none for tables it may not SELECT): a width of 0 would make the estimate small
//                       and the "bloat" large, a false alarm
//   stale_statistics    more rows were modified since the last ANALYZE than a share of its rows: reltuples
//                       and the widths describe a table that is gone
//   expression_index    a btree index on expressions: the table's pg_stats say nothing of its keys' widths
//   repeated_keys       a btree index where more than a tenth of the rows repeat another row's key (by
//                       pg_stats.n_distinct and null_frac): deduplication (PostgreSQL 13+) keeps one copy of
//                       a repeated key per posting list, so counting an entry per row would read tens of
//                       points too low (47 under for a 10-value column, bench/results/bloat_accuracy.md)
// What the layout rules say (src/include/storage/bufpage.h, access/htup_details.h, access/itup.h,
// access/nbtree.h): a page header of 24 bytes and a 4-byte line pointer per tuple; a heap tuple header of
// 23 bytes plus a null bitmap of one bit per column when any column may be null, MAXALIGNed; an index
// tuple header of 8 bytes (plus a 4-byte null bitmap when any key may be null); a btree page keeps 16
// bytes of special space and the index has one metapage. A varlena value under 127 bytes is stored with
// a 1-byte header and no alignment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/boxed.h"

namespace pghealthd::model {

// One stored column as pg_stats and pg_type describe it.
struct ColumnWidth {
  double avg_width = 0;  // pg_stats.avg_width: the average stored width, varlena header included
  double null_frac = 0;  // pg_stats.null_frac
  int typlen = 4;        // pg_type.typlen: > 0 fixed, -1 varlena, -2 cstring
  char typalign = 'i';   // pg_type.typalign: c (1), s (2), i (4), d (8)
  // pg_stats.n_distinct: above 0 the number of distinct non-null values, below 0 minus their share of
  // the rows (-1: unique), 0 unknown.
  double n_distinct = -1;
};

struct RelationShape {
  double relpages = 0;   // pg_class.relpages (the table's heap alone, or the index)
  double reltuples = 0;  // pg_class.reltuples; below 0: never vacuumed nor analyzed
  int block_size = 8192;
  int fillfactor = 100;  // the relation's own, else 100 for a table and 90 for a btree index
  // Every column the relation stores (a table's live attributes, an index's key and INCLUDE columns), in
  // order; none where pg_stats has no row the role may see.
  std::vector<std::optional<ColumnWidth>> columns;
  bool analyzed = false;              // last_analyze or last_autoanalyze is set (for an index: its table's)
  double modified_since_analyze = 0;  // n_mod_since_analyze (an index: its table's)
  bool expressions = false;           // an index with expression keys
};

// What a relation's snapshot keeps of its shape once the estimate is made: its size and fill factor, which
// the reindex policy, the report and the exact readings use. The statistics the estimate came from are not
// kept: 48 bytes and a vector per relation, megabytes at 10,000 tables.
struct KeptShape {
  double relpages = 0;
  int block_size = 8192;
  int fillfactor = 100;
};

enum class Unestimated { kNeverAnalyzed, kNoStatistics, kStaleStatistics, kExpressionIndex, kRepeatedKeys };
inline constexpr std::size_t kUnestimatedCount = 5;
[[nodiscard]] std::string_view name(Unestimated u);

struct BloatSettings {
  // Statistics are stale when more than this share of reltuples was modified since the last ANALYZE (twice
  // autovacuum's default analyze scale factor: autovacuum would have analyzed it long before).
  double stale_share = 0.2;
  // A btree index's keys repeat when more than this share of its rows have a key another row has.
  double repeated_share = 0.1;
  int maxalign = 8;  // 64-bit platforms
};

struct BloatEstimate {
  std::optional<Unestimated> unestimated;  // set: no number
  double expected_pages = 0;  // the pages the rows need at the fill factor
  double wasted_bytes = 0;    // (relpages - expected_pages) x block size, at least 0
  double ratio = 0;           // wasted / relpages x block size; 0 for an empty relation
};

// A reading of extension pgstattuple (method="exact"): pgstattuple_approx() of a table, pgstatindex() of
// a btree index, taken by the bloat collector when bloat.exact is on (see collectors/bloat_exact.h).
struct ExactBloat {
  double ratio = 0;         // wasted / size, 0..1
  double wasted_bytes = 0;  // bytes the rows (entries) do not need at the fill factor
  double measured_unix = 0;  // when it was read (seconds since the epoch)
};

// Whether a database can give exact readings: extension pgstattuple is there and the role may call its
// functions (they are granted to pg_stat_scan_tables, which pg_monitor includes).
enum class ExactAvailability { kAvailable, kMissing, kNotPermitted };
[[nodiscard]] std::string_view name(ExactAvailability a);

// One relation of the bloat collector: a table (its heap) or one of its btree indexes, its size and the
// estimate.
struct RelationBloat {
  std::int64_t relid = 0;
  std::int64_t table_relid = 0;  // an index's table; a table's own relid
  bool index = false;
  bool valid = true;         // an index: pg_index.indisvalid (false: being built, or left by a failed build)
  bool exclusion = false;    // an index: it enforces an exclusion constraint (REINDEX CONCURRENTLY cannot)
  std::string schemaname, relname;
  std::string indexrelname;  // an index's name; empty for a table
  KeptShape shape;
  BloatEstimate estimate;
  Boxed<ExactBloat> exact;  // the latest exact reading, when there is one
};

[[nodiscard]] BloatEstimate estimate_table_bloat(const RelationShape& table, const BloatSettings& s = {});
[[nodiscard]] BloatEstimate estimate_btree_bloat(const RelationShape& index, const BloatSettings& s = {});

// A table's reading from pgstattuple_approx(): its free space and dead rows, less the free space its fill
// factor asks to keep (100 - fillfactor percent of every page), are wasted; never below 0, and an empty
// table wastes nothing.
[[nodiscard]] ExactBloat exact_table_bloat(double table_len, double approx_free_space, double dead_tuple_len,
                                           int fillfactor, double now_unix);
// A btree index's reading from pgstatindex(): its leaves hold avg_leaf_density percent where its fill factor
// asks for fillfactor percent, so 1 - density / fillfactor of it is wasted (never below 0), leaves and
// upper pages alike. pgstatindex gives NaN for an index without leaves: nothing is wasted.
[[nodiscard]] ExactBloat exact_btree_bloat(double index_size, double avg_leaf_density, int fillfactor,
                                           double now_unix);

// A relation the exact method may read: its size (relpages x block size) and when it was last read.
struct ExactCandidate {
  std::int64_t relid = 0;
  bool index = false;
  double size_bytes = 0;
  std::optional<double> measured_unix;  // the time of its previous exact reading; none when never read
};

// The order in which a run reads relations exactly: those of at least min_size_bytes, never read first
// (the larger first), then the oldest reading first. A run that stops at its budget leaves the rest at
// the head of the next run's order: a round robin that needs no cursor, only the readings carried from run
// to run.
[[nodiscard]] std::vector<ExactCandidate> exact_round_robin(std::vector<ExactCandidate> candidates,
                                                            std::int64_t min_size_bytes);

}  // namespace pghealthd::model
