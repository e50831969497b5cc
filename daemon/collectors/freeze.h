// Reads how close each table and each database is to a forced anti-wraparound autovacuum: the age of the
// oldest unfrozen transaction ID (relfrozenxid, datfrozenxid) and multixact ID (relminmxid, datminmxid),
// with the effective autovacuum_freeze_max_age and autovacuum_multixact_freeze_max_age of each table.
// Only pg_class and pg_database are read: no statistics, no locks.
#pragma once

#include <string>
#include <string_view>

#include "collectors/collector.h"

namespace pghealthd::collectors {

extern const std::string_view kFreezeSql;

// Fills out.freeze (one row per table or materialized view, partitioned parents have no storage and no
// age) and out.databases (every database of the server).
[[nodiscard]] std::string parse_freeze(const pg::Rows& rows, Data& out);

}  // namespace pghealthd::collectors
