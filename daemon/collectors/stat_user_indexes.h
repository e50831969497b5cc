// Reads pg_stat_user_indexes: scans and tuples per index, plus size and whether it enforces a constraint.
#pragma once

#include <string_view>

#include "pg/rows.h"
#include "model/stats.h"

namespace pghealthd::collectors {

// The view's definition over pg_class/pg_index and pg_stat_get_*(). `enforces_constraint` is true for
// primary key, unique (constraint or plain unique index) and exclusion indexes: dropping those changes
// behaviour even when they are never scanned.
extern const std::string_view kStatUserIndexesSql;

[[nodiscard]] pg::Parsed<model::IndexStats> parse_stat_user_indexes(const pg::Rows& rows);

}  // namespace pghealthd::collectors
