// Reads what a statistics-based bloat estimate needs (model/bloat.h) for every table and btree index of
// the database: relpages, reltuples, fill factor, whether and how long ago the table was analyzed, and each
// stored column's pg_stats width and null fraction with its type's length and alignment. pg_stats shows
// only the columns the role may SELECT; a column it hides comes back unknown, and the estimate says so
// instead of guessing. Reads catalogs and statistics only: no relation is scanned, no lock is taken.
#pragma once

#include <string>
#include <string_view>

#include "collectors/collector.h"

namespace pghealthd::collectors {

extern const std::string_view kBloatSql;

// Fills out.bloat, with each relation's estimate computed.
[[nodiscard]] std::string parse_bloat(const pg::Rows& rows, Data& out);

// The "columns" field of an answer row: "width:null_frac:n_distinct:typlen:typalign" per stored column, in
// order, separated by ';', with '?' for the three pg_stats did not show. Nothing on a malformed one.
[[nodiscard]] std::optional<std::vector<std::optional<model::ColumnWidth>>> parse_columns(std::string_view text);

}  // namespace pghealthd::collectors
