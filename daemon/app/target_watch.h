// Watches one target: the databases listed in its config, the one its conninfo names, or, with
// autodiscover, every database that allows connections and passes the include/exclude regexes,
// re-listed every discovery_interval (new ones are picked up, dropped ones removed). Its databases share
// max_connections connection slots (app/slot_pool.h); autodiscovery's own connection is not one of them.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/context.h"
#include "app/database_watch.h"
#include "config/pattern.h"
#include "app/slot_pool.h"

namespace pghealthd::app {

class TargetWatch : public std::enable_shared_from_this<TargetWatch> {
 public:
  TargetWatch(Context& ctx, config::Target target);
  void start();
  // `withdraw` false keeps the series of its databases for a replacing watch (see inherit()).
  void stop(bool withdraw = true);
  [[nodiscard]] std::set<metrics::DbKey> keys() const;
  // Series kept from the watch this one replaces: those of databases it does not watch are withdrawn
  // once it knows its databases (at once, or after the first discovery).
  void inherit(std::set<metrics::DbKey> keys) { inherited_ = std::move(keys); }
  [[nodiscard]] std::size_t databases() const { return dbs_.size(); }
  [[nodiscard]] std::size_t databases_up() const;

 private:
  awaitable<void> discover(std::shared_ptr<TargetWatch> self);
  void add(const std::string& datname, bool override_dbname);
  void sync(const std::vector<std::string>& names);
  void withdraw_inherited();
  // One database watch reports the ages of every database of the server (the freeze collector's
  // per-database series): the first by name.
  void designate();

  Context& ctx_;
  config::Target target_;
  std::vector<config::Pattern> include_, exclude_;  // autodiscovery: config::selected()
  std::map<std::string, std::shared_ptr<DatabaseWatch>> dbs_;
  pg::Connection conn_;  // autodiscovery's own connection
  std::shared_ptr<SlotPool> slots_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  std::string last_error_;
  std::set<metrics::DbKey> inherited_;
};

}  // namespace pghealthd::app
