#include "metrics/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/clock.h"

namespace pghealthd::metrics {
namespace {

// Builds `name{fixed labels` once per row; each sample appends its own extra label, value and newline.
class Row {
 public:
  // A database's row: target, the target's constant labels (already rendered), datname.
  Row(std::string_view target, std::string_view constant, std::string_view datname) {
    labels_.reserve(96);
    labels_ += "{target=\"";
    append_escaped(labels_, target);
    labels_ += '"';
    labels_ += constant;
    label("datname", datname);
  }
  // A table's or an index's row.
  Row(std::string_view target, std::string_view constant, std::string_view datname, std::string_view schema,
      std::string_view rel, std::string_view index = {})
      : Row(target, constant, datname) {
    label("schemaname", schema);
    label("relname", rel);
    if (!index.empty()) label("indexrelname", index);
  }

  // Adds a label to every sample of the row; `value` is escaped (it may come from the server).
  void label(std::string_view key, std::string_view value) {
    labels_ += ',';
    labels_ += key;
    labels_ += "=\"";
    append_escaped(labels_, value);
    labels_ += '"';
  }

  // The whole "{...} " label block, for a per-database sample (append_sample).
  [[nodiscard]] std::string block() const { return labels_ + "} "; }

  // `value`: a std::optional or a model::Nullable.
  template <typename Maybe>
  void add(FragmentsWriter& w, Family family, const Maybe& value, std::string_view extra_key = {},
           std::string_view extra_value = {}) const {
    if (!value) return;  // NULL in the view: the series is absent
    std::string& out = w.sample(family);
    out += info(family).name;
    out += labels_;
    if (!extra_key.empty()) {
      out += ',';
      out += extra_key;
      out += "=\"";
      out += extra_value;  // only our own constants here, never data
      out += '"';
    }
    out += "} ";
    append_value(out, *value);
    out += '\n';
  }

 private:
  std::string labels_;
};

// Appends one sample of a per-database series, a row of its own: the family's name, `labels` (a whole
// "{...} " block, values already escaped), the value. Absent values add nothing.
template <typename Maybe>  // a std::optional or a model::Nullable
void append_sample(FragmentsWriter& w, Family family, std::string_view labels, const Maybe& value) {
  if (!value) return;
  std::string& out = w.sample(family, true);
  out += info(family).name;
  out += labels;
  append_value(out, *value);
  out += '\n';
  w.end_row();
}

// The "{...} " label block of a per-database series: the row of the database, then `key` = one of our own
// constant values when given.
std::string database_labels(std::string_view target, std::string_view constant, std::string_view datname,
                            std::string_view key = {}, std::string_view value = {}) {
  Row row(target, constant, datname);
  if (!key.empty()) row.label(key, value);
  return row.block();
}

// Renders the rows the filter keeps; if they come to more series than the filter allows, renders again
// the most significant first (by `priority`, descending) until the next row would not fit. The caller may
// add per-database samples, then finishes the writer.
template <typename T, typename Keep, typename Priority, typename RenderRow>
FragmentsWriter render_rows(const std::vector<T>& rows, const SeriesFilter& filter, Keep keep, Priority priority,
                            RenderRow render_row) {
  std::vector<const T*> kept;
  kept.reserve(rows.size());
  for (const auto& r : rows)
    if (keep(r)) kept.push_back(&r);
  std::size_t wanted = 0;
  {
    FragmentsWriter all(filter.expected_bytes);
    for (const auto* r : kept) {
      render_row(all, *r);
      all.end_row();
    }
    wanted = all.series();
    if (wanted <= filter.allowance(wanted)) return all;
  }  // what went over the budget goes before it is rendered again
  const std::size_t allowed = filter.allowance(wanted);
  std::stable_sort(kept.begin(), kept.end(), [&](const T* a, const T* b) { return priority(*a) > priority(*b); });
  FragmentsWriter cut(filter.expected_bytes);
  for (const auto* r : kept) {
    render_row(cut, *r);
    if (cut.series() > allowed) {
      cut.drop_row();
      break;
    }
    cut.end_row();
  }
  cut.set_dropped(wanted - cut.series());
  return cut;
}

}  // namespace

std::string SeriesFilter::key(std::string_view schema, std::string_view table) {
  std::string k;
  k.reserve(schema.size() + table.size() + 1);
  k += schema;
  k += '\0';
  k += table;
  return k;
}

std::int64_t SeriesFilter::size_of(std::string_view schema, std::string_view table) const {
  if (table_sizes.empty()) return 0;
  const auto it = table_sizes.find(key(schema, table));
  return it == table_sizes.end() ? 0 : it->second;
}

bool SeriesFilter::keeps(std::string_view schema, std::string_view table,
                         std::optional<std::int64_t> size_bytes) const {
  if (!config::selected(schema, include_schemas, exclude_schemas)) return false;
  if (!config::selected(table, include_tables, exclude_tables)) return false;
  if (min_table_size_bytes <= 0) return true;
  if (size_bytes) return *size_bytes >= min_table_size_bytes;
  // Size unknown (no stat_user_tables run yet, or a table newer than it): kept until known.
  if (table_sizes.empty()) return true;
  const auto it = table_sizes.find(key(schema, table));
  return it == table_sizes.end() || it->second >= min_table_size_bytes;
}

std::size_t SeriesFilter::allowance(std::size_t wanted) const {
  if (budget == kNoBudget || others_wanted + wanted <= budget) return kNoBudget;
  const auto fair = static_cast<std::size_t>(static_cast<long double>(budget) * static_cast<long double>(wanted) /
                                             static_cast<long double>(others_wanted + wanted));
  const std::size_t room = budget > others_exported ? budget - others_exported : 0;
  return std::min(fair, room);
}

std::size_t Fragments::bytes() const {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.size();
  return n;
}

std::size_t Fragments::compressed_bytes() const {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.compressed_size();
  return n;
}

std::string Fragments::text(Family family) const { return lines[static_cast<std::size_t>(family)].inflated(); }

FragmentsWriter::FragmentsWriter(const std::array<std::size_t, kFamilyCount>& expected, std::size_t chunk_bytes)
    : chunk_(chunk_bytes) {
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    if (expected[i] == 0) continue;
    // A buffer fills to a chunk and a row; the pieces are kept until the snapshot goes.
    buffers_[i].reserve(std::min(expected[i], chunk_) + 1024);
    text_[i].reserve(expected[i] / chunk_ + 1);
  }
}

