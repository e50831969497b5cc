// One collector run as the store keeps it: the typed rows (collectors::Data) and the series rendered from
// them once, at collection time, so a scrape only writes text that already exists.
#pragma once

#include <memory>
#include <string>
#include <string_view>

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
};

// Parses a run of `kind` (collectors::definition(kind).parse) and renders its series under `filter`.
[[nodiscard]] Outcome process(collectors::Kind kind, const pg::Rows& rows, std::string_view target,
                              std::string_view datname, const SeriesFilter& filter);

// Renders the series of a run of `kind` from its typed rows.
[[nodiscard]] Fragments render(collectors::Kind kind, const collectors::Data& data, std::string_view target,
                               std::string_view datname, const SeriesFilter& filter);

}  // namespace pghealthd::metrics
