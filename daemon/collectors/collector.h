// What every collector is: a name, one SQL statement, and one function that turns the server's rows into
// typed rows (Data). Rendering them as series is metrics/'s job (metrics/snapshot.h); scheduling is the
// app's (app/database_watch.h). Collectors depend only on pg/ (result rows) and model/ (value types).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/bloat.h"
#include "model/stats.h"
#include "pg/rows.h"

namespace pghealthd::collectors {

enum class Kind {
  kStatUserTables,
  kStatioUserTables,
  kStatUserIndexes,
  kXminHorizon,
  kVacuumProgress,
  kFreeze,
  kSequences,
  kBloat,
};
inline constexpr std::size_t kKindCount = 8;

// The typed rows of one successful run; a run of a kind fills its own field.
struct Data {
  std::vector<model::TableStats> tables;      // stat_user_tables
  std::vector<model::TableIo> io;             // statio_user_tables
  std::vector<model::IndexStats> indexes;     // stat_user_indexes
  std::optional<model::DatabaseStatistics> statistics;  // stat_user_indexes: when idx_scan began counting
  std::vector<model::HorizonHolder> horizon;  // xmin_horizon
  std::vector<model::VacuumProgress> vacuums;  // vacuum_progress
  std::vector<model::FreezeAge> freeze;        // freeze: this database's tables
  std::vector<model::DatabaseAge> databases;   // freeze: every database of the server
  std::vector<model::SequenceState> sequences;  // sequences
  std::vector<model::RelationBloat> bloat;      // bloat: tables and btree indexes, with their estimates
  // bloat, when bloat.exact is on: whether the database gives exact readings (collectors/bloat_exact.h).
  std::optional<model::ExactAvailability> bloat_exact;
  // stat_user_tables: each table's dead-ratio history (by relid), carried from the previous snapshot.
  std::unordered_map<std::int64_t, model::Churn> churn;
  // stat_user_tables: a run that was not full met tables whose TOAST size it could not carry over (new
  // ones): their size is their heap's alone until the next full run, which should come next.
  bool toast_unknown = false;
  // A light run (Definition::light_sql) met what the previous rows cannot carry (an index created, dropped
  // or altered since): its rows are not usable, and a full run must be made instead.
  bool needs_full_run = false;
};

struct Definition {
  Kind kind;
  std::string_view name;  // the `collector` label and the config key
  // The statement for a server of this version (server_version_num): views gain columns over releases.
  std::string_view (*sql)(int server_version);
  // Fills the kind's field of `out` from the server's answer; the error when it cannot be used.
  std::string (*parse)(const pg::Rows& rows, Data& out);
  // Whether its series count against cardinality.max_series_per_target and may be cut: per-table and
  // per-index ones do; the xmin horizon's and the running vacuums' few per database never are.
  bool budgeted = true;
  // Above 0: the statement reads one page of at most this many rows after the key given as $1 (an OID,
  // "0" first), ordered by a `page_key` column, and runs again from the last row's key until a page comes
  // back short; each page is its own transaction, so the locks it takes (a sequence's last value locks
  // the sequence) are held for one page only. See fetch().
  int page_rows = 0;
  // Full runs also read what changes seldom; the others do not. The caller decides which run is full (see
  // fetch()). Either the statement takes $1, a bool: whether this run is full (stat_user_tables: the TOAST
  // tables' pages); or, with light_sql set, a run that is not full runs that statement instead and
  // parse_light reads it, updating the previous run's rows that the caller put into `out`
  // (stat_user_indexes: counters only, names and redundancy verdicts kept).
  bool has_full_runs = false;
  std::string_view (*light_sql)(int server_version) = nullptr;
  std::string (*parse_light)(const pg::Rows& rows, Data& out) = nullptr;
};

// Whether a collector reads the cumulative statistics (pg_stat_get_*() through the views): runs of such
// collectors that fall due together share one transaction, in which the server builds its copy of the
// statistics once for all of them (app::share_statistics).
[[nodiscard]] constexpr bool reads_statistics(Kind kind) {
  return kind == Kind::kStatUserTables || kind == Kind::kStatioUserTables || kind == Kind::kStatUserIndexes;
}

[[nodiscard]] const std::array<Definition, kKindCount>& all();
[[nodiscard]] const Definition& definition(Kind kind);
// The number of rows a run of `kind` put into `data`.
[[nodiscard]] std::size_t rows_of(Kind kind, const Data& data);

}  // namespace pghealthd::collectors