std::string& FragmentsWriter::sample(Family family, bool per_database) {
  ++series_;
  if (per_database) ++per_database_;
  return buffers_[static_cast<std::size_t>(family)];
}

void FragmentsWriter::end_row() {
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    if (buffers_[i].size() >= chunk_) flush(i);
    kept_[i] = buffers_[i].size();
  }
  kept_series_ = series_;
  kept_per_database_ = per_database_;
}

void FragmentsWriter::drop_row() {
  for (std::size_t i = 0; i < kFamilyCount; ++i) buffers_[i].resize(kept_[i]);
  series_ = kept_series_;
  per_database_ = kept_per_database_;
}

void FragmentsWriter::flush(std::size_t family) {
  auto& buffer = buffers_[family];
  if (buffer.empty()) return;
  text_[family].append(deflater_.piece(buffer));
  buffer.clear();  // keeps its capacity for the next chunk
}

Fragments FragmentsWriter::finish() && {
  end_row();
  Fragments f;
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    flush(i);
    f.lines[i] = std::move(text_[i]);
  }
  f.series = series_;
  f.per_database = per_database_;
  f.dropped = dropped_;
  return f;
}

void append_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_value(std::string& out, std::int64_t v) { fmt::format_to(std::back_inserter(out), "{}", v); }

void append_value(std::string& out, double v) {
  if (v != v)
    out += "NaN";
  else
    fmt::format_to(std::back_inserter(out), "{}", v);
}

