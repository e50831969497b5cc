#include "collectors/collector.h"

#include "collectors/bloat.h"
#include "collectors/freeze.h"
#include "collectors/sequences.h"
#include "collectors/stat_user_indexes.h"
#include "collectors/stat_user_tables.h"
#include "collectors/statio_user_tables.h"
#include "collectors/vacuum_progress.h"
#include "collectors/xmin_horizon.h"

namespace pghealthd::collectors {
namespace {

// Every view parses the same way; they differ only in their parser and the field they fill.
template <typename Row, pg::Parsed<Row> (*Parse)(const pg::Rows&), std::vector<Row> Data::*Field>
std::string parse_into(const pg::Rows& rows, Data& out) {
  auto parsed = Parse(rows);
  if (!parsed.ok()) return std::move(parsed.error);
  out.*Field = std::move(parsed.rows);
  return {};
}

// The SQL of a collector whose statement is the same on every supported version.
template <const std::string_view& Sql>
std::string_view same_sql(int /*server_version*/) {
  return Sql;
}

const std::array<Definition, kKindCount> kAll{{
    // Full runs also read the TOAST tables' pages (stat_user_tables.cpp).
    {Kind::kStatUserTables, "stat_user_tables", &stat_user_tables_sql,
     &parse_into<model::TableStats, parse_stat_user_tables, &Data::tables>, true, 0, true, nullptr, nullptr},
    {Kind::kStatioUserTables, "statio_user_tables", &same_sql<kStatioUserTablesSql>,
     &parse_into<model::TableIo, parse_statio_user_tables, &Data::io>, true},
    // Light runs read counters only; full runs (the first, every tenth, after a definition changed) also the
    // names and definitions that redundancy is judged from (stat_user_indexes.cpp).
    {Kind::kStatUserIndexes, "stat_user_indexes", &stat_user_indexes_sql, &parse_stat_user_indexes, true, 0, true,
     &stat_user_indexes_light_sql, &parse_stat_user_indexes_light},
    {Kind::kXminHorizon, "xmin_horizon", &same_sql<kXminHorizonSql>,
     &parse_into<model::HorizonHolder, parse_xmin_horizon, &Data::horizon>, false},
    {Kind::kVacuumProgress, "vacuum_progress", &same_sql<kVacuumProgressSql>,
     &parse_into<model::VacuumProgress, parse_vacuum_progress, &Data::vacuums>, false},
    // Budgeted: its per-table series are cut like the others; the per-database ones never are.
    {Kind::kFreeze, "freeze", &same_sql<kFreezeSql>, &parse_freeze, true},
    // Budgeted: one series per readable sequence, the nearest to its limit kept first.
    {Kind::kSequences, "sequences", &same_sql<kSequencesSql>,
     &parse_into<model::SequenceState, parse_sequences, &Data::sequences>, true, kSequencePage},
    // Budgeted: per-table and per-index series; the per-database count of relations left unestimated never is.
    {Kind::kBloat, "bloat", &same_sql<kBloatSql>, &parse_bloat, true},
}};

}  // namespace

const std::array<Definition, kKindCount>& all() { return kAll; }
const Definition& definition(Kind kind) { return kAll[static_cast<std::size_t>(kind)]; }

std::size_t rows_of(Kind kind, const Data& data) {
  switch (kind) {
    case Kind::kStatUserTables: return data.tables.size();
    case Kind::kStatioUserTables: return data.io.size();
    case Kind::kStatUserIndexes: return data.indexes.size();
    case Kind::kXminHorizon: return data.horizon.size();
    case Kind::kVacuumProgress: return data.vacuums.size();
    case Kind::kFreeze: return data.freeze.size() + data.databases.size();
    case Kind::kSequences: return data.sequences.size();
    case Kind::kBloat: return data.bloat.size();
  }
  return 0;
}

}  // namespace pghealthd::collectors
