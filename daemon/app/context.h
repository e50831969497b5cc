// What every watch shares: the loop, the blocking pool, the snapshot store, the maintenance engines, the
// collector schedule and what the collectors are configured to do.
#pragma once

#include "app/engines.h"
#include "config/config.h"
#include "metrics/store.h"
#include "base/asio.h"
#include "pg/connection.h"

namespace pghealthd::app {

struct Context {
  asio::any_io_executor loop;
  asio::thread_pool& blocking;
  metrics::Store& store;
  Engines& engines;
  config::Collectors collectors;
  config::Cardinality cardinality;
  config::Indexes indexes;
  config::Bloat bloat;
};

// How to reach one database of a target: its conninfo, password file and session timeouts, with the
// database name replaced when `dbname` is set.
[[nodiscard]] inline pg::ConnectParams connect_params(const config::Target& t, std::optional<std::string> dbname) {
  pg::ConnectParams p;
  p.conninfo = t.conninfo;
  p.dbname = std::move(dbname);
  p.password_file = t.password_file;
  p.connect_timeout = t.connection.connect_timeout;
  p.statement_timeout = t.connection.statement_timeout;
  p.lock_timeout = t.connection.lock_timeout;
  return p;
}

}  // namespace pghealthd::app