Fragments render_tables(std::string_view target, std::string_view datname,
                        const std::vector<model::TableStats>& rows, const SeriesFilter& filter) {
  auto w = render_rows(
      rows, filter, [&](const model::TableStats& t) { return filter.keeps(t.schemaname, t.relname, t.size_bytes); },
      [](const model::TableStats& t) { return t.size_bytes.value_or(0); },
      [&](FragmentsWriter& out, const model::TableStats& t) {
        const Row row(target, filter.constant_labels, datname, t.schemaname, t.relname);
        row.add(out, Family::kTableLiveTuples, t.live_tuples);
        row.add(out, Family::kTableDeadTuples, t.dead_tuples);
        row.add(out, Family::kTableDeadTupleRatio, model::dead_tuple_ratio(t.live_tuples, t.dead_tuples));
        row.add(out, Family::kTableDeadTupleRatioPeak, t.dead_ratio_peak);
        row.add(out, Family::kTableModifiedSinceAnalyze, t.mod_since_analyze);
        row.add(out, Family::kTableSeqScans, t.seq_scans);
        row.add(out, Family::kTableIndexScans, t.index_scans);
        row.add(out, Family::kTableSizeBytes, t.size_bytes);
        row.add(out, Family::kTableLastVacuum, t.last_vacuum, "kind", "manual");
        row.add(out, Family::kTableLastVacuum, t.last_autovacuum, "kind", "auto");
        row.add(out, Family::kTableLastAnalyze, t.last_analyze, "kind", "manual");
        row.add(out, Family::kTableLastAnalyze, t.last_autoanalyze, "kind", "auto");
        row.add(out, Family::kTableVacuums, t.vacuum_count, "kind", "manual");
        row.add(out, Family::kTableVacuums, t.autovacuum_count, "kind", "auto");
        row.add(out, Family::kTableAnalyzes, t.analyze_count, "kind", "manual");
        row.add(out, Family::kTableAnalyzes, t.autoanalyze_count, "kind", "auto");
        row.add(out, Family::kTableLastSeqScan, t.last_seq_scan);
        row.add(out, Family::kTableVacuumSeconds, model::ms_to_seconds(t.vacuum_time_ms), "kind", "manual");
        row.add(out, Family::kTableVacuumSeconds, model::ms_to_seconds(t.autovacuum_time_ms), "kind", "auto");
        row.add(out, Family::kTableAnalyzeSeconds, model::ms_to_seconds(t.analyze_time_ms), "kind", "manual");
        row.add(out, Family::kTableAnalyzeSeconds, model::ms_to_seconds(t.autoanalyze_time_ms), "kind", "auto");
        row.add(out, Family::kTableAutovacuumThreshold, model::autovacuum_threshold(t));
        row.add(out, Family::kTableAutovacuumDueRatio, model::autovacuum_due_ratio(t));
        row.add(out, Family::kTableAutovacuumInsertDueRatio, model::autovacuum_insert_due_ratio(t));
        row.add(out, Family::kTableAutoanalyzeDueRatio, model::autoanalyze_due_ratio(t));
        // Autovacuum never processes a partitioned parent: no setting of its own to speak of.
        if (t.relkind != 'p')
          row.add(out, Family::kTableAutovacuumEnabled, std::optional<std::int64_t>(t.autovacuum->table_enabled ? 1 : 0));
      });
  // The server's autovacuum as this database's session sees it (track_counts may be set per database).
  if (!rows.empty())
    append_sample(w, Family::kAutovacuumEnabled, database_labels(target, filter.constant_labels, datname),
                  std::optional<std::int64_t>(rows.front().autovacuum->server_enabled ? 1 : 0));
  return std::move(w).finish();
}

Fragments render_table_io(std::string_view target, std::string_view datname,
                          const std::vector<model::TableIo>& rows, const SeriesFilter& filter) {
  return render_rows(
             rows, filter, [&](const model::TableIo& t) { return filter.keeps(t.schemaname, t.relname); },
             [&](const model::TableIo& t) { return filter.size_of(t.schemaname, t.relname); },
             [&](FragmentsWriter& f, const model::TableIo& t) {
        const Row row(target, filter.constant_labels, datname, t.schemaname, t.relname);
        row.add(f, Family::kTableBlocksHit, t.heap_blks_hit, "area", "heap");
        row.add(f, Family::kTableBlocksHit, t.idx_blks_hit, "area", "index");
        row.add(f, Family::kTableBlocksHit, t.toast_blks_hit, "area", "toast");
        row.add(f, Family::kTableBlocksHit, t.tidx_blks_hit, "area", "toast_index");
        row.add(f, Family::kTableBlocksRead, t.heap_blks_read, "area", "heap");
        row.add(f, Family::kTableBlocksRead, t.idx_blks_read, "area", "index");
        row.add(f, Family::kTableBlocksRead, t.toast_blks_read, "area", "toast");
        row.add(f, Family::kTableBlocksRead, t.tidx_blks_read, "area", "toast_index");
        row.add(f, Family::kTableCacheHitRatio, model::cache_hit_ratio(t.heap_blks_hit, t.heap_blks_read));
      })
      .finish();
}

