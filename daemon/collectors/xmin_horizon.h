// Reads who holds the xmin horizon back in this database: open transactions, replication slots, prepared
// transactions and standbys with hot_standby_feedback. VACUUM cannot remove dead rows newer than the
// oldest of them; the vacuum engine names it when a vacuum leaves dead rows behind.
#pragma once

#include <string_view>

#include "pg/rows.h"
#include "model/stats.h"

namespace pghealthd::collectors {

extern const std::string_view kXminHorizonSql;

[[nodiscard]] pg::Parsed<model::HorizonHolder> parse_xmin_horizon(const pg::Rows& rows);

// The oldest holder (largest age in transactions), or nullptr when nothing holds the horizon.
[[nodiscard]] const model::HorizonHolder* oldest_holder(const std::vector<model::HorizonHolder>& holders);

}  // namespace pghealthd::collectors
