// Snapshot -> Prometheus text exposition (format 0.0.4).
//
// Per-table series are rendered once per collection into Fragments (sample lines grouped by family), not
// per scrape: at 10,000 tables that is ~300,000 series and ~35 MB of text, which prometheus-cpp's
// per-series objects would hold at several times the memory. The text is compressed while it is rendered
// (FragmentsWriter), a small buffer at a time, and only the compressed pieces are kept: a gzip scrape
// sends them as they are, a plain scrape inflates them while it writes (base::BodyReader).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/pattern.h"

#include "base/gzip.h"
#include "metrics/catalog.h"
#include "model/bloat.h"
#include "model/stats.h"

namespace pghealthd::metrics {

// Sample lines (without HELP/TYPE) for each family that one collection produced, compressed.
struct Fragments {
  // Each family's lines as pieces of about FragmentsWriter::kChunkBytes of text, every piece whole lines.
  std::array<base::DeflatedText, kFamilyCount> lines;
  std::size_t series = 0;   // sample lines in `lines`
  std::size_t per_database = 0;  // of `series`: per-database samples, never cut nor counted by the budget
  std::size_t dropped = 0;  // series left out to stay within the series budget (SeriesFilter::allowance)
  // Length of all the text, uncompressed (what a plain scrape sends of it), and what it takes in memory.
  [[nodiscard]] std::size_t bytes() const;
  [[nodiscard]] std::size_t compressed_bytes() const;
  // A family's lines as text, inflated: for tests and fuzzing, never for a scrape.
  [[nodiscard]] std::string text(Family family) const;
};

// Appends `v` escaped for a label value: backslash, double quote and newline.
void append_escaped(std::string& out, std::string_view v);
// Appends a sample value: integers exactly, doubles in shortest round-trip form.
void append_value(std::string& out, std::int64_t v);
void append_value(std::string& out, double v);

// Cardinality controls (config `cardinality:`): which tables get per-table and per-index series, and how
// many series one collection may render. The default keeps everything.
struct SeriesFilter {
  std::vector<config::Pattern> include_schemas, exclude_schemas, include_tables, exclude_tables;
  std::int64_t min_table_size_bytes = 0;
  // Table sizes for the views without a size column (from the database's last stat_user_tables run),
  // keyed by key(): for min_table_size_bytes, and to rank tables the same way in every view.
  std::unordered_map<std::string, std::int64_t> table_sizes;

  // The target's series budget, and what the target's other current snapshots export and would export
  // without it. A run over budget gets its fair share, budget * wanted / (others_wanted + wanted), but
  // never more than others leave: the target never goes over, and after one cycle every view keeps the
  // same fraction of its series, the largest tables first. What is left out is counted in
  // Fragments::dropped.
  static constexpr std::size_t kNoBudget = std::numeric_limits<std::size_t>::max();
  std::size_t budget = kNoBudget;
  std::size_t others_exported = 0;
  std::size_t others_wanted = 0;

  // Bytes per family of the same collector's previous run (0: unknown): a hint for the writer's buffers
  // (FragmentsWriter), so a family that filled them last time does not grow its buffer by doubling.
  std::array<std::size_t, kFamilyCount> expected_bytes{};

  // Whether the freeze collector renders the per-database ages: they list every database of the server,
  // so only one database watch of a target does (app/target_watch.h), lest the series repeat.
  bool database_rows = true;

  // The target's constant labels (targets[].labels) as `,name="value"` pairs, values escaped
  // (constant_labels_block): every series of the target carries them after `target`.
  std::string constant_labels;

  // Index unusedness: how old the statistics must be to judge (indexes.unused_min_stats_age).
  double unused_min_stats_age_seconds = 7 * 86400.0;

  [[nodiscard]] bool keeps(std::string_view schema, std::string_view table,
                           std::optional<std::int64_t> size_bytes = std::nullopt) const;
  // How many of `wanted` series this run may render.
  [[nodiscard]] std::size_t allowance(std::size_t wanted) const;
  [[nodiscard]] std::int64_t size_of(std::string_view schema, std::string_view table) const;
  [[nodiscard]] static std::string key(std::string_view schema, std::string_view table);
};

// Renders sample lines into Fragments in bounded memory: each family's text goes to a small buffer that
// is compressed into a piece of Fragments::lines when it holds kChunkBytes or more, and at the end. So no
// family's whole text is ever held, compressed or not.
//
// Samples are added a row (a table, an index) at a time: end_row() keeps the row's samples, drop_row()
// takes them back (a row that would go over the series budget). Buffers are only compressed in
// end_row(), so a row can always be taken back. Not thread-safe.
class FragmentsWriter {
 public:
  static constexpr std::size_t kChunkBytes = 64 * 1024;
  // `expected`: each family's text in the previous run (SeriesFilter::expected_bytes), 0 if unknown.
  explicit FragmentsWriter(const std::array<std::size_t, kFamilyCount>& expected = {},
                           std::size_t chunk_bytes = kChunkBytes);

