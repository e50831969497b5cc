// stat_user_tables answers for unit tests, written as one row per table with the server's autovacuum
// settings on it, turned into the collector's shape: the settings once, in a row of scope 's' after the
// tables (so a table's row number in an error message stays its own), and scope 't' on every table.
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/rows.h"

namespace pghealthd::test {

inline pg::TextRows table_rows(std::vector<std::string> columns,
                               std::vector<std::vector<std::optional<std::string>>> rows) {
  static constexpr std::array<std::string_view, 10> kSettings{
      "av_on", "av_threshold", "av_scale_factor", "av_max_threshold", "av_insert_threshold",
      "av_insert_scale_factor", "av_analyze_threshold", "av_analyze_scale_factor", "av_cost_limit", "av_cost_delay"};
  std::vector<std::optional<std::string>> settings(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (std::find(kSettings.begin(), kSettings.end(), columns[c]) == kSettings.end()) continue;
    if (!rows.empty()) settings[c] = rows[0][c];
    for (auto& r : rows) r[c].reset();
  }
  columns.emplace_back("scope");
  for (auto& r : rows) r.emplace_back("t");
  settings.emplace_back("s");
  rows.push_back(std::move(settings));
  return pg::TextRows(std::move(columns), std::move(rows));
}

}  // namespace pghealthd::test
