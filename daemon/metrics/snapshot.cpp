#include "metrics/snapshot.h"

#include <chrono>

#include "base/clock.h"

namespace pghealthd::metrics {

Fragments render(collectors::Kind kind, const collectors::Data& data, std::string_view target,
                 std::string_view datname, const SeriesFilter& filter) {
  switch (kind) {
    case collectors::Kind::kStatUserTables: return render_tables(target, datname, data.tables, filter);
    case collectors::Kind::kStatioUserTables: return render_table_io(target, datname, data.io, filter);
    case collectors::Kind::kStatUserIndexes: return render_indexes(target, datname, data.indexes, data.statistics, filter);
    case collectors::Kind::kXminHorizon: return render_horizon(target, datname, data.horizon, filter);
    case collectors::Kind::kVacuumProgress: return render_vacuum_progress(target, datname, data.vacuums, filter);
    case collectors::Kind::kFreeze: return render_freeze(target, datname, data.freeze, data.databases, filter);
    case collectors::Kind::kSequences: return render_sequences(target, datname, data.sequences, filter);
    case collectors::Kind::kBloat:
      return render_bloat(target, datname, data.bloat, data.bloat_exact, filter);
  }
  return {};
}

namespace {

// Each table's history goes on from the previous snapshot (a new table starts one, a table that is gone is
// forgotten), and its running peak is exported.
void carry_churn(const History& history, collectors::Data& now) {
  const double unix_now = base::unix_now();
  for (auto& t : now.tables) {
    auto& churn = now.churn[t.relid];
    if (const auto old = history.churn.find(t.relid); old != history.churn.end()) churn = old->second;
    model::observe(churn, t, unix_now);
    t.dead_ratio_peak = churn.current_peak;
  }
}

// A run that did not read the TOAST tables' pages takes each table's from the previous snapshot; a table
// that one did not know counts its heap alone, and says so (Data::toast_unknown).
void carry_toast(const History& history, collectors::Data& now) {
  for (auto& t : now.tables) {
    if (t.toast_bytes || !t.heap_bytes) continue;
    if (const auto old = history.toast_bytes.find(t.relid); old != history.toast_bytes.end()) {
      t.toast_bytes = old->second;
      std::int64_t both = 0;
      // (Both were read from the server, and summed there before: no real pair leaves a bigint's range.)
      if (!__builtin_add_overflow(*t.heap_bytes, old->second, &both)) t.size_bytes = both;
    } else {
      t.size_bytes = t.heap_bytes;
      now.toast_unknown = true;
    }
  }
}

}  // namespace

History History::of(const collectors::Data& previous) {
  History h;
  h.statistics = previous.statistics;
  h.churn = previous.churn;
  h.toast_bytes.reserve(previous.tables.size());
  for (const auto& t : previous.tables)
    if (t.toast_bytes) h.toast_bytes.emplace(t.relid, *t.toast_bytes);
  for (const auto& b : previous.bloat)
    if (b.exact) h.exact.emplace(b.relid, *b.exact);
  h.bloat_exact = previous.bloat_exact;
  return h;
}

collectors::Data take_previous(collectors::Kind kind, std::shared_ptr<const Snapshot> previous) {
  collectors::Data out;
  if (!previous || kind != collectors::Kind::kStatUserIndexes) return out;
  // The snapshot was made non-const (parse() below) and is only shared as const: when this is its last
  // reference, nothing can see it change.
  if (previous.use_count() == 1)
    out.indexes = std::move(const_cast<Snapshot&>(*previous).indexes);
  else
    out.indexes = previous->indexes;
  out.statistics = previous->statistics;  // its catalog sum: what a light run's must equal
  return out;
}

Parsed parse(collectors::Kind kind, const pg::Rows& rows, const History& history,
             std::optional<collectors::Data> light) {
  const auto& def = collectors::definition(kind);
  auto snap = std::make_shared<Snapshot>();
  std::string error;
  if (light && def.parse_light) {
    static_cast<collectors::Data&>(*snap) = std::move(*light);
    error = def.parse_light(rows, *snap);
  } else {
    error = def.parse(rows, *snap);
  }
  if (!error.empty()) return {nullptr, std::move(error)};
  if (snap->needs_full_run) return {std::move(snap), {}};
  // Statistics never reset are judged by how long pghealthd has read them: that carries on from the last run.
  if (snap->statistics) {
    const double now = base::unix_now();
    snap->statistics->watched_since =
        model::watched_since(history.statistics, *snap->statistics, now);
  }
  if (kind == collectors::Kind::kStatUserTables) {
    carry_toast(history, *snap);
    carry_churn(history, *snap);
  }
  return {std::move(snap), {}};
}

Outcome finish(collectors::Kind kind, std::shared_ptr<Snapshot> snapshot, std::string_view target,
               std::string_view datname, const SeriesFilter& filter) {
  snapshot->series = render(kind, *snapshot, target, datname, filter);
  const auto n = collectors::rows_of(kind, *snapshot);
  return {std::move(snapshot), {}, n};
}

Outcome process(collectors::Kind kind, const pg::Rows& rows, std::string_view target,
                std::string_view datname, const SeriesFilter& filter, const History& history) {
  auto parsed = parse(kind, rows, history);
  if (!parsed.snapshot) return {nullptr, std::move(parsed.error), 0};
  return finish(kind, std::move(parsed.snapshot), target, datname, filter);
}

}  // namespace pghealthd::metrics
