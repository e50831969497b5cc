// What every collector is: a name, one SQL statement, and one function that turns the server's rows into
// a Snapshot (typed rows plus rendered series). The scheduler (app/database_watch.h) runs them.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/rows.h"
#include "metrics/exposition.h"
#include "model/stats.h"

namespace pghealthd::collectors {

enum class Kind { kStatUserTables, kStatioUserTables, kStatUserIndexes, kXminHorizon, kVacuumProgress };
inline constexpr std::size_t kKindCount = 5;

// The result of one successful run. Immutable once built, shared with scrapes and the vacuum policy.
struct Snapshot {
  metrics::Fragments series;
  std::vector<model::TableStats> tables;   // stat_user_tables
  std::vector<model::TableIo> io;          // statio_user_tables
  std::vector<model::IndexStats> indexes;  // stat_user_indexes
  std::vector<model::HorizonHolder> horizon;  // xmin_horizon
  std::vector<model::VacuumProgress> vacuums;  // vacuum_progress
};

struct Outcome {
  std::shared_ptr<const Snapshot> snapshot;  // null on error
  std::string error;
  std::size_t rows = 0;
};

struct Definition {
  Kind kind;
  std::string_view name;  // the `collector` label and the config key
  std::string_view sql;
  Outcome (*process)(const Rows& rows, std::string_view target, std::string_view datname,
                     const metrics::SeriesFilter& filter);
  // Whether its series count against cardinality.max_series_per_target and may be cut: per-table and
  // per-index ones do; the xmin horizon's and the running vacuums' few per database never are.
  bool budgeted = true;
};

[[nodiscard]] const std::array<Definition, kKindCount>& all();
[[nodiscard]] const Definition& definition(Kind kind);

}  // namespace pghealthd::collectors
