// The latest snapshot of every (target, database, collector), and the daemon's own metrics.
// A scrape renders from here and never touches the database.
//
// Thread-safety: used from the event loop thread only (collections and scrapes both run there).
// prometheus-cpp's counters and gauges are themselves thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "collectors/collector.h"

namespace pghealthd::metrics {

struct DbKey {
  std::string target;
  std::string datname;
  auto operator<=>(const DbKey&) const = default;
};

// The daemon's own series for one database, owned by the registry's families.
struct DbSeries {
  prometheus::Gauge* up = nullptr;
  struct PerCollector {
    prometheus::Gauge* duration = nullptr;
    prometheus::Gauge* success = nullptr;
    prometheus::Gauge* last_success = nullptr;
    prometheus::Counter* skipped = nullptr;
  };
  std::array<PerCollector, collectors::kKindCount> collector;
};

class Store {
 public:
  explicit Store(std::string version);

  // Creates the self-metric series of a database (idempotent) and returns them.
  DbSeries& add_database(const DbKey& key);
  // Drops every series of a database: snapshots and self-metrics.
  void remove_database(const DbKey& key);

  void put(const DbKey& key, collectors::Kind kind, std::shared_ptr<const collectors::Snapshot> snap);
  void withdraw(const DbKey& key, collectors::Kind kind);
  [[nodiscard]] std::shared_ptr<const collectors::Snapshot> get(const DbKey& key,
                                                                collectors::Kind kind) const;

  // The whole /metrics body in Prometheus text format.
  [[nodiscard]] std::string render() const;

  [[nodiscard]] prometheus::Registry& registry() { return *registry_; }

 private:
  struct Entry {
    DbSeries series;
    std::array<std::shared_ptr<const collectors::Snapshot>, collectors::kKindCount> snapshots;
  };
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& up_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Counter>& skipped_;
  std::map<DbKey, Entry> dbs_;
};

}  // namespace pghealthd::metrics
