// Autovacuum tuning advice (issue 16, part 2) as pure functions: from what was observed of a table — the
// dead-row ratio's peaks between its autovacuums, its size, its current settings — the reloptions that
// would keep it under a target dead ratio, with a sentence of reasoning and the exact ALTER TABLE and its
// undo. No I/O: the daemon records the history (bounded), `check` passes the lifetime counters instead,
// /advice renders it, and the maintenance engine applies it (tuning.apply) within its frame.
//
// What it may advise, in this order:
//  - an earlier start: a smaller autovacuum_vacuum_scale_factor (and a smaller autovacuum_vacuum_threshold
//    when the table's own base threshold alone passes the target), leaving room for the rows that die
//    while autovacuum gets to the table and runs (the peak's lag past the trigger);
//  - faster runs, when an earlier start cannot keep up (the lag alone passes the target): a higher
//    autovacuum_vacuum_cost_limit and a shorter autovacuum_vacuum_cost_delay, where they are not already so;
//  - autovacuum_analyze_scale_factor at half the vacuum's, where that is smaller than now;
//  - with may_relax only: a looser scale factor for a table whose own (a DBA's) setting vacuums it far more
//    often than needed (every recent peak under a quarter of the target). Without it, nothing is ever
//    looser than the table's current setting.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/stats.h"

namespace pghealthd::policy {

using model::TableStats;

using model::Churn;

struct Advice {
  std::string schemaname, relname;
  double observed_peak = 0;  // the ratio the advice answers (the worst recent peak)
  // The reloptions to set; absent ones stay as they are.
  std::optional<double> vacuum_scale_factor;
  std::optional<double> vacuum_threshold;
  std::optional<double> analyze_scale_factor;
  std::optional<int> vacuum_cost_limit;
  std::optional<double> vacuum_cost_delay_ms;
  bool relaxes = false;   // looser than the table's own setting (only with may_relax)
  std::string reasoning;  // one sentence, with the numbers
  // The table's own values (reloptions) of the keys set, restored by the undo; the others are RESET.
  std::map<std::string, double> previous;
  std::string alter_sql;  // ALTER TABLE "s"."t" SET (...), names quoted with libpq's rules
  std::string undo_sql;   // RESET (...) of what had no value of its own before, SET (old) of what had

  // The reloptions to set, as key and value text, in a fixed order.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> assignments() const;
};

struct AdviceSettings {
  double target_dead_ratio = 0.05;      // advice.target_dead_ratio
  double min_rows = 10000;              // smaller tables: the base threshold decides, no advice
  double min_scale_factor = 0.002;      // below this, triggering earlier cannot be the answer
  bool may_relax = false;               // tuning.may_relax
};

// advice.target_dead_ratio and tuning.may_relax.
[[nodiscard]] AdviceSettings advice_settings(const config::Advice& advice, const config::Tuning& tuning);

// The advice for one table, or none: well tuned (peaks at or under the target), too small, autovacuum off
// for it (that is a different problem), a partitioned parent, settings changed and no autovacuum since (the
// dead rows now are the old settings' doing), or nothing stricter to suggest.
// `reloptions` is pg_class.reloptions as text ("" when none), for the undo.
[[nodiscard]] std::optional<Advice> advise(const TableStats& t, const Churn& churn, std::string_view reloptions,
                                           const AdviceSettings& settings = {});

// The statements for a table whose schema-qualified name is already quoted (by a connection's
// PQescapeIdentifier in the engine, pg::quote_identifier for display): apply, and undo ("a; b" when some
// keys are reset and others restored).
[[nodiscard]] std::string alter_statement(const Advice& a, std::string_view quoted_table);
[[nodiscard]] std::string undo_statement(const Advice& a, std::string_view quoted_table);

// Whether `reloptions` (pg_class.reloptions as text, read back after the ALTER) holds every value the
// advice sets: the proof that it was applied.
[[nodiscard]] bool applied(const Advice& a, std::string_view reloptions);

}  // namespace pghealthd::policy
