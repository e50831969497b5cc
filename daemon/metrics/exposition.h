// Snapshot -> Prometheus text exposition (format 0.0.4).
//
// Per-table series are rendered once per collection into Fragments (sample lines grouped by family), not
// per scrape: at 10,000 tables that is ~300,000 series, which prometheus-cpp's per-series objects would
// hold at several times the memory. A scrape only concatenates fragments under each family's header.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/catalog.h"
#include "model/stats.h"

namespace pghealthd::metrics {

// Sample lines (without HELP/TYPE) for each family that one collection produced.
struct Fragments {
  std::array<std::string, kFamilyCount> lines;
  [[nodiscard]] std::size_t bytes() const;
};

// Appends `v` escaped for a label value: backslash, double quote and newline.
void append_escaped(std::string& out, std::string_view v);
// Appends a sample value: integers exactly, doubles in shortest round-trip form.
void append_value(std::string& out, std::int64_t v);
void append_value(std::string& out, double v);

[[nodiscard]] Fragments render_tables(std::string_view target, std::string_view datname,
                                      const std::vector<model::TableStats>& rows);
[[nodiscard]] Fragments render_table_io(std::string_view target, std::string_view datname,
                                        const std::vector<model::TableIo>& rows);
[[nodiscard]] Fragments render_indexes(std::string_view target, std::string_view datname,
                                       const std::vector<model::IndexStats>& rows);

[[nodiscard]] Fragments render_horizon(std::string_view target, std::string_view datname,
                                       const std::vector<model::HorizonHolder>& holders);

// Writes every family that has samples in `parts`: its HELP and TYPE once, then the samples of each part.
void write_families(std::string& out, const std::vector<const Fragments*>& parts);

}  // namespace pghealthd::metrics