  // The buffer to append one whole sample line of `family` to; counts the sample.
  [[nodiscard]] std::string& sample(Family family, bool per_database = false);
  // Keeps the samples added since the last end_row() or drop_row(), compressing full buffers.
  void end_row();
  // Takes back the samples added since the last end_row() or drop_row().
  void drop_row();
  // Samples kept and added so far.
  [[nodiscard]] std::size_t series() const { return series_; }
  void set_dropped(std::size_t n) { dropped_ = n; }
  // Keeps the last row and compresses what is left in the buffers.
  [[nodiscard]] Fragments finish() &&;

 private:
  void flush(std::size_t family);
  std::size_t chunk_;
  base::Deflater deflater_;
  std::array<std::string, kFamilyCount> buffers_;
  std::array<std::size_t, kFamilyCount> kept_{};  // each buffer's length at the last end_row()
  std::array<base::DeflatedText, kFamilyCount> text_;
  std::size_t series_ = 0, kept_series_ = 0;
  std::size_t per_database_ = 0, kept_per_database_ = 0;
  std::size_t dropped_ = 0;
};

[[nodiscard]] Fragments render_tables(std::string_view target, std::string_view datname,
                                      const std::vector<model::TableStats>& rows, const SeriesFilter& filter = {});
[[nodiscard]] Fragments render_table_io(std::string_view target, std::string_view datname,
                                        const std::vector<model::TableIo>& rows, const SeriesFilter& filter = {});
// Per-index series (filtered and cut like the per-table ones), judged unused against `statistics` (the
// database's stats reset), whose reset time is also rendered (never cut).
[[nodiscard]] Fragments render_indexes(std::string_view target, std::string_view datname,
                                       const std::vector<model::IndexStats>& rows,
                                       const std::optional<model::DatabaseStatistics>& statistics = std::nullopt,
                                       const SeriesFilter& filter = {});

// Per-table and per-index bloat (filtered and cut like the other per-table series, the most wasted bytes
// kept first): method="estimate" where the statistics allow one, method="exact" where a reading of
// pgstattuple exists, both when both do. Per database, never cut: the count of relations without an
// estimate by reason, and, when `exact` is known (bloat.exact on), whether exact readings are available.
[[nodiscard]] Fragments render_bloat(std::string_view target, std::string_view datname,
                                     const std::vector<model::RelationBloat>& relations,
                                     std::optional<model::ExactAvailability> exact = std::nullopt,
                                     const SeriesFilter& filter = {});
// One used ratio per readable sequence (schema filters apply; over budget, the nearest to their limit are
// kept), and the count of unreadable ones (never cut).
[[nodiscard]] Fragments render_sequences(std::string_view target, std::string_view datname,
                                         const std::vector<model::SequenceState>& sequences,
                                         const SeriesFilter& filter = {});

// `labels` as `,name="value"` pairs, values escaped, for SeriesFilter::constant_labels.
[[nodiscard]] std::string constant_labels_block(const std::vector<std::pair<std::string, std::string>>& labels);

// A handful of series per database: never filtered or cut.
[[nodiscard]] Fragments render_horizon(std::string_view target, std::string_view datname,
                                       const std::vector<model::HorizonHolder>& holders,
                                       const SeriesFilter& filter = {});

// One sample per running vacuum and family: never filtered or cut (a handful at most per database), and
// nothing at all when no vacuum runs.
[[nodiscard]] Fragments render_vacuum_progress(std::string_view target, std::string_view datname,
                                               const std::vector<model::VacuumProgress>& vacuums,
                                               const SeriesFilter& filter = {});

// Per-table freeze ages (filtered and cut like the other per-table series) and, when
// filter.database_rows, every database's ages (never cut; one watch per target renders them).
[[nodiscard]] Fragments render_freeze(std::string_view target, std::string_view datname,
                                      const std::vector<model::FreezeAge>& tables,
                                      const std::vector<model::DatabaseAge>& databases,
                                      const SeriesFilter& filter = {});

// Every family that has samples in `parts`, in catalog order: its HELP and TYPE once, then the samples of
// each part. `header(family)` and `lines(part, family)` receive the pieces in output order; nothing is
// copied or inflated, so a scrape can send the snapshots' own pieces (Store::body).
template <typename Header, typename Lines>
void for_each_family(const std::vector<const Fragments*>& parts, Header&& header, Lines&& lines) {
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    bool any = false;
    for (const auto* p : parts) any = any || !p->lines[i].empty();
    if (!any) continue;
    header(i);
    for (const auto* p : parts)
      if (!p->lines[i].empty()) lines(*p, i);
  }
}

// The HELP and TYPE lines of a family, rendered once.
[[nodiscard]] const std::string& family_header(std::size_t family);
[[nodiscard]] const base::Deflated& family_header_deflated(std::size_t family);

// Appends every family that has samples in `parts` (see for_each_family) to `out`, inflated: the text a
// plain scrape sends of them (tests, fuzzing).
void write_families(std::string& out, const std::vector<const Fragments*>& parts);

}  // namespace pghealthd::metrics
