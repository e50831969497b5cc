// The latest snapshot of every (target, database, collector), and the daemon's own metrics.
// A scrape renders from here and never touches the database.
//
// Thread-safety: used from the event loop thread only (collections and scrapes both run there).
// prometheus-cpp's counters and gauges are themselves thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "metrics/snapshot.h"
#include "base/body.h"
#include "model/action_log.h"
#include "model/dead_ratio_history.h"
#include "model/stats.h"

namespace pghealthd::metrics {

using DbKey = model::DbKey;

// The daemon's own series for one database, owned by the registry's families.
struct DbSeries {
  prometheus::Gauge* up = nullptr;
  struct PerCollector {
    prometheus::Gauge* duration = nullptr;
    prometheus::Gauge* success = nullptr;
    prometheus::Gauge* last_success = nullptr;
    prometheus::Counter* skipped = nullptr;
    prometheus::Gauge* series = nullptr;
    prometheus::Gauge* dropped = nullptr;
  };
  std::array<PerCollector, collectors::kKindCount> collector;
};

// The daemon's own series for one target: its connection slots (see app/slot_pool.h).
struct TargetSeries {
  prometheus::Gauge* connections = nullptr;
  prometheus::Gauge* connections_max = nullptr;
  prometheus::Gauge* waiters = nullptr;
};

class Store {
 public:
  explicit Store(std::string version);

  // A target's constant labels (targets[].labels), on every series of the target from now on: set before its
  // databases are added; a change relabels the series that exist (their counters start again at 0).
  void set_target_labels(const std::string& target, const std::map<std::string, std::string>& labels);

  // Creates the self-metric series of a database (idempotent) and returns them.
  DbSeries& add_database(const DbKey& key);
  // Drops every series of a database: snapshots and self-metrics.
  void remove_database(const DbKey& key);
  // The self-metric series of a target (idempotent), and their removal.
  TargetSeries& add_target(const std::string& target);
  void remove_target(const std::string& target);

  void put(const DbKey& key, collectors::Kind kind, std::shared_ptr<const Snapshot> snap);
  void withdraw(const DbKey& key, collectors::Kind kind);
  [[nodiscard]] std::shared_ptr<const Snapshot> get(const DbKey& key,
                                                                collectors::Kind kind) const;
  // The current snapshot of `kind` of every database that has one.
  [[nodiscard]] std::vector<std::pair<DbKey, std::shared_ptr<const Snapshot>>> snapshots(collectors::Kind kind) const;
  // Per-table and per-index series of every current snapshot of the target's databases: what its series
  // budget counts (collectors::Definition::budgeted).
  struct SeriesCount {
    std::size_t exported = 0;
    std::size_t wanted = 0;  // exported + dropped by the budget
  };
  [[nodiscard]] SeriesCount target_series(const std::string& target) const;

  // The maintenance engine's series of a database. Created at 0 when the engine starts, so rates exist at
  // once; removed with the engine (vacuum turned off) or the database.
  void add_vacuum_series(const DbKey& key, const std::vector<std::string_view>& reasons);
  void remove_vacuum_series(const DbKey& key);
  // One run of `action` (vacuum, analyze or freeze) on a table, by result.
  void vacuum_run(const DbKey& key, const std::string& schema, const std::string& rel, std::string_view action,
                  std::string_view result);
  // Drops the per-table run series of a table that is gone, so partition churn does not grow /metrics.
  void forget_vacuum_table(const DbKey& key, const std::string& schema, const std::string& rel);
  void vacuum_duration(const DbKey& key, double seconds);
  void vacuum_skipped(const DbKey& key, std::string_view reason);
  void vacuum_removed(const DbKey& key, double rows);
  // One tuning change (ALTER TABLE ... SET of advice) by result.
  void tuning_change(const DbKey& key, std::string_view result);
  // One REINDEX of an index of table `rel` by result, and a candidate index left alone at a check by
  // reason; their series go with the table (forget_vacuum_table).
  void reindex_run(const DbKey& key, const std::string& schema, const std::string& rel, const std::string& index,
                   std::string_view result);
  void reindex_skipped(const DbKey& key, const std::string& schema, const std::string& rel, const std::string& index,
                       std::string_view reason);
  void reindex_reclaimed(const DbKey& key, double bytes);
  void reindex_leftover_dropped(const DbKey& key);