Fragments render_indexes(std::string_view target, std::string_view datname,
                         const std::vector<model::IndexStats>& rows,
                         const std::optional<model::DatabaseStatistics>& statistics, const SeriesFilter& filter) {
  const double now = base::unix_now();
  const auto stats_age =
      statistics ? model::statistics_age(*statistics, now) : std::nullopt;
  auto w = render_rows(
      rows, filter, [&](const model::IndexStats& i) { return filter.keeps(i.schemaname, i.relname); },
      [](const model::IndexStats& i) { return i.size_bytes.value_or(0); },
      [&](FragmentsWriter& out, const model::IndexStats& i) {
        const Row row(target, filter.constant_labels, datname, i.schemaname, i.relname, i.indexrelname);
        row.add(out, Family::kIndexScans, i.scans);
        row.add(out, Family::kIndexTuplesRead, i.tuples_read);
        row.add(out, Family::kIndexTuplesFetched, i.tuples_fetched);
        row.add(out, Family::kIndexSizeBytes, i.size_bytes);
        row.add(out, Family::kIndexUnused, model::index_unused(i, stats_age, filter.unused_min_stats_age_seconds));
        // One being built concurrently right now is invalid until it is done: not something left behind.
        row.add(out, Family::kIndexValid, std::optional<std::int64_t>(i.valid || i.building ? 1 : 0));
        row.add(out, Family::kIndexLastScan, i.last_scan);
        if (!i.redundant_kind.empty()) {
          Row redundant = row;
          redundant.label("kind", i.redundant_kind);
          redundant.label("covered_by", i.covered_by);
          redundant.add(out, Family::kIndexRedundant, std::optional<std::int64_t>(1));
        }
      });
  if (statistics)
    append_sample(w, Family::kDatabaseStatsReset, database_labels(target, filter.constant_labels, datname),
                  statistics->reset_timestamp);
  return std::move(w).finish();
}

Fragments render_sequences(std::string_view target, std::string_view datname,
                           const std::vector<model::SequenceState>& sequences, const SeriesFilter& filter) {
  std::int64_t unreadable = 0;
  for (const auto& s : sequences) unreadable += s.readable ? 0 : 1;
  auto w = render_rows(
      sequences, filter,
      [&](const model::SequenceState& s) {
        return s.readable && config::selected(s.schemaname, filter.include_schemas, filter.exclude_schemas);
      },
      [](const model::SequenceState& s) { return model::sequence_used_ratio(s).value_or(0); },
      [&](FragmentsWriter& out, const model::SequenceState& s) {
        Row row(target, filter.constant_labels, datname);
        row.label("schemaname", s.schemaname);
        row.label("sequencename", s.sequencename);
        row.add(out, Family::kSequenceUsedRatio, model::sequence_used_ratio(s));
      });
  append_sample(w, Family::kSequencesUnreadable, database_labels(target, filter.constant_labels, datname),
                std::optional<std::int64_t>(unreadable));
  return std::move(w).finish();
}

Fragments render_bloat(std::string_view target, std::string_view datname,
                       const std::vector<model::RelationBloat>& relations,
                       std::optional<model::ExactAvailability> exact, const SeriesFilter& filter) {
  std::array<std::int64_t, model::kUnestimatedCount> unestimated{};
  for (const auto& b : relations)
    if (b.estimate.unestimated) ++unestimated[static_cast<std::size_t>(*b.estimate.unestimated)];
  auto w = render_rows(
      relations, filter,
      [&](const model::RelationBloat& b) {
        return (!b.estimate.unestimated || b.exact) && filter.keeps(b.schemaname, b.relname, std::nullopt);
      },
      [](const model::RelationBloat& b) {
        return std::max(b.estimate.wasted_bytes, b.exact ? b.exact->wasted_bytes : 0.0);
      },
      [&](FragmentsWriter& out, const model::RelationBloat& b) {
        Row row(target, filter.constant_labels, datname, b.schemaname, b.relname);
        if (b.index) row.label("indexrelname", b.indexrelname);
        const auto ratio_family = b.index ? Family::kIndexBloatRatio : Family::kTableBloatRatio;
        const auto bytes_family = b.index ? Family::kIndexBloatBytes : Family::kTableBloatBytes;
        if (!b.estimate.unestimated) {
          row.add(out, ratio_family, std::optional<double>(b.estimate.ratio), "method", "estimate");
          row.add(out, bytes_family, std::optional<double>(b.estimate.wasted_bytes), "method", "estimate");
        }
        if (b.exact) {
          row.add(out, ratio_family, std::optional<double>(b.exact->ratio), "method", "exact");
          row.add(out, bytes_family, std::optional<double>(b.exact->wasted_bytes), "method", "exact");
        }
      });
  for (std::size_t i = 0; i < model::kUnestimatedCount; ++i) {
    const auto reason = model::name(static_cast<model::Unestimated>(i));
    append_sample(w, Family::kBloatUnestimated, database_labels(target, filter.constant_labels, datname, "reason", reason),
                  std::optional<std::int64_t>(unestimated[i]));
  }
  if (exact)
    append_sample(w, Family::kBloatExactAvailable, database_labels(target, filter.constant_labels, datname),
                  std::optional<std::int64_t>(*exact == model::ExactAvailability::kAvailable ? 1 : 0));
  return std::move(w).finish();
}

