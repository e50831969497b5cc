// Reads every sequence of the database: its range and increment (pg_sequence), its last value where the
// role may read it (SELECT or USAGE, which pg_monitor lacks), and the narrowest integer column it feeds.
#pragma once

#include <string_view>

#include "model/stats.h"
#include "pg/rows.h"

namespace pghealthd::collectors {

// One page of kSequencePage sequences after the OID $1 (collectors::Definition::page_rows).
inline constexpr int kSequencePage = 500;
extern const std::string_view kSequencesSql;

[[nodiscard]] pg::Parsed<model::SequenceState> parse_sequences(const pg::Rows& rows);

}  // namespace pghealthd::collectors
