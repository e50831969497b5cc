// Reads pg_statio_user_tables: shared-buffer hits and reads per area of each table.
#pragma once

#include <string_view>

#include "pg/rows.h"
#include "model/stats.h"

namespace pghealthd::collectors {

// The view's definition over pg_class and pg_stat_get_*(). Index sums are NULL for a table without
// indexes and TOAST columns NULL for a table without TOAST, exactly as the view reports.
extern const std::string_view kStatioUserTablesSql;

[[nodiscard]] pg::Parsed<model::TableIo> parse_statio_user_tables(const pg::Rows& rows);

}  // namespace pghealthd::collectors
