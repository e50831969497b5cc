// libFuzzer target: the bytes as a small result table, run through every collector's parser and renderer.
//
// Format: lines split on '\n'; the first line is the column names, each further line a row; fields split
// on '\t'; a field "\N" is SQL NULL (as in COPY's text format). A trailing '\n' ends the last row.
// A collector must turn any table into a Snapshot or an error, never crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "pg/rows.h"
#include "collectors/xmin_horizon.h"
#include "metrics/exposition.h"
#include "metrics/snapshot.h"

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

pghealthd::pg::TextRows to_rows(std::string_view text) {
  auto lines = split(text, '\n');
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();
  std::vector<std::string> columns;
  for (auto c : split(lines.front(), '\t')) columns.emplace_back(c);
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::optional<std::string>> row;
    for (auto f : split(lines[i], '\t')) {
      if (f == "\\N")
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(f));
    }
    rows.push_back(std::move(row));
  }
  return {std::move(columns), std::move(rows)};
}

[[noreturn]] void broken(std::string_view collector, const char* what) {
  std::fprintf(stderr, "fuzz_rows: %.*s: %s\n", static_cast<int>(collector.size()), collector.data(), what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pghealthd;
  const auto rows = to_rows(std::string_view(reinterpret_cast<const char*>(data), size));
  for (const auto& def : collectors::all()) {
    const auto outcome = metrics::process(def.kind, rows, "fuzz\"target\\\n", "db", pghealthd::metrics::SeriesFilter{});
    if (!outcome.snapshot) {
      if (outcome.error.empty()) broken(def.name, "no snapshot and no error");
      continue;
    }
    if (!outcome.error.empty()) broken(def.name, "a snapshot and an error");
    // Some input rows are not rows of their own: stat_user_tables' settings row, statio_user_tables' index
    // rows (summed into their table's), stat_user_indexes' database row. None is ever made up.
    if (outcome.rows > static_cast<std::size_t>(rows.size())) broken(def.name, "more rows than the input has");
    const auto& snap = *outcome.snapshot;
    // What a scrape does with it.
    std::string exposition;
    metrics::write_families(exposition, {&snap.series});
    if (def.kind == collectors::Kind::kXminHorizon) (void)collectors::oldest_holder(snap.horizon);
    for (const auto& t : snap.tables) {
      (void)model::dead_tuple_ratio(t.live_tuples, t.dead_tuples);
      (void)model::autovacuum_due_ratio(t);
    }
    // A light run over the same bytes, updating what this one read: it keeps the rows it knows or asks
    // for a full run, and never adds any.
    if (def.parse_light) {
      const auto light = metrics::parse(def.kind, rows, {}, static_cast<const collectors::Data&>(snap));
      if (!light.snapshot && light.error.empty()) broken(def.name, "light: no snapshot and no error");
      if (light.snapshot && !light.snapshot->needs_full_run &&
          collectors::rows_of(def.kind, *light.snapshot) != outcome.rows)
        broken(def.name, "light: another number of rows than it knew");
    }
  }
  return 0;
}
