#include "metrics/store.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

#include "base/clock.h"
#include "metrics/catalog.h"

namespace pghealthd::metrics {
namespace {

template <typename T>
prometheus::Family<T>& family(prometheus::Registry& r, const FamilyInfo& info) {
  if constexpr (std::is_same_v<T, prometheus::Gauge>)
    return prometheus::BuildGauge().Name(std::string(info.name)).Help(std::string(info.help)).Register(r);
  else if constexpr (std::is_same_v<T, prometheus::Histogram>)
    return prometheus::BuildHistogram().Name(std::string(info.name)).Help(std::string(info.help)).Register(r);
  else
    return prometheus::BuildCounter().Name(std::string(info.name)).Help(std::string(info.help)).Register(r);
}

// From a quick ANALYZE of a small table to an hour-long VACUUM.
const prometheus::Histogram::BucketBoundaries kVacuumBuckets{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600};

}  // namespace

Store::Store(std::string version)
    : registry_(std::make_shared<prometheus::Registry>()),
      up_(family<prometheus::Gauge>(*registry_, self::kUp)),
      duration_(family<prometheus::Gauge>(*registry_, self::kCollectorDuration)),
      success_(family<prometheus::Gauge>(*registry_, self::kCollectorSuccess)),
      last_success_(family<prometheus::Gauge>(*registry_, self::kCollectorLastSuccess)),
      skipped_(family<prometheus::Counter>(*registry_, self::kCollectorSkipped)),
      series_(family<prometheus::Gauge>(*registry_, self::kCollectorSeries)),
      dropped_(family<prometheus::Gauge>(*registry_, self::kCollectorSeriesDropped)),
      vacuum_runs_(family<prometheus::Counter>(*registry_, self::kVacuumRuns)),
      vacuum_duration_(family<prometheus::Histogram>(*registry_, self::kVacuumDuration)),
      vacuum_skipped_(family<prometheus::Counter>(*registry_, self::kVacuumSkipped)),
      vacuum_removed_(family<prometheus::Counter>(*registry_, self::kVacuumDeadRemoved)),
      tuning_changes_(family<prometheus::Counter>(*registry_, self::kTuningChanges)),
      reindex_runs_(family<prometheus::Counter>(*registry_, self::kReindexRuns)),
      reindex_reclaimed_(family<prometheus::Counter>(*registry_, self::kReindexReclaimed)),
      reindex_skipped_(family<prometheus::Counter>(*registry_, self::kReindexSkipped)),
      reindex_leftovers_(family<prometheus::Counter>(*registry_, self::kReindexLeftoversDropped)),
      reload_ok_(family<prometheus::Gauge>(*registry_, self::kReloadOk).Add({})),
      reload_time_(family<prometheus::Gauge>(*registry_, self::kReloadTime).Add({})),
      connections_(family<prometheus::Gauge>(*registry_, self::kConnections)),
      connections_max_(family<prometheus::Gauge>(*registry_, self::kConnectionsMax)),
      connection_waiters_(family<prometheus::Gauge>(*registry_, self::kConnectionWaiters)) {
  family<prometheus::Gauge>(*registry_, self::kBuildInfo).Add({{"version", std::move(version)}}).Set(1);
}

void Store::add_database_series(const DbKey& key, DbSeries& s) {
  const auto db = db_labels(key);
  s.up = &up_.Add(db);
  for (const auto& def : collectors::all()) {
    auto labels = db;
    labels["collector"] = std::string(def.name);
    auto& c = s.collector[static_cast<std::size_t>(def.kind)];
    c.duration = &duration_.Add(labels);
    c.success = &success_.Add(labels);
    c.skipped = &skipped_.Add(labels);
    c.series = &series_.Add(labels);
    c.dropped = &dropped_.Add(labels);
    // last_success is added on the first success: absent means "never succeeded".
  }
}

void Store::remove_database_series(DbSeries& s) {
  up_.Remove(s.up);
  for (auto& c : s.collector) {
    duration_.Remove(c.duration);
    success_.Remove(c.success);
    skipped_.Remove(c.skipped);
    series_.Remove(c.series);
    dropped_.Remove(c.dropped);
    if (c.last_success) last_success_.Remove(c.last_success);
    c.last_success = nullptr;
  }
}

DbSeries& Store::add_database(const DbKey& key) {
  auto [it, inserted] = dbs_.try_emplace(key);
  if (inserted) add_database_series(key, it->second.series);
  return it->second.series;
}

void Store::remove_database(const DbKey& key) {
  auto it = dbs_.find(key);
  if (it == dbs_.end()) return;
  remove_database_series(it->second.series);
  remove_vacuum_series(key);
  dbs_.erase(it);
}

void Store::set_target_labels(const std::string& target, const std::map<std::string, std::string>& labels) {
  auto& current = constant_labels_[target];
  if (current == labels) return;
  current = labels;
  // Series that exist carry the old labels: each is removed and added again, values carried over where
  // they are gauges; counters start again, as any series with new labels would.
  for (auto it = dbs_.lower_bound(DbKey{target, {}}); it != dbs_.end() && it->first.target == target; ++it) {
    auto& s = it->second.series;
    const double up = s.up->Value();
    remove_database_series(s);
    add_database_series(it->first, s);
    s.up->Set(up);
    if (it->second.vacuum_duration) {
      const auto reasons = it->second.vacuum_reasons;
      remove_vacuum_series(it->first);
      add_vacuum_series(it->first, reasons);
    }
  }
  if (targets_.count(target)) {
    remove_target(target);
    add_target(target);
  }
}

prometheus::Labels Store::target_labels(const std::string& target) const {
  prometheus::Labels labels{{"target", target}};
  if (const auto it = constant_labels_.find(target); it != constant_labels_.end())
    labels.insert(it->second.begin(), it->second.end());
  return labels;
}

void Store::remove_vacuum_series(const DbKey& key) {
  auto it = dbs_.find(key);
  if (it == dbs_.end()) return;
  auto& e = it->second;
  // Counter families are shared: Remove on the family that owns each pointer is a no-op elsewhere.
  for (auto* c : e.vacuum_counters) {
    vacuum_skipped_.Remove(c);
    vacuum_removed_.Remove(c);
    tuning_changes_.Remove(c);
    reindex_reclaimed_.Remove(c);
    reindex_leftovers_.Remove(c);
  }
  e.vacuum_counters.clear();
  for (const auto& [table, counters] : e.vacuum_table_runs)
    for (auto* c : counters) {
      vacuum_runs_.Remove(c);
      reindex_runs_.Remove(c);
      reindex_skipped_.Remove(c);
    }
  e.vacuum_table_runs.clear();
  if (e.vacuum_duration) vacuum_duration_.Remove(e.vacuum_duration);
  e.vacuum_duration = nullptr;
}

void Store::forget_vacuum_table(const DbKey& key, const std::string& schema, const std::string& rel) {
  auto it = dbs_.find(key);
  if (it == dbs_.end()) return;
  auto& runs = it->second.vacuum_table_runs;
  auto t = runs.find({schema, rel});
  if (t == runs.end()) return;
  for (auto* c : t->second) {
    vacuum_runs_.Remove(c);
    reindex_runs_.Remove(c);
    reindex_skipped_.Remove(c);
  }
  runs.erase(t);
}

TargetSeries& Store::add_target(const std::string& target) {
  auto [it, inserted] = targets_.try_emplace(target);
  if (inserted) {
    const auto labels = target_labels(target);
    it->second = {&connections_.Add(labels), &connections_max_.Add(labels), &connection_waiters_.Add(labels)};
  }
  return it->second;
}

void Store::remove_target(const std::string& target) {
  auto it = targets_.find(target);
  if (it == targets_.end()) return;
  connections_.Remove(it->second.connections);
  connections_max_.Remove(it->second.connections_max);
  connection_waiters_.Remove(it->second.waiters);
  targets_.erase(it);
}

void Store::config_loaded(bool ok) {
  reload_ok_.Set(ok ? 1 : 0);
  if (ok) reload_time_.SetToCurrentTime();
}

prometheus::Labels Store::db_labels(const DbKey& key) const {
  auto labels = target_labels(key.target);
  labels["datname"] = key.datname;
  return labels;
}

void Store::add_vacuum_series(const DbKey& key, const std::vector<std::string_view>& reasons) {
  auto it = dbs_.find(key);
  if (it == dbs_.end()) return;
  auto& e = it->second;
  if (e.vacuum_duration) return;  // already there
  e.vacuum_duration = &vacuum_duration_.Add(db_labels(key), kVacuumBuckets);
  e.vacuum_reasons = reasons;
  e.vacuum_counters.push_back(&vacuum_removed_.Add(db_labels(key)));
  e.vacuum_counters.push_back(&reindex_reclaimed_.Add(db_labels(key)));
  e.vacuum_counters.push_back(&reindex_leftovers_.Add(db_labels(key)));

  // Successful tuning changes from 0, so that increase() sees the first one.
  auto tuned = db_labels(key);
  tuned["result"] = "success";
  e.vacuum_counters.push_back(&tuning_changes_.Add(tuned));
  for (auto reason : reasons) {
    auto labels = db_labels(key);
    labels["reason"] = std::string(reason);
    e.vacuum_counters.push_back(&vacuum_skipped_.Add(labels));
  }
}

Store::Entry* Store::with_engine(const DbKey& key) {
  auto it = dbs_.find(key);
  return it == dbs_.end() || !it->second.vacuum_duration ? nullptr : &it->second;  // no engine: no series
}

namespace {

// Increments the series of `family` with `labels`, and keeps it in `owned` (the series removed with the
// engine, or with the table) when it is new.
void count(prometheus::Family<prometheus::Counter>& family, const prometheus::Labels& labels,
           std::vector<prometheus::Counter*>& owned) {
  auto& c = family.Add(labels);
  c.Increment();
  if (std::find(owned.begin(), owned.end(), &c) == owned.end()) owned.push_back(&c);
}

}  // namespace

void Store::vacuum_run(const DbKey& key, const std::string& schema, const std::string& rel, std::string_view action,
                       std::string_view result) {
  Entry* e = with_engine(key);
  if (!e) return;
  auto labels = db_labels(key);
  labels["schemaname"] = schema;
  labels["relname"] = rel;
  labels["action"] = std::string(action);
  labels["result"] = std::string(result);
  count(vacuum_runs_, labels, e->vacuum_table_runs[{schema, rel}]);
}

void Store::vacuum_duration(const DbKey& key, double seconds) {
  if (Entry* e = with_engine(key)) e->vacuum_duration->Observe(seconds);
}

void Store::tuning_change(const DbKey& key, std::string_view result) {
  Entry* e = with_engine(key);
  if (!e) return;
  auto labels = db_labels(key);
  labels["result"] = std::string(result);
  count(tuning_changes_, labels, e->vacuum_counters);
}

void Store::reindex_run(const DbKey& key, const std::string& schema, const std::string& rel, const std::string& index,
                        std::string_view result) {
  reindex_count(reindex_runs_, key, schema, rel, index, "result", result);
}

void Store::reindex_count(prometheus::Family<prometheus::Counter>& family, const DbKey& key, const std::string& schema,
                          const std::string& rel, const std::string& index, const char* label,
                          std::string_view value) {
  Entry* e = with_engine(key);
  if (!e) return;
  auto labels = db_labels(key);
  labels["schemaname"] = schema;
  labels["relname"] = rel;
  labels["indexrelname"] = index;
  labels[label] = std::string(value);
  count(family, labels, e->vacuum_table_runs[{schema, rel}]);
}

void Store::reindex_reclaimed(const DbKey& key, double bytes) {
  if (!with_engine(key) || bytes <= 0) return;
  reindex_reclaimed_.Add(db_labels(key)).Increment(bytes);
}

void Store::reindex_skipped(const DbKey& key, const std::string& schema, const std::string& rel,
                            const std::string& index, std::string_view reason) {
  reindex_count(reindex_skipped_, key, schema, rel, index, "reason", reason);
}

void Store::reindex_leftover_dropped(const DbKey& key) {
  if (with_engine(key)) reindex_leftovers_.Add(db_labels(key)).Increment();
}

void Store::vacuum_skipped(const DbKey& key, std::string_view reason) {
  if (!with_engine(key)) return;
  auto labels = db_labels(key);
  labels["reason"] = std::string(reason);
  vacuum_skipped_.Add(labels).Increment();
}

void Store::vacuum_removed(const DbKey& key, double rows) {
  if (!with_engine(key) || rows <= 0) return;
  vacuum_removed_.Add(db_labels(key)).Increment(rows);
}

void Store::put(const DbKey& key, collectors::Kind kind, std::shared_ptr<const Snapshot> snap) {
  auto it = dbs_.find(key);
  if (it == dbs_.end()) return;
  auto& c = it->second.series.collector[static_cast<std::size_t>(kind)];
  if (!c.last_success) {
    auto labels = db_labels(key);
    labels["collector"] = std::string(collectors::definition(kind).name);
    c.last_success = &last_success_.Add(labels);
  }
  if (kind == collectors::Kind::kStatUserTables && snap) it->second.state.history.observe(snap->tables, base::unix_now());
  it->second.snapshots[static_cast<std::size_t>(kind)] = std::move(snap);
}

void Store::set_reachability(const DbKey& key, bool up, const std::string& why) {
  auto it = dbs_.find(key);
  if (it != dbs_.end()) it->second.state.down_reason = up ? std::string() : why;
}

void Store::collector_error(const DbKey& key, collectors::Kind kind, const std::string& error) {
  auto it = dbs_.find(key);
  if (it != dbs_.end()) it->second.state.collector_error[static_cast<std::size_t>(kind)] = error;
}

void Store::log_action(const DbKey& key, model::LogEntry entry) {
  auto it = dbs_.find(key);
  if (it != dbs_.end()) it->second.state.log.add(std::move(entry));
}

void Store::set_running(const DbKey& key, std::optional<model::LogEntry> action) {
  auto it = dbs_.find(key);
  if (it != dbs_.end()) it->second.state.running = std::move(action);
}

std::vector<Store::DatabaseView> Store::databases() const {
  std::vector<DatabaseView> out;
  out.reserve(dbs_.size());
  for (const auto& [key, e] : dbs_) {
    DatabaseView v;
    v.key = key;
    v.up = e.series.up && e.series.up->Value() == 1;
    for (std::size_t k = 0; k < collectors::kKindCount; ++k)
      if (const auto* g = e.series.collector[k].last_success) v.last_success[k] = g->Value();
    v.snapshots = e.snapshots;
    v.state = &e.state;
    out.push_back(std::move(v));
  }
  return out;
}

void Store::withdraw(const DbKey& key, collectors::Kind kind) {
  auto it = dbs_.find(key);
  if (it != dbs_.end()) it->second.snapshots[static_cast<std::size_t>(kind)].reset();
}

Store::SeriesCount Store::target_series(const std::string& target) const {
  SeriesCount n;
  for (auto it = dbs_.lower_bound(DbKey{target, {}}); it != dbs_.end() && it->first.target == target; ++it)
    for (const auto& def : collectors::all())
      if (const auto& s = it->second.snapshots[static_cast<std::size_t>(def.kind)]; s && def.budgeted) {
        // Per-table and per-index series only: the few per-database ones are never cut, so not counted.
        n.exported += s->series.series - s->series.per_database;
        n.wanted += s->series.series - s->series.per_database + s->series.dropped;
      }
  return n;
}

std::shared_ptr<const Snapshot> Store::get(const DbKey& key, collectors::Kind kind) const {
  auto it = dbs_.find(key);
  return it == dbs_.end() ? nullptr : it->second.snapshots[static_cast<std::size_t>(kind)];
}

std::vector<std::pair<DbKey, std::shared_ptr<const Snapshot>>> Store::snapshots(collectors::Kind kind) const {
  std::vector<std::pair<DbKey, std::shared_ptr<const Snapshot>>> out;
  for (const auto& [key, entry] : dbs_)
    if (const auto& s = entry.snapshots[static_cast<std::size_t>(kind)]) out.emplace_back(key, s);
  return out;
}

base::Pieces Store::body(bool gzip) const {
  // Owns what the pieces point into: the snapshots (shared, immutable), and this scrape's own text. Its
  // strings are final before any view of them is taken.
  struct Held {
    std::vector<std::shared_ptr<const Snapshot>> snapshots;
    std::string self;
    base::Deflated self_deflated;
    std::string gzip_end;
  };
  auto held = std::make_shared<Held>();
  std::vector<const Fragments*> parts;
  for (const auto& [key, entry] : dbs_) {
    for (const auto& s : entry.snapshots) {
      if (!s) continue;
      held->snapshots.push_back(s);
      parts.push_back(&s->series);
    }
  }
  std::ostringstream self;
  prometheus::TextSerializer().Serialize(self, registry_->Collect());
  held->self = std::move(self).str();

  base::Pieces out;
  if (!gzip) {
    // The snapshots' pieces are inflated while they are written (base::BodyReader).
    out.add(held->self);
    for_each_family(
        parts, [&](std::size_t family) { out.add(family_header(family)); },
        [&](const Fragments& part, std::size_t family) {
          for (const auto& piece : part.lines[family].pieces()) out.add_inflated(piece);
        });
  } else {
    base::GzipTrailer trailer;
    auto add = [&](const base::Deflated& d) {
      trailer.add(d);
      out.add(d.data);
    };
    out.add(base::GzipTrailer::header());
    // The daemon's own series are the only text compressed for a scrape: a few KB, new every time.
    held->self_deflated = base::deflate_piece(held->self);
    add(held->self_deflated);
    for_each_family(
        parts, [&](std::size_t family) { add(family_header_deflated(family)); },
        [&](const Fragments& part, std::size_t family) {
          for (const auto& piece : part.lines[family].pieces()) add(piece);
        });
    held->gzip_end = trailer.end();
    out.add(held->gzip_end);
  }
  out.owner = std::move(held);
  return out;
}

}  // namespace pghealthd::metrics