  // What the health page (GET /, /status.json) says of a database beyond its snapshots. The watch reports
  // reachability and collector errors, the maintenance engine its log; put() records each stat_user_tables
  // snapshot's dead ratios.
  struct DatabaseState {
    std::string down_reason;  // why it is unreachable ("" when it is reachable, or was never tried)
    std::array<std::string, collectors::kKindCount> collector_error;  // the last run's, "" after a success
    model::ActionLog log;             // the maintenance engine's last actions and skips
    model::DeadRatioHistory history;  // each table's dead ratio over the last hour
    std::optional<model::LogEntry> running;  // the engine's action running now, since at_unix
  };
  void set_reachability(const DbKey& key, bool up, const std::string& why);
  void collector_error(const DbKey& key, collectors::Kind kind, const std::string& error);
  void log_action(const DbKey& key, model::LogEntry entry);
  void set_running(const DbKey& key, std::optional<model::LogEntry> action);
  // Every watched database, read or not, in key order: the page lists the unreachable ones too.
  struct DatabaseView {
    DbKey key;
    bool up = false;
    std::array<std::optional<double>, collectors::kKindCount> last_success;  // unix time; absent: never
    std::array<std::shared_ptr<const Snapshot>, collectors::kKindCount> snapshots;
    const DatabaseState* state = nullptr;  // valid while the loop does not return to the store's writers
  };
  [[nodiscard]] std::vector<DatabaseView> databases() const;

  // Outcome of a configuration (re)load.
  void config_loaded(bool ok);

  // The whole /metrics body in Prometheus text format, as pieces: the daemon's own series (rendered now),
  // then each family's HELP/TYPE and the snapshots' own compressed pieces, which `owner` keeps alive while
  // they are sent. Plain, the pieces are inflated as they are written (base::BodyReader), in bounded
  // memory; with `gzip`, they are sent as they are, in one gzip member.
  [[nodiscard]] base::Pieces body(bool gzip) const;
  // The plain text in one string (tests).
  [[nodiscard]] std::string render() const { return body(false).joined(); }


 private:
  struct Entry {
    DbSeries series;
    std::array<std::shared_ptr<const Snapshot>, collectors::kKindCount> snapshots;
    std::vector<prometheus::Counter*> vacuum_counters;  // skipped and removed: with the engine
    std::map<std::pair<std::string, std::string>, std::vector<prometheus::Counter*>> vacuum_table_runs;
    prometheus::Histogram* vacuum_duration = nullptr;
    std::vector<std::string_view> vacuum_reasons;  // to add the series again under new labels
    DatabaseState state;
  };
  [[nodiscard]] prometheus::Labels db_labels(const DbKey& key) const;
  [[nodiscard]] prometheus::Labels target_labels(const std::string& target) const;
  void add_database_series(const DbKey& key, DbSeries& s);
  void remove_database_series(DbSeries& s);
  // Counts one event of an index in `family`, labelled by the index and `label`="value"; the series goes
  // with the index's table.
  void reindex_count(prometheus::Family<prometheus::Counter>& family, const DbKey& key, const std::string& schema,
                     const std::string& rel, const std::string& index, const char* label, std::string_view value);
  // The database's entry when it has maintenance series (an engine), else nullptr.
  [[nodiscard]] Entry* with_engine(const DbKey& key);
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& up_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Gauge>& series_;
  prometheus::Family<prometheus::Gauge>& dropped_;
  prometheus::Family<prometheus::Counter>& vacuum_runs_;
  prometheus::Family<prometheus::Histogram>& vacuum_duration_;
  prometheus::Family<prometheus::Counter>& vacuum_skipped_;
  prometheus::Family<prometheus::Counter>& vacuum_removed_;
  prometheus::Family<prometheus::Counter>& tuning_changes_;
  prometheus::Family<prometheus::Counter>& reindex_runs_;
  prometheus::Family<prometheus::Counter>& reindex_reclaimed_;
  prometheus::Family<prometheus::Counter>& reindex_skipped_;
  prometheus::Family<prometheus::Counter>& reindex_leftovers_;
  prometheus::Gauge& reload_ok_;
  prometheus::Gauge& reload_time_;
  std::map<DbKey, Entry> dbs_;
  prometheus::Family<prometheus::Gauge>& connections_;
  prometheus::Family<prometheus::Gauge>& connections_max_;
  prometheus::Family<prometheus::Gauge>& connection_waiters_;
  std::map<std::string, TargetSeries> targets_;
  std::map<std::string, std::map<std::string, std::string>> constant_labels_;
};

}  // namespace pghealthd::metrics
