#include "report/daemon_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "collectors/xmin_horizon.h"
#include "report/attention.h"

namespace pghealthd::report {
namespace {

Section horizon_section(const std::vector<model::HorizonHolder>& holders, const Thresholds& t) {
  Section s;
  s.title = "xmin horizon";
  s.columns = {"source", "holder", "age (transactions)", "held for", "status"};
  std::vector<const model::HorizonHolder*> sorted;
  for (const auto& h : holders) sorted.push_back(&h);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->age_transactions > b->age_transactions; });
  for (const auto* h : sorted) {
    Row row;
    const bool long_held = h->age_seconds && *h->age_seconds > t.horizon_age_warning_seconds;
    // Held back this far, it holds back freezing too: the server nears wraparound whatever VACUUM does.
    const double share = wraparound_share(h->age_transactions);
    const auto wraparound = wraparound_status(share, t);
    row.status = std::max(wraparound, long_held ? Status::kWarning : Status::kOk);
    const std::string remedy =
        h->source == "replication_slot"       ? "drop or advance the slot"
        : h->source == "prepared_transaction" ? "COMMIT PREPARED or ROLLBACK PREPARED it"
        : h->source == "standby"              ? "see the standby's longest query (hot_standby_feedback)"
                                              : "end the transaction (pg_terminate_backend)";
    row.note =
        wraparound != Status::kOk
            ? fmt::format(
                  "{:.0f}% of the way to transaction ID wraparound: no table can be frozen past it; {}",
                  100 * share, remedy)
        : long_held ? fmt::format("held for more than {}: VACUUM cannot remove the rows deleted since; {}",
                                  span(t.horizon_age_warning_seconds), remedy)
                    : "dead rows newer than its snapshot cannot be removed while it lasts";
    row.cells = {h->source, h->holder, std::to_string(h->age_transactions),
                 h->age_seconds ? span(*h->age_seconds) : "unknown", std::string(name(row.status))};
    s.rows.push_back(std::move(row));
  }
  return s;
}

// The VACUUMs in progress, and pghealthd's own action when the progress view does not show it (a REINDEX,
// an ALTER TABLE, or a VACUUM that began after the view was read).
Section running_section(const std::vector<model::VacuumProgress>& vacuums, const model::LogEntry* ours,
                        double now_unix) {
  Section s;
  s.title = "Running now";
  s.columns = {"table", "by", "phase", "scanned", "running for", "status"};
  if (ours) {
    const auto table = table_name(ours->schema, ours->table);
    const bool shown = std::any_of(vacuums.begin(), vacuums.end(), [&](const model::VacuumProgress& v) {
      return v.by == "pghealthd" && table_name(v.schemaname, v.relname) == table;
    });
    if (!shown || !ours->index.empty()) {
      Row row;
      row.note = "pghealthd's " + ours->action + (ours->index.empty() ? "" : " of index " + ours->index);
      row.cells = {table,
                   "pghealthd",
                   ours->action,
                   "-",
                   span(now_unix - ours->at_unix),
                   std::string(name(row.status))};
      s.rows.push_back(std::move(row));
    }
  }
  for (const auto& v : vacuums) {
    Row row;
    const auto ratio = model::vacuum_progress_ratio(v.heap_blks_total, v.heap_blks_scanned);
    row.note = fmt::format("VACUUM, backend pid {}", v.pid);
    row.cells = {table_name(v.schemaname, v.relname),
                 v.by,
                 v.phase,
                 ratio ? fmt::format("{:.0f}%", 100 * *ratio) : "-",
                 v.running_seconds ? span(*v.running_seconds) : "-",
                 std::string(name(row.status))};
    s.rows.push_back(std::move(row));
  }
  return s;
}

}  // namespace

Section log_section(const model::ActionLog& log, double now_unix) {
  Section s;
  s.title = "Maintenance log";
  s.columns = {"when", "table", "action", "result", "seconds", "rows removed", "status"};
  s.chronological = true;
  const auto& entries = log.entries();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const auto& e = *it;
    Row row;
    // What proves nothing or went wrong; a skip, a dry run, a yield or a lock taken by someone else is the
    // engine doing its job.
    static constexpr std::string_view kFine[] = {
        "success", "skipped", "dry_run", "cancelled", "lock_not_available", "dropped"};
    row.status = std::find(std::begin(kFine), std::end(kFine), e.result) != std::end(kFine)
                     ? Status::kOk
                     : Status::kWarning;
    row.note = e.reason;
    std::string table = table_name(e.schema, e.table);
    if (!e.index.empty()) table += " (index " + e.index + ")";
    row.cells = {age(e.at_unix, now_unix),
                 std::move(table),
                 e.action,
                 e.result,
                 e.seconds ? fmt::format("{:.3f}", *e.seconds) : "-",
                 e.removed ? std::to_string(*e.removed) : "-",
                 std::string(name(row.status))};
    s.rows.push_back(std::move(row));
  }
  if (s.rows.empty()) s.footnotes.push_back("no maintenance action taken or skipped yet");
  return s;
}

void attach_history(DatabaseReport& r, const DaemonView& view) {
  if (!view.history || !view.tables) return;
  // The listed rows by the table's name as the rows write it (a name may be in both sections).
  std::unordered_multimap<std::string_view, Row*> listed;
  for (auto& s : r.sections)
    if (s.title == kAttentionTitle || s.title == "Dead tuples")
      for (auto& row : s.rows)
        if (!row.cells.empty()) listed.emplace(row.cells[0], &row);
  if (listed.empty()) return;
  for (const auto& tbl : view.tables->tables) {
    const auto name = table_name(tbl.schemaname, tbl.relname);
    const auto [from, to] = listed.equal_range(name);
    if (from == to) continue;
    const auto series = view.history->series(tbl.relid, view.now_unix);
    for (auto it = from; it != to; ++it) it->second->history = series;
  }
}

void add_daemon_view(DatabaseReport& r, const DaemonView& view, const Thresholds& t) {
  r.reachable = view.up;
  r.collectors = view.collectors;
  if (!view.up && !view.down_reason.empty() && r.error.empty()) r.error = "unreachable: " + view.down_reason;

  std::vector<Section> first;
  if (view.vacuums || view.running) {
    static const std::vector<model::VacuumProgress> kNone;
    first.push_back(
        running_section(view.vacuums ? view.vacuums->vacuums : kNone, view.running, view.now_unix));
  }
  if (view.horizon) first.push_back(horizon_section(view.horizon->horizon, t));
  if (view.log) first.push_back(log_section(*view.log, view.now_unix));
  // After the attention list (report::build's, when it was asked for one).
  const auto at =
      r.sections.begin() + (!r.sections.empty() && r.sections.front().title == kAttentionTitle ? 1 : 0);
  r.sections.insert(at, std::make_move_iterator(first.begin()), std::make_move_iterator(first.end()));
}

}  // namespace pghealthd::report
