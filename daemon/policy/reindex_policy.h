// REINDEX INDEX CONCURRENTLY of bloated btree indexes (reindex:), as pure functions: (the bloat collector's
// relations, the tables, settings, what pghealthd rebuilt lately, environment, now) -> which index is
// rebuilt and why the others wait; and which invalid indexes are leftovers of a failed concurrent rebuild.
// Like policy::decide, no I/O: the maintenance engine carries the answer out in its frame and proves it
// from the catalog (maintenance/outcome.h, classify_reindex).
//
// An index is a candidate when it is a valid btree index of a table pghealthd sees, its number (the exact
// reading when there is one, else the estimate; an unestimated index has none and is left alone) is at
// least min_bloat_ratio, and its size at least min_size_bytes. Partitioned indexes have no storage: their
// partitions' indexes are candidates of their own. For each candidate, the first that applies is the
// reason it waits:
//   excluded              a `vacuum.tables` rule excludes its table: pghealthd writes nothing to it
//   exclusion_constraint  it enforces an exclusion constraint, which REINDEX CONCURRENTLY cannot rebuild
//   cooldown              pghealthd rebuilt it (or tried) less than a day ago (by name: a rebuilt index
//                         has a new OID)
//   autovacuum_running    a vacuum of its table is running
//   outside_window        now is outside every reindex window
//   in_recovery           the server is a standby
//   not_leader            another pghealthd holds this database's lock
//   rate_limited          one REINDEX already runs on this target, or reindex.max_per_day is used up
//   dry_run               it would be rebuilt, but dry_run is on
// Candidates come first, the most wasted bytes first.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "model/bloat.h"
#include "model/stats.h"
#include "policy/vacuum_policy.h"

namespace pghealthd::policy {

inline constexpr std::chrono::hours kReindexCooldown{24};

// When pghealthd last rebuilt (or tried to rebuild) an index, by (schema, index name).
using ReindexHistory = std::map<std::pair<std::string, std::string>, TimePoint>;

// The number a decision uses: the exact reading when there is one, else the estimate; none when the
// estimate refused (BloatEstimate::unestimated) and nothing was read.
struct BloatNumber {
  double ratio = 0;
  double wasted_bytes = 0;
  std::string_view method;  // "exact" or "estimate"
};
[[nodiscard]] std::optional<BloatNumber> bloat_number(const model::RelationBloat& r);

// Whether an index is what a failed or cancelled REINDEX CONCURRENTLY leaves behind: invalid, and named
// <name>_ccnew[N] (the copy being built) or <name>_ccold[N] (the original, when the swap happened but
// its drop did not).
[[nodiscard]] bool is_reindex_leftover(std::string_view index_name, bool valid);

// `reindexed_last_day`: pghealthd's REINDEXes on this target in the last 24 hours.
[[nodiscard]] std::vector<Decision> decide_reindex(const std::vector<model::RelationBloat>& bloat,
                                                   const std::vector<model::TableStats>& tables,
                                                   const config::Reindex& cfg, const RuleSet& rules,
                                                   const ReindexHistory& history, const Environment& env,
                                                   int reindexed_last_day, TimePoint now);

}  // namespace pghealthd::policy
