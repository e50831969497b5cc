// Owns the maintenance engines (maintenance/engine.h): one per watched database while vacuum, freeze or
// tuning.apply is enabled,
// and the budgets the engines of one target share. Database watches report here which databases exist
// (watch/unwatch) and hand over each stat_user_tables snapshot; the daemon hands over the vacuum settings.
// An engine therefore outlives the watch that feeds it: a reload that replaces watches (a changed
// collector interval, say) finds the same engine, with its running action, cooldown history, horizon
// memory and hourly budget, as long as its connection and vacuum settings are unchanged.
//
// Thread-safety: loop thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "collectors/collector.h"
#include "config/config.h"
#include "maintenance/engine.h"
#include "metrics/store.h"
#include "base/asio.h"
#include "pg/connection.h"

namespace pghealthd::app {

class Engines {
 public:
  Engines(asio::any_io_executor loop, asio::thread_pool& blocking, metrics::Store& store, maintenance::Config cfg);

  // A database is watched, with these connection settings (again, after a reload: its engine is kept or
  // reconfigured). Its store entry must exist (metrics::Store::add_database).
  void watch(const metrics::DbKey& key, const pg::ConnectParams& params);
  // The database is no longer watched: its engine stops, cancelling what it runs, and its series go.
  void unwatch(const metrics::DbKey& key, std::string_view why);
  // The vacuum, freeze, advice and tuning settings of a (re)loaded configuration: engines start, change or
  // stop to match.
  void configure(const maintenance::Config& cfg);
  void on_tables(const metrics::DbKey& key, std::shared_ptr<const collectors::Data> snapshot);
  // The freeze collector's snapshot, for the freeze decisions.
  void on_freeze(const metrics::DbKey& key, std::shared_ptr<const collectors::Data> snapshot);
  // The bloat collector's snapshot, for the REINDEX decisions.
  void on_bloat(const metrics::DbKey& key, std::shared_ptr<const collectors::Data> snapshot);
  // Shutdown: every engine stops, cancelling what it runs.
  void stop_all(std::string_view why);
  [[nodiscard]] std::size_t size() const { return engines_.size(); }

 private:
  void start_engine(const metrics::DbKey& key, const pg::ConnectParams& params);
  void start_or_reconfigure(const metrics::DbKey& key, const pg::ConnectParams& params);
  void stop_engine(const metrics::DbKey& key, std::string_view why);

  asio::any_io_executor loop_;
  asio::thread_pool& blocking_;
  metrics::Store& store_;
  [[nodiscard]] bool wanted() const { return cfg_.wanted(); }

  maintenance::Config cfg_;
  std::map<metrics::DbKey, pg::ConnectParams> watched_;
  std::map<metrics::DbKey, std::shared_ptr<maintenance::Engine>> engines_;
  std::map<std::string, std::shared_ptr<maintenance::TargetBudget>> budgets_;  // by target, while it has engines
};

}  // namespace pghealthd::app
