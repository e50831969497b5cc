// Reads pg_stat_progress_vacuum: every VACUUM running now in this database (ours, autovacuum's, anyone's),
// how far its heap scan is and how long it has run, so a long or stuck vacuum shows before it ends.
#pragma once

#include <string_view>

#include "pg/rows.h"
#include "model/stats.h"

namespace pghealthd::collectors {

// Only the view's columns that PostgreSQL 13 to 18 all have (max_dead_tuples was renamed in 17), joined
// to the catalogs for names (a relation dropped meanwhile has no row) and to pg_stat_activity for who
// runs it and since when. No size functions: nothing here takes a lock on a user table.
extern const std::string_view kVacuumProgressSql;

[[nodiscard]] pg::Parsed<model::VacuumProgress> parse_vacuum_progress(const pg::Rows& rows);

}  // namespace pghealthd::collectors
