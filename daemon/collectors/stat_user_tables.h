// Reads pg_stat_user_tables: tuple counts, scans, vacuum/analyze history, plus the lock-free table size.
#pragma once

#include <string_view>
#include <vector>

#include "pg/rows.h"
#include "model/stats.h"

namespace pghealthd::collectors {

// The view's own definition over pg_class and pg_stat_get_*(), restricted to the columns we export:
// every value equals what `SELECT * FROM pg_stat_user_tables` reports. The size comes from
// pg_class.relpages (lock-free; pg_table_size() would queue behind a pending ACCESS EXCLUSIVE lock).
// Columns of newer servers (last_seq_scan from 16, the total_*_time columns from 18) are NULL before.
// idx_scan is not read here (see attach_index_scans); the server's autovacuum settings come in one row.
[[nodiscard]] std::string_view stat_user_tables_sql(int server_version);

[[nodiscard]] pg::Parsed<model::TableStats> parse_stat_user_tables(const pg::Rows& rows);

// Sets each table's idx_scan as the view computes it (the sum of its indexes' idx_scan, NULL for a table
// without indexes) from the stat_user_indexes collector's per-index counts: as fresh as that collector's
// last run. Without one (`indexes` null: not run yet, or disabled) idx_scan stays absent.
void attach_index_scans(std::vector<model::TableStats>& tables, const std::vector<model::IndexStats>* indexes);

}  // namespace pghealthd::collectors
