// A deterministic database of `tables` tables (and their indexes, I/O, sequences, bloat and freeze ages)
// rendered by every renderer: enough text for families of many chunks, with values of every kind (counts,
// ratios, times, absent columns, labels that need escaping). Used to pin down the exact exposition text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/exposition.h"

namespace synthetic {

inline std::vector<pghealthd::metrics::Fragments> render_all(std::size_t tables,
                                                             const pghealthd::metrics::SeriesFilter& filter = {}) {
  using namespace pghealthd;
  std::vector<model::TableStats> stats;
  std::vector<model::TableIo> io;
  std::vector<model::IndexStats> indexes;
  std::vector<model::SequenceState> sequences;
  std::vector<model::RelationBloat> bloat;
  std::vector<model::FreezeAge> freeze;
  std::uint64_t x = 88172645463325252ull;
  auto next = [&x] {  // xorshift64: the same numbers on every machine
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (std::size_t i = 0; i < tables; ++i) {
    const std::string schema = i % 7 == 0 ? "Sales \"EU\"" : "public";
    const std::string name = "table_" + std::to_string(i) + (i % 13 == 0 ? "\\x\ny" : "");
    model::TableStats t;
    t.relid = static_cast<std::int64_t>(16384 + i);
    t.relkind = i % 50 == 0 ? 'p' : 'r';
    t.schemaname = schema;
    t.relname = name;
    t.live_tuples = static_cast<std::int64_t>(next() % 10000000);
    t.dead_tuples = static_cast<std::int64_t>(next() % 100000);
    t.mod_since_analyze = static_cast<std::int64_t>(next() % 5000);
    t.seq_scans = static_cast<std::int64_t>(next() % 1000);
    if (i % 3 != 0) t.index_scans = static_cast<std::int64_t>(next() % 1000000);
    if (i % 2 == 0) t.last_vacuum = 1.7e9 + static_cast<double>(next() % 1000000) / 8;
    if (i % 5 != 0) t.last_autovacuum = 1.7e9 + static_cast<double>(next() % 1000000);
    t.vacuum_count = static_cast<std::int64_t>(next() % 10);
    t.autovacuum_count = static_cast<std::int64_t>(next() % 100);
    t.analyze_count = 0;
    t.autoanalyze_count = static_cast<std::int64_t>(next() % 100);
    if (i % 4 == 0) t.vacuum_time_ms = static_cast<double>(next() % 100000) / 3;
    t.size_bytes = static_cast<std::int64_t>(8192 * (1 + next() % 100000));
    t.reltuples = static_cast<double>(next() % 10000000);
    t.ins_since_vacuum = static_cast<std::int64_t>(next() % 100000);
    t.autovacuum.edit().insert_threshold = 1000;
    if (i % 11 == 0) t.autovacuum.edit().table_enabled = false;
    if (i % 6 == 0) t.dead_ratio_peak = static_cast<double>(next() % 1000) / 1000;
    stats.push_back(t);

    model::TableIo o;
    o.schemaname = schema;
    o.relname = name;
    o.heap_blks_read = static_cast<std::int64_t>(next() % 100000);
    o.heap_blks_hit = static_cast<std::int64_t>(next() % 10000000);
    o.idx_blks_read = static_cast<std::int64_t>(next() % 1000);
    o.idx_blks_hit = static_cast<std::int64_t>(next() % 100000);
    if (i % 2 == 0) {
      o.toast_blks_read = 0;
      o.toast_blks_hit = 0;
    }
    io.push_back(o);

    for (int k = 0; k < 2; ++k) {
      model::IndexStats idx;
      idx.schemaname = schema;
      idx.relname = name;
      idx.indexrelname = name + (k == 0 ? "_pkey" : "_created_idx");
      idx.scans = static_cast<std::int64_t>(next() % 1000);
      idx.tuples_read = static_cast<std::int64_t>(next() % 100000);
      idx.tuples_fetched = static_cast<std::int64_t>(next() % 100000);
      idx.size_bytes = static_cast<std::int64_t>(8192 * (1 + next() % 1000));
      if (k == 1 && i % 9 == 0) {
        idx.redundant_kind = "prefix";
        idx.covered_by = name + "_pkey";
      }
      indexes.push_back(idx);

      model::RelationBloat b;
      b.schemaname = schema;
      b.relname = name;
      b.index = k == 1;
      if (b.index) b.indexrelname = idx.indexrelname;
      if (i % 17 == 0)
        b.estimate.unestimated = model::Unestimated::kNeverAnalyzed;
      else {
        b.estimate.wasted_bytes = static_cast<double>(8192 * (next() % 500));
        b.estimate.ratio = static_cast<double>(next() % 1000) / 997;
      }
      if (i % 10 == 0) b.exact = model::ExactBloat{0.125, 4096.0 * static_cast<double>(i), 1.7e9};
      bloat.push_back(b);
    }

    model::FreezeAge f;
    f.schemaname = schema;
    f.relname = name;
    f.xid_age = static_cast<std::int64_t>(next() % 200000000);
    f.mxid_age = static_cast<std::int64_t>(next() % 1000);
    f.size_bytes = t.size_bytes;
    freeze.push_back(f);

    if (i % 4 == 0) {
      model::SequenceState s;
      s.schemaname = schema;
      s.sequencename = name + "_id_seq";
      s.readable = i % 40 != 0;
      s.last_value = static_cast<std::int64_t>(next() % 2000000000);
      s.max_value = 2147483647;
      s.column_type = "integer";
      sequences.push_back(s);
    }
  }
  std::vector<model::HorizonHolder> holders(2);
  holders[0].source = "transaction";
  holders[0].age_transactions = 1234;
  holders[0].age_seconds = 56.5;
  holders[1].source = "replication_slot";
  holders[1].age_transactions = 99;
  std::vector<model::VacuumProgress> vacuums(1);
  vacuums[0].schemaname = "public";
  vacuums[0].relname = "table_1";
  vacuums[0].by = "autovacuum";
  vacuums[0].phase = "scanning heap";
  vacuums[0].heap_blks_total = 1000;
  vacuums[0].heap_blks_scanned = 333;
  vacuums[0].running_seconds = 12.25;
  const std::vector<model::DatabaseAge> databases{{"d", 123456, 789}, {"postgres", 1000, 10}};

  std::vector<metrics::Fragments> out;
  out.push_back(metrics::render_tables("t", "d", stats, filter));
  out.push_back(metrics::render_table_io("t", "d", io, filter));
  out.push_back(metrics::render_indexes("t", "d", indexes, std::nullopt, filter));
  out.push_back(metrics::render_horizon("t", "d", holders, filter));
  out.push_back(metrics::render_vacuum_progress("t", "d", vacuums, filter));
  out.push_back(metrics::render_freeze("t", "d", freeze, databases, filter));
  out.push_back(metrics::render_sequences("t", "d", sequences, filter));
  out.push_back(metrics::render_bloat("t", "d", bloat, model::ExactAvailability::kAvailable, filter));
  return out;
}

// The exposition of render_all() as a plain scrape sends it.
inline std::string text(const std::vector<pghealthd::metrics::Fragments>& fragments) {
  std::vector<const pghealthd::metrics::Fragments*> parts;
  for (const auto& f : fragments) parts.push_back(&f);
  std::string out;
  pghealthd::metrics::write_families(out, parts);
  return out;
}

}  // namespace synthetic
