// A stat_user_tables row as the collector types it, for the report's unit tests: a table in public with
// these live and dead rows, nothing modified since its last analyze or vacuum.
#pragma once

#include <cstdint>
#include <string>

#include "model/stats.h"

namespace pghealthd::test {

inline model::TableStats table_stats(std::string name, std::int64_t live, std::int64_t dead,
                                     std::int64_t relid = 0) {
  model::TableStats t;
  t.relid = relid;
  t.schemaname = "public";
  t.relname = std::move(name);
  t.live_tuples = live;
  t.dead_tuples = dead;
  t.reltuples = static_cast<double>(live);
  t.mod_since_analyze = 0;
  t.ins_since_vacuum = 0;
  t.autovacuum.edit().insert_threshold = 1000;
  return t;
}

}  // namespace pghealthd::test
