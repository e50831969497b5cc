#include "report/daemon_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "collectors/xmin_horizon.h"

namespace pghealthd::report {
namespace {

// The table sections whose non-OK rows are a table's problem, and the column each gives the attention
// list (none: the section only gives its reason).
struct Source {
  std::string_view title;
  std::string_view column;  // the source column ...
  std::size_t into;         // ... and the attention list's column it fills
};
constexpr std::string_view kAttentionTitle = "Tables that need attention";
constexpr std::string_view kAttentionColumns[] = {"table",   "dead %", "autovacuum due", "hit %",
                                                  "xid age", "bloat",  "status"};
constexpr Source kSources[] = {
    {"Dead tuples", "dead %", 1}, {"Autovacuum", "due", 2}, {"Cache hit ratio", "hit %", 3},
    {"Freeze age", "xid age", 4}, {"Bloat", "wasted %", 5}, {"Vacuum and analyze", "", 0},
    {"Autovacuum tuning", "", 0},
};

std::optional<std::size_t> column(const Section& s, std::string_view name) {
  const auto it = std::find(s.columns.begin(), s.columns.end(), name);
  if (it == s.columns.end()) return std::nullopt;
  return static_cast<std::size_t>(it - s.columns.begin());
}

// Bloat lists indexes too: only its table rows (index "-") are the table's.
bool is_table_row(const Section& s, const Row& row) {
  const auto index = column(s, "index");
  return !index || (*index < row.cells.size() && row.cells[*index] == "-");
}

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
    const double share = static_cast<double>(h->age_transactions) / 2147483648.0;
    row.status = share >= t.wraparound_critical               ? Status::kCritical
                 : share >= t.wraparound_warning || long_held ? Status::kWarning
                                                              : Status::kOk;
    const std::string remedy =
        h->source == "replication_slot"       ? "drop or advance the slot"
        : h->source == "prepared_transaction" ? "COMMIT PREPARED or ROLLBACK PREPARED it"
        : h->source == "standby"              ? "see the standby's longest query (hot_standby_feedback)"
                                              : "end the transaction (pg_terminate_backend)";
    row.note =
        share >= t.wraparound_warning
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

Section attention_section(const std::vector<Section>& sections) {
  struct Table {
    Status status = Status::kOk;
    std::vector<std::string> cells;
    std::vector<std::string> reasons;
    std::size_t order = 0;  // first seen: ties keep the sections' own worst-first order
  };
  std::unordered_map<std::string, Table> tables;
  std::vector<std::string> server;
  for (const auto& src : kSources)
    for (const auto& s : sections) {
      if (s.title != src.title) continue;
      for (const auto& row : s.rows) {
        if (row.status == Status::kOk || row.cells.empty() || !is_table_row(s, row)) continue;
        // "(server)", "(database app)": not a table; said below the list, so it stays at the top of the page.
        if (row.cells[0].rfind('(', 0) == 0) {
          server.push_back(row.cells[0] + " " + s.title + ": " + row.note);
          continue;
        }
        auto [it, added] = tables.try_emplace(row.cells[0]);
        if (added) it->second.order = tables.size();
        it->second.status = std::max(it->second.status, row.status);
        it->second.reasons.push_back(s.title + ": " + row.note);
      }
    }
  for (auto& [table, entry] : tables) entry.cells.assign(std::size(kAttentionColumns), "-");
  // Each listed table's numbers, from whichever row of each section names it (OK or not).
  for (const auto& src : kSources) {
    if (src.column.empty()) continue;
    for (const auto& s : sections) {
      if (s.title != src.title) continue;
      const auto col = column(s, src.column);
      if (!col) continue;
      for (const auto& row : s.rows) {
        if (row.cells.size() <= *col || !is_table_row(s, row)) continue;
        auto it = tables.find(row.cells[0]);
        if (it != tables.end() && it->second.cells[src.into] == "-")
          it->second.cells[src.into] = row.cells[*col];
      }
    }
  }
  std::vector<std::pair<std::string, Table>> sorted(std::make_move_iterator(tables.begin()),
                                                    std::make_move_iterator(tables.end()));
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.second.status != b.second.status) return a.second.status > b.second.status;
    if (a.second.reasons.size() != b.second.reasons.size())
      return a.second.reasons.size() > b.second.reasons.size();
    return a.second.order < b.second.order;
  });
  Section out;
  out.title = std::string(kAttentionTitle);
  out.columns.assign(std::begin(kAttentionColumns), std::end(kAttentionColumns));
  for (auto& [table, entry] : sorted) {
    Row row;
    row.status = entry.status;
    row.cells = std::move(entry.cells);
    row.cells.front() = table;
    row.cells.back() = std::string(name(entry.status));
    for (std::size_t i = 0; i < entry.reasons.size(); ++i) row.note += (i ? "; " : "") + entry.reasons[i];
    out.rows.push_back(std::move(row));
  }
  out.footnotes = std::move(server);
  return out;
}

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
    row.cells = {span(now_unix - e.at_unix) + " ago",
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
  first.push_back(attention_section(r.sections));
  if (view.vacuums || view.running) {
    static const std::vector<model::VacuumProgress> kNone;
    first.push_back(
        running_section(view.vacuums ? view.vacuums->vacuums : kNone, view.running, view.now_unix));
  }
  if (view.horizon) first.push_back(horizon_section(view.horizon->horizon, t));
  if (view.log) first.push_back(log_section(*view.log, view.now_unix));
  r.sections.insert(r.sections.begin(), std::make_move_iterator(first.begin()),
                    std::make_move_iterator(first.end()));
}

}  // namespace pghealthd::report
