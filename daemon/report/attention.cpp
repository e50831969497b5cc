#include "report/attention.h"

#include <algorithm>
#include <optional>

namespace pghealthd::report {
namespace {

// The table sections whose non-OK rows are a table's problem, in the order their reasons are listed, and
// the column each gives the attention list (none: the section only gives its reason).
struct Source {
  std::string_view title;
  std::string_view column;  // the source column ...
  std::size_t into;         // ... and the attention list's column it fills
};
constexpr std::string_view kColumnNames[] = {"table",   "dead %", "autovacuum due", "hit %",
                                             "xid age", "bloat",  "status"};
constexpr Source kSources[] = {
    {"Dead tuples", "dead %", 1}, {"Autovacuum", "due", 2}, {"Cache hit ratio", "hit %", 3},
    {"Freeze age", "xid age", 4}, {"Bloat", "wasted %", 5}, {"Vacuum and analyze", "", 0},
    {"Autovacuum tuning", "", 0},
};

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::optional<std::size_t> column(const Section& s, std::string_view name) {
  const auto it = std::find(s.columns.begin(), s.columns.end(), name);
  if (it == s.columns.end()) return std::nullopt;
  return static_cast<std::size_t>(it - s.columns.begin());
}

}  // namespace

void Attention::add(const Section& full) {
  std::vector<const Row*> rows;
  rows.reserve(full.rows.size());
  for (const auto& row : full.rows) rows.push_back(&row);
  add(full, rows);
}

void Attention::add(const Section& s, const std::vector<const Row*>& rows) {
  const auto* src = std::find_if(std::begin(kSources), std::end(kSources),
                                 [&](const Source& x) { return x.title == s.title; });
  if (src == std::end(kSources)) return;
  const auto source = static_cast<std::size_t>(src - std::begin(kSources));
  // Bloat lists indexes too: only its table rows (index "-") are the table's.
  const std::size_t index = column(s, "index").value_or(kNone);
  const std::size_t number = src->column.empty() ? kNone : column(s, src->column).value_or(kNone);
  if (number != kNone) numbers_.reserve(rows.size());
  for (const auto* r : rows) {
    const auto& row = *r;
    if (row.cells.empty() || (index != kNone && (index >= row.cells.size() || row.cells[index] != "-")))
      continue;
    const auto& table = row.cells[0];
    if (number < row.cells.size()) {
      auto& cells = numbers_[table];
      if (cells[src->into].empty()) cells[src->into] = row.cells[number];
    }
    if (row.status == Status::kOk) continue;
    // "(server)", "(database app)": not a table; said below the list, so it stays at the top of the page.
    if (table.rfind('(', 0) == 0) {
      server_.push_back({source, table + " " + s.title + ": " + row.note});
      continue;
    }
    auto [it, added] = flagged_.try_emplace(table);
    if (added) it->second.order = flagged_.size();
    it->second.status = std::max(it->second.status, row.status);
    it->second.reasons.push_back({source, s.title + ": " + row.note});
  }
}

Section Attention::section() const {
  std::vector<std::pair<const std::string*, const Table*>> sorted;
  sorted.reserve(flagged_.size());
  for (const auto& [table, entry] : flagged_) sorted.emplace_back(&table, &entry);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.second->status != b.second->status) return a.second->status > b.second->status;
    if (a.second->reasons.size() != b.second->reasons.size())
      return a.second->reasons.size() > b.second->reasons.size();
    return a.second->order < b.second->order;
  });
  const auto in_order = [](std::vector<Reason> reasons) {
    std::stable_sort(reasons.begin(), reasons.end(),
                     [](const Reason& a, const Reason& b) { return a.source < b.source; });
    return reasons;
  };
  Section out;
  out.title = std::string(kAttentionTitle);
  out.columns.assign(std::begin(kColumnNames), std::end(kColumnNames));
  for (const auto& [table, entry] : sorted) {
    Row row;
    row.status = entry->status;
    row.cells.assign(kColumns, "-");
    if (const auto it = numbers_.find(*table); it != numbers_.end())
      for (std::size_t c = 1; c + 1 < kColumns; ++c)
        if (!it->second[c].empty()) row.cells[c] = it->second[c];
    row.cells.front() = *table;
    row.cells.back() = std::string(name(entry->status));
    const auto reasons = in_order(entry->reasons);
    for (std::size_t i = 0; i < reasons.size(); ++i) row.note += (i ? "; " : "") + reasons[i].text;
    out.rows.push_back(std::move(row));
  }
  for (const auto& r : in_order(server_)) out.footnotes.push_back(r.text);
  return out;
}

Section attention_section(const std::vector<Section>& sections) {
  Attention a;
  for (const auto& s : sections) a.add(s);
  return a.section();
}

}  // namespace pghealthd::report
