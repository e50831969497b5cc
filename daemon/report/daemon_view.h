// What only the running daemon knows, added to a database's health report for the health page (GET /) and
// /status.json: whether the database is reachable and each collector's last success, what maintenance runs
// now, the maintenance log, who holds the xmin horizon back, and each listed table's dead ratio over the
// last hour. Pure: built from what the metrics store keeps (metrics::Store::databases) and `now`. The daemon
// builds the report itself with Thresholds::attention_list (report/attention.h) and ok_rows_kept; then
// add_daemon_view, limit_rows and attach_history (app/app.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "model/action_log.h"
#include "model/dead_ratio_history.h"
#include "report/health_report.h"

namespace pghealthd::report {

struct DaemonView {
  double now_unix = 0;
  bool up = false;
  std::string down_reason;  // why it is unreachable; "" while it is reachable or was never tried
  std::vector<DatabaseReport::Collector> collectors;  // the enabled ones
  const model::ActionLog* log = nullptr;              // null: no maintenance engine ever logged
  const model::LogEntry* running = nullptr;           // the engine's action running now, if any
  const model::DeadRatioHistory* history = nullptr;
  const collectors::Data* tables = nullptr;   // stat_user_tables: which relid a listed table is
  const collectors::Data* horizon = nullptr;  // xmin_horizon
  const collectors::Data* vacuums = nullptr;  // vacuum_progress
};

// Adds the view to `r` (built by report::build from the same snapshots): reachability and collectors, then,
// after its attention list (first) and before its other sections, "Running now", "xmin horizon" and
// "Maintenance log" (the short ones first: the log may be a hundred rows).
void add_daemon_view(DatabaseReport& r, const DaemonView& view, const Thresholds& t);
// Each listed row of "Tables that need attention" and "Dead tuples" gets its table's dead ratio over the
// last hour. Call after limit_rows: only the rows listed are looked up (60 readings each).
void attach_history(DatabaseReport& r, const DaemonView& view);

// The maintenance log, newest first; a result that proves nothing or failed is a warning.
[[nodiscard]] Section log_section(const model::ActionLog& log, double now_unix);

}  // namespace pghealthd::report
