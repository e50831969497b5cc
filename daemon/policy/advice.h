// Autovacuum tuning advice (issue 16, part 2) as pure functions: from what was observed of a table — the
// dead-row ratio's peaks between its autovacuums, its size, its current settings — the reloptions that
// would keep it under a target dead ratio, with a sentence of reasoning and the exact ALTER TABLE and its
// undo. No I/O: the daemon records the history (bounded), `check` passes the lifetime counters instead,
// and the engine applies what this returns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/stats.h"

namespace pghealthd::policy {

using model::TableStats;

using model::Churn;

struct Advice {
  std::string schemaname, relname;
  double observed_peak = 0;  // the ratio the advice answers (the worst recent peak)
  // The reloptions to set; absent ones stay as they are.
  std::optional<double> vacuum_scale_factor;
  std::optional<double> analyze_scale_factor;
  std::optional<int> vacuum_cost_limit;
  std::string reasoning;  // one sentence, with the numbers
  std::string alter_sql;  // ALTER TABLE "s"."t" SET (...), names quoted
  std::string undo_sql;   // RESET (...) of what had no value of its own before, SET (old) of what had
};

struct AdviceSettings {
  double target_dead_ratio = 0.05;      // advice.target_dead_ratio
  double min_rows = 10000;              // smaller tables: the base threshold decides, no advice
  double min_scale_factor = 0.002;      // below this, triggering earlier cannot be the answer
};

// The advice for one table, or none: well tuned (peaks at or under the target), too small, autovacuum off
// for it (that is a different problem), a partitioned parent, or nothing stricter to suggest.
// `reloptions` is pg_class.reloptions as text ("" when none), for the undo.
[[nodiscard]] std::optional<Advice> advise(const TableStats& t, const Churn& churn, std::string_view reloptions,
                                           const AdviceSettings& settings = {});

}  // namespace pghealthd::policy