std::string constant_labels_block(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += ',';
    out += name;
    out += "=\"";
    append_escaped(out, value);
    out += '"';
  }
  return out;
}

Fragments render_horizon(std::string_view target, std::string_view datname,
                         const std::vector<model::HorizonHolder>& holders, const SeriesFilter& filter) {
  FragmentsWriter w;
  for (const char* source : model::kHorizonSources) {
    std::optional<std::int64_t> xids = 0;
    std::optional<double> seconds;
    bool any = false;
    for (const auto& h : holders) {
      if (h.source != source) continue;
      any = true;
      xids = std::max(*xids, h.age_transactions);
      if (h.age_seconds) seconds = std::max(seconds.value_or(0.0), *h.age_seconds);
    }
    // Sessions and prepared transactions have a start time: with none, nothing is held for 0 s.
    const bool timed = std::string_view(source) == "transaction" || std::string_view(source) == "prepared_transaction";
    if (!any && timed) seconds = 0.0;
    const auto labels = database_labels(target, filter.constant_labels, datname, "source", source);
    append_sample(w, Family::kXminHorizonAgeSeconds, labels, seconds);
    append_sample(w, Family::kXminHorizonAgeTransactions, labels, xids);
  }
  return std::move(w).finish();
}

Fragments render_vacuum_progress(std::string_view target, std::string_view datname,
                                 const std::vector<model::VacuumProgress>& vacuums, const SeriesFilter& filter) {
  FragmentsWriter w;
  for (const auto& v : vacuums) {
    // The phase is the server's text and `by` our own word; both are escaped like every label from data.
    Row row(target, filter.constant_labels, datname, v.schemaname, v.relname);
    row.label("by", v.by);
    row.label("phase", v.phase);
    row.add(w, Family::kVacuumProgressRatio, model::vacuum_progress_ratio(v.heap_blks_total, v.heap_blks_scanned));
    // Only a clock stepped back between the two readings could make it negative: an age never is.
    row.add(w, Family::kVacuumProgressSeconds,
            v.running_seconds ? std::optional<double>(std::max(*v.running_seconds, 0.0)) : std::nullopt);
    w.end_row();
  }
  return std::move(w).finish();
}

Fragments render_freeze(std::string_view target, std::string_view datname, const std::vector<model::FreezeAge>& tables,
                        const std::vector<model::DatabaseAge>& databases, const SeriesFilter& filter) {
  auto w = render_rows(
      tables, filter, [&](const model::FreezeAge& t) { return filter.keeps(t.schemaname, t.relname, t.size_bytes); },
      [](const model::FreezeAge& t) { return t.size_bytes.value_or(0); },
      [&](FragmentsWriter& out, const model::FreezeAge& t) {
        const Row row(target, filter.constant_labels, datname, t.schemaname, t.relname);
        row.add(out, Family::kTableXidAge, t.xid_age);
        row.add(out, Family::kTableMxidAge, t.mxid_age);
        row.add(out, Family::kTableFreezeMaxAge, std::optional<std::int64_t>(t.freeze_max_age));
        row.add(out, Family::kTableFreezeDueRatio, model::freeze_due_ratio(t));
      });
  if (filter.database_rows) {
    for (const auto& d : databases) {  // the row's own database, whichever database the query ran in
      const auto labels = database_labels(target, filter.constant_labels, d.datname);
      append_sample(w, Family::kDatabaseXidAge, labels, d.xid_age);
      append_sample(w, Family::kDatabaseMxidAge, labels, d.mxid_age);
    }
  }
  return std::move(w).finish();
}

namespace {

std::array<std::string, kFamilyCount> render_headers() {
  std::array<std::string, kFamilyCount> out;
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    const auto& fam = kFamilies[i];
    out[i] = fmt::format("# HELP {} {}\n# TYPE {} {}\n", fam.name, fam.help, fam.name, fam.type);
  }
  return out;
}

}  // namespace

const std::string& family_header(std::size_t family) {
  static const auto headers = render_headers();
  return headers[family];
}

const base::Deflated& family_header_deflated(std::size_t family) {
  static const auto deflated = [] {
    std::array<base::Deflated, kFamilyCount> out;
    for (std::size_t i = 0; i < kFamilyCount; ++i) out[i] = base::deflate_piece(family_header(i));
    return out;
  }();
  return deflated[family];
}

void write_families(std::string& out, const std::vector<const Fragments*>& parts) {
  for_each_family(
      parts, [&](std::size_t family) { out += family_header(family); },
      [&](const Fragments& part, std::size_t family) { out += part.lines[family].inflated(); });
}

}  // namespace pghealthd::metrics
