// Reads pg_stat_user_indexes: scans and tuples per index, size, validity, the definition the redundancy rules
// compare (model::redundant_indexes), and the database's statistics reset time that unusedness is judged by.
#pragma once

#include <string>
#include <string_view>

#include "collectors/collector.h"

namespace pghealthd::collectors {

// The view's definition over pg_class/pg_index and pg_stat_get_*(), plus pg_index's definition columns and
// each index's catalog version; one extra row (scope 'd') carries the database's stats_reset.
// last_idx_scan is read on 16+.
[[nodiscard]] std::string_view stat_user_indexes_sql(int server_version);
// The same rows with counters, validity and version only (a light run, Definition::light_sql).
[[nodiscard]] std::string_view stat_user_indexes_light_sql(int server_version);

// Fills out.indexes, with each index's redundancy verdict, and out.statistics.
[[nodiscard]] std::string parse_stat_user_indexes(const pg::Rows& rows, Data& out);
// Updates out.indexes (the previous run's, put there by the caller) with a light run's counters, and fills
// out.statistics; sets out.needs_full_run instead when an index is new, of another version, or gone.
[[nodiscard]] std::string parse_stat_user_indexes_light(const pg::Rows& rows, Data& out);

}  // namespace pghealthd::collectors
