// What every watch shares: the loop, the blocking pool, the snapshot store and the collector schedule.
#pragma once

#include "config/config.h"
#include "metrics/store.h"
#include "pg/asio.h"

namespace pghealthd::app {

struct Context {
  asio::any_io_executor loop;
  asio::thread_pool& blocking;
  metrics::Store& store;
  config::Collectors collectors;
  config::Vacuum vacuum;
};

}  // namespace pghealthd::app
