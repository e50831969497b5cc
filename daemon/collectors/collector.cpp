#include "collectors/collector.h"

#include "collectors/stat_user_indexes.h"
#include "collectors/stat_user_tables.h"
#include "collectors/statio_user_tables.h"
#include "collectors/vacuum_progress.h"
#include "collectors/xmin_horizon.h"

namespace pghealthd::collectors {
namespace {

// Parse, then render; the two steps differ per view only in their functions and the field they fill.
template <typename Row, Parsed<Row> (*Parse)(const Rows&),
          metrics::Fragments (*Render)(std::string_view, std::string_view, const std::vector<Row>&,
                                       const metrics::SeriesFilter&),
          std::vector<Row> Snapshot::*Field>
Outcome process(const Rows& rows, std::string_view target, std::string_view datname,
                const metrics::SeriesFilter& filter) {
  auto parsed = Parse(rows);
  if (!parsed.ok()) return {nullptr, std::move(parsed.error), 0};
  auto snap = std::make_shared<Snapshot>();
  snap->series = Render(target, datname, parsed.rows, filter);
  const std::size_t n = parsed.rows.size();
  (*snap).*Field = std::move(parsed.rows);
  return {std::move(snap), {}, n};
}

const std::array<Definition, kKindCount> kAll{{
    {Kind::kStatUserTables, "stat_user_tables", kStatUserTablesSql,
     &process<model::TableStats, parse_stat_user_tables, metrics::render_tables, &Snapshot::tables>, true},
    {Kind::kStatioUserTables, "statio_user_tables", kStatioUserTablesSql,
     &process<model::TableIo, parse_statio_user_tables, metrics::render_table_io, &Snapshot::io>, true},
    {Kind::kStatUserIndexes, "stat_user_indexes", kStatUserIndexesSql,
     &process<model::IndexStats, parse_stat_user_indexes, metrics::render_indexes, &Snapshot::indexes>, true},
    {Kind::kXminHorizon, "xmin_horizon", kXminHorizonSql,
     &process<model::HorizonHolder, parse_xmin_horizon, metrics::render_horizon, &Snapshot::horizon>, false},
    {Kind::kVacuumProgress, "vacuum_progress", kVacuumProgressSql,
     &process<model::VacuumProgress, parse_vacuum_progress, metrics::render_vacuum_progress, &Snapshot::vacuums>,
     false},
}};

}  // namespace

const std::array<Definition, kKindCount>& all() { return kAll; }
const Definition& definition(Kind kind) { return kAll[static_cast<std::size_t>(kind)]; }

}  // namespace pghealthd::collectors
