// Reads pg_stat_user_tables: tuple counts, scans, vacuum/analyze history, plus the lock-free table size.
#pragma once

#include <string_view>

#include "pg/rows.h"
#include "model/stats.h"

namespace pghealthd::collectors {

// The view's own definition over pg_class and pg_stat_get_*(), restricted to the columns we export:
// every value equals what `SELECT * FROM pg_stat_user_tables` reports. The size comes from
// pg_class.relpages (lock-free; pg_table_size() would queue behind a pending ACCESS EXCLUSIVE lock).
// Columns of newer servers (last_seq_scan from 16, the total_*_time columns from 18) are NULL before.
[[nodiscard]] std::string_view stat_user_tables_sql(int server_version);

[[nodiscard]] pg::Parsed<model::TableStats> parse_stat_user_tables(const pg::Rows& rows);

}  // namespace pghealthd::collectors
