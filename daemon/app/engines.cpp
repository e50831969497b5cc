#include "app/engines.h"

#include <spdlog/spdlog.h>

namespace pghealthd::app {
namespace {

// An engine's reports, written into the metrics store under its database's labels.
class StoreSink final : public maintenance::Sink {
 public:
  StoreSink(metrics::Store& store, metrics::DbKey key) : store_(store), key_(std::move(key)) {
    std::vector<std::string_view> reasons;
    for (std::size_t i = 0; i < policy::kVacuumReasonCount; ++i)
      reasons.push_back(policy::name(static_cast<policy::Reason>(i)));
    store_.add_vacuum_series(key_, reasons);
  }
  void skipped(std::string_view reason) override { store_.vacuum_skipped(key_, reason); }
  void run(const std::string& schema, const std::string& table, std::string_view action,
           std::string_view result) override {
    store_.vacuum_run(key_, schema, table, action, result);
  }
  void duration(double seconds) override { store_.vacuum_duration(key_, seconds); }
  void removed(std::int64_t rows) override { store_.vacuum_removed(key_, static_cast<double>(rows)); }
  void tuned(std::string_view result) override { store_.tuning_change(key_, result); }
  void reindexed(const std::string& schema, const std::string& table, const std::string& index,
                 std::string_view result) override {
    store_.reindex_run(key_, schema, table, index, result);
  }
  void reclaimed(std::int64_t bytes) override { store_.reindex_reclaimed(key_, static_cast<double>(bytes)); }
  void reindex_skipped(const std::string& schema, const std::string& table, const std::string& index,
                       std::string_view reason) override {
    store_.reindex_skipped(key_, schema, table, index, reason);
  }
  void leftover_dropped() override { store_.reindex_leftover_dropped(key_); }
  void forget(const std::string& schema, const std::string& table) override {
    store_.forget_vacuum_table(key_, schema, table);
  }
  void logged(model::LogEntry entry) override { store_.log_action(key_, std::move(entry)); }
  void running(std::optional<model::LogEntry> action) override { store_.set_running(key_, std::move(action)); }

 private:
  metrics::Store& store_;
  metrics::DbKey key_;
};

}  // namespace

Engines::Engines(asio::any_io_executor loop, asio::thread_pool& blocking, metrics::Store& store,
                 maintenance::Config cfg)
    : loop_(std::move(loop)), blocking_(blocking), store_(store), cfg_(std::move(cfg)) {}

void Engines::start_engine(const metrics::DbKey& key, const pg::ConnectParams& params) {
  auto& budget = budgets_[key.target];
  if (!budget) budget = std::make_shared<maintenance::TargetBudget>();
  auto connect = [loop = loop_, &blocking = blocking_] { return std::make_unique<pg::Connection>(loop, blocking); };
  auto engine = std::make_shared<maintenance::Engine>(loop_, connect, std::make_unique<StoreSink>(store_, key), key,
                                                      params, cfg_, budget);
  // The freeze ages collected so far (the collector runs every few minutes).
  if (auto ages = store_.get(key, collectors::Kind::kFreeze)) engine->on_freeze(std::move(ages));
  if (auto bloat = store_.get(key, collectors::Kind::kBloat)) engine->on_bloat(std::move(bloat));
  engines_[key] = std::move(engine);
}

void Engines::start_or_reconfigure(const metrics::DbKey& key, const pg::ConnectParams& params) {
  auto it = engines_.find(key);
  if (it == engines_.end()) start_engine(key, params);
  else it->second->reconfigure(params, cfg_);
}

void Engines::stop_engine(const metrics::DbKey& key, std::string_view why) {
  auto it = engines_.find(key);
  if (it == engines_.end()) return;
  it->second->stop(why);
  engines_.erase(it);
  store_.remove_vacuum_series(key);
  // A target's budget lives while any engine of the target does.
  const bool target_left = std::none_of(engines_.begin(), engines_.end(),
                                        [&](const auto& e) { return e.first.target == key.target; });
  if (target_left) budgets_.erase(key.target);
}

void Engines::watch(const metrics::DbKey& key, const pg::ConnectParams& params) {
  watched_[key] = params;
  if (wanted()) start_or_reconfigure(key, params);
}

void Engines::unwatch(const metrics::DbKey& key, std::string_view why) {
  watched_.erase(key);
  stop_engine(key, why);
}

void Engines::configure(const maintenance::Config& cfg) {
  if (cfg == cfg_) return;
  cfg_ = cfg;
  if (!wanted()) {
    while (!engines_.empty())
      stop_engine(engines_.begin()->first, "automatic vacuum, freezing, tuning and reindex were turned off");
    return;
  }
  for (const auto& [key, params] : watched_) start_or_reconfigure(key, params);
}

void Engines::on_tables(const metrics::DbKey& key, std::shared_ptr<const collectors::Data> snapshot) {
  if (auto it = engines_.find(key); it != engines_.end()) it->second->on_tables(std::move(snapshot));
}

void Engines::on_freeze(const metrics::DbKey& key, std::shared_ptr<const collectors::Data> snapshot) {
  if (auto it = engines_.find(key); it != engines_.end()) it->second->on_freeze(std::move(snapshot));
}

void Engines::on_bloat(const metrics::DbKey& key, std::shared_ptr<const collectors::Data> snapshot) {
  if (auto it = engines_.find(key); it != engines_.end()) it->second->on_bloat(std::move(snapshot));
}

void Engines::stop_all(std::string_view why) {
  for (auto& [key, engine] : engines_) engine->stop(why);
  engines_.clear();
  budgets_.clear();
  watched_.clear();
}

}  // namespace pghealthd::app
