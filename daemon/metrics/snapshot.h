// One collector run as the store keeps it: the typed rows (collectors::Data) and the series rendered from
// them once, at collection time, so a scrape only writes text that already exists.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "collectors/collector.h"
#include "metrics/exposition.h"
#include "pg/rows.h"

namespace pghealthd::metrics {

// Immutable once built; shared with scrapes, the maintenance engines (as collectors::Data) and `check`.
struct Snapshot : collectors::Data {
  Fragments series;
};

struct Outcome {
  std::shared_ptr<const Snapshot> snapshot;  // null on error
  std::string error;
  std::size_t rows = 0;
  // A light run's rows were not usable (collectors::Data::needs_full_run): neither snapshot nor error.
  bool needs_full_run = false;
};

// What a collector's snapshots pass on to the next over time: since when statistics never reset have been
// read, each table's dead-ratio history, and the bloat collector's exact readings (by relid) and whether
// the database could give them. Copied out of the previous snapshot, so that snapshot (tens of MB of typed
// rows at 10,000 tables) can go before the next is built.
struct History {
  std::optional<model::DatabaseStatistics> statistics;
  std::unordered_map<std::int64_t, model::Churn> churn;
  std::unordered_map<std::int64_t, std::int64_t> toast_bytes;  // stat_user_tables: by relid, when known
  std::unordered_map<std::int64_t, model::ExactBloat> exact;
  std::optional<model::ExactAvailability> bloat_exact;
  [[nodiscard]] static History of(const collectors::Data& previous);
};

// A run's typed rows before they are rendered (parse()), or why the answer could not be used.
struct Parsed {
  std::shared_ptr<Snapshot> snapshot;  // null on error
  std::string error;
};

// Parses a run of `kind` (collectors::definition(kind).parse) and renders its series under `filter`,
// carrying on from `history` (the same collector's previous snapshot of the database): parse() then
// finish(), for a caller with nothing to add in between.
[[nodiscard]] Outcome process(collectors::Kind kind, const pg::Rows& rows, std::string_view target,
                              std::string_view datname, const SeriesFilter& filter, const History& history = {});
// process() in two halves, for a caller that adds to the typed rows before they are rendered (the exact
// bloat readings, app/database_watch.cpp).
// `light`: a light run (collectors::Definition::light_sql), with the previous run's rows for its parser to
// update (take_previous()); its snapshot may come back with needs_full_run set, and is then to be dropped.
[[nodiscard]] Parsed parse(collectors::Kind kind, const pg::Rows& rows, const History& history = {},
                           std::optional<collectors::Data> light = std::nullopt);
// What a light run of `kind` updates, out of its previous snapshot: moved when nothing else holds it (the
// store has let it go and no scrape is writing it), copied otherwise.
[[nodiscard]] collectors::Data take_previous(collectors::Kind kind, std::shared_ptr<const Snapshot> previous);
[[nodiscard]] Outcome finish(collectors::Kind kind, std::shared_ptr<Snapshot> snapshot,
                             std::string_view target, std::string_view datname, const SeriesFilter& filter);

// Renders the series of a run of `kind` from its typed rows.
[[nodiscard]] Fragments render(collectors::Kind kind, const collectors::Data& data, std::string_view target,
                               std::string_view datname, const SeriesFilter& filter);

}  // namespace pghealthd::metrics
