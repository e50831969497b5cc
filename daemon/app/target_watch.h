// Watches one target: the databases listed in its config, the one its conninfo names, or, with
// autodiscover, every database that allows connections and passes the include/exclude regexes,
// re-listed every discovery_interval (new ones are picked up, dropped ones removed).
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "app/context.h"
#include "app/database_watch.h"

namespace pghealthd::app {

// Whether autodiscovery keeps a database: it fully matches an include (or there are none) and no exclude.
[[nodiscard]] bool database_selected(const std::string& name, const std::vector<std::regex>& include,
                                     const std::vector<std::regex>& exclude);

class TargetWatch : public std::enable_shared_from_this<TargetWatch> {
 public:
  TargetWatch(Context& ctx, config::Target target);
  void start();
  void stop();
  [[nodiscard]] std::size_t databases() const { return dbs_.size(); }
  [[nodiscard]] std::size_t databases_up() const;

 private:
  awaitable<void> discover(std::shared_ptr<TargetWatch> self);
  void add(const std::string& datname, bool override_dbname);
  void sync(const std::vector<std::string>& names);

  Context& ctx_;
  config::Target target_;
  std::vector<std::regex> include_, exclude_;
  std::map<std::string, std::shared_ptr<DatabaseWatch>> dbs_;
  pg::Connection conn_;  // autodiscovery's own connection
  std::shared_ptr<vacuum::TargetBudget> budget_ = std::make_shared<vacuum::TargetBudget>();
  asio::steady_timer timer_;
  bool stopped_ = false;
  std::string last_error_;
};

}  // namespace pghealthd::app
