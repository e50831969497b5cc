// Churn: cycle after cycle, thousands of tables and partitions are created and dropped while pghealthd
// collects every second. A dropped table's series must be gone after its collectors' next run, the
// number of series must come back to where it started, and the daemon's memory must stay flat.
//
// Size (defaults fit CI: ~1.5 min on 2 cores, idle):
//   PGHEALTHD_CHURN_CYCLES  cycles of create + drop                       (default 40)
//   PGHEALTHD_CHURN_TABLES  tables per cycle: half plain tables with two indexes, half partitions of
//                           partitioned tables (4 partitions each, an index on each)   (default 250)
// A full run:  PGHEALTHD_CHURN_CYCLES=200 PGHEALTHD_CHURN_TABLES=2000 build/tests/soak_tests "[churn]"
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "collectors/collector.h"
#include "support/cluster.h"
#include "support/daemon.h"
#include "support/proc.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;

namespace {

const char* const kTableCollectors[] = {"stat_user_tables", "statio_user_tables", "stat_user_indexes"};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One cycle's relations: plain tables churn_C_tK (primary key, an index, a TOAST table) and partitioned
// tables churn_C_pK with partitions churn_C_pK_0..3 (an index on each, through the parent's). A few rows
// go into some, so the statistics have something to count. COMMIT every 100 tables bounds the locks one
// transaction holds.
std::string create_sql(long cycle, long plain, long parents) {
  const std::string c = std::to_string(cycle);
  std::ostringstream s;
  s << "DO $$ BEGIN\n"
    << "FOR i IN 1.." << plain << " LOOP\n"
    << "  EXECUTE format('CREATE TABLE churn_" << c << "_t%s (id int PRIMARY KEY, v int, note text)', i);\n"
    << "  EXECUTE format('CREATE INDEX churn_" << c << "_t%s_v ON churn_" << c << "_t%s (v)', i, i);\n"
    << "  IF i % 4 = 0 THEN\n"
    << "    EXECUTE format('INSERT INTO churn_" << c << "_t%s SELECT g, g, ''x'' FROM generate_series(1, 10) g', i);\n"
    << "  END IF;\n"
    << "  IF i % 100 = 0 THEN COMMIT; END IF;\n"
    << "END LOOP;\n"
    << "FOR i IN 1.." << parents << " LOOP\n"
    << "  EXECUTE format('CREATE TABLE churn_" << c << "_p%s (id int, v int) PARTITION BY RANGE (id)', i);\n"
    << "  EXECUTE format('CREATE INDEX churn_" << c << "_p%s_v ON churn_" << c << "_p%s (v)', i, i);\n"
    << "  FOR j IN 0..3 LOOP\n"
    << "    EXECUTE format('CREATE TABLE churn_" << c << "_p%s_%s PARTITION OF churn_" << c
    << "_p%s FOR VALUES FROM (%s) TO (%s)', i, j, i, j * 100, (j + 1) * 100);\n"
    << "  END LOOP;\n"
    << "  EXECUTE format('INSERT INTO churn_" << c << "_p%s SELECT g, g FROM generate_series(0, 399, 7) g', i);\n"
    << "  IF i % 25 = 0 THEN COMMIT; END IF;\n"
    << "END LOOP;\n"
    << "END $$;\n";
  return s.str();
}

std::string drop_sql(long cycle, long plain, long parents) {
  const std::string c = std::to_string(cycle);
  std::ostringstream s;
  s << "DO $$ BEGIN\n"
    << "FOR i IN 1.." << plain << " LOOP\n"
    << "  EXECUTE format('DROP TABLE churn_" << c << "_t%s', i);\n"
    << "  IF i % 100 = 0 THEN COMMIT; END IF;\n"
    << "END LOOP;\n"
    << "FOR i IN 1.." << parents << " LOOP\n"
    << "  EXECUTE format('DROP TABLE churn_" << c << "_p%s', i);\n"  // its partitions with it
    << "  IF i % 25 = 0 THEN COMMIT; END IF;\n"
    << "END LOOP;\n"
    << "END $$;\n";
  return s.str();
}

// The cycle a churn relation belongs to ("churn_12_t7" -> 12), or -1 for any other relation.
long cycle_of(const Labels& labels) {
  const auto it = labels.find("relname");
  if (it == labels.end() || it->second.rfind("churn_", 0) != 0) return -1;
  return std::strtol(it->second.c_str() + 6, nullptr, 10);
}

// What one scrape says about the churn.
struct View {
  std::size_t series = 0;                             // every sample
  std::map<long, std::size_t> series_of;              // cycle -> its samples
  std::map<long, std::set<std::string>> tables_of;    // cycle -> relnames in pghealthd_table_live_tuples
  std::map<long, std::set<std::string>> statio_of;    // cycle -> relnames in the statio families
  std::map<long, std::set<std::string>> indexes_of;   // cycle -> indexrelnames in pghealthd_index_scans_total
  std::map<std::string, double> last_success;         // table collector -> its last success
  double slowest_run = 0;                             // the longest collector run it reports
  std::set<std::string> keys;                         // every series, for a diff against the baseline
};

View look(const Daemon& d) {
  View v;
  for (const auto& s : parse_exposition(d.get("/metrics"))) {
    // Running vacuums come and go with autovacuum (on here, busy with the churned catalogues): their
    // series are no part of a stable picture.
    if (s.name.rfind("pghealthd_vacuum_progress_", 0) == 0) continue;
    ++v.series;
    std::string key = s.name;
    for (const auto& [k, val] : s.labels) key += "," + k + "=" + val;
    v.keys.insert(std::move(key));
    if (s.name == "pghealthd_collector_last_success_timestamp_seconds")
      v.last_success[s.labels.at("collector")] = s.value;
    if (s.name == "pghealthd_collector_duration_seconds") v.slowest_run = std::max(v.slowest_run, s.value);
    const long c = cycle_of(s.labels);
    if (c < 0) continue;
    ++v.series_of[c];
    const auto& rel = s.labels.at("relname");
    if (s.name == "pghealthd_table_live_tuples") v.tables_of[c].insert(rel);
    if (s.name.rfind("pghealthd_table_blocks_", 0) == 0 || s.name == "pghealthd_table_cache_hit_ratio")
      v.statio_of[c].insert(rel);
    if (s.name == "pghealthd_index_scans_total") v.indexes_of[c].insert(s.labels.at("indexrelname"));
  }
  return v;
}

// Completed runs of each table collector since a moment, counted from the distinct last-success times
// seen after it. A run that completed after the drop may have started before it; the one after that
// (a collector never overlaps itself) started after it, so two runs mean every collector has read the
// catalogue since the drop.
struct RunsSince {
  double since = 0;
  std::map<std::string, std::set<double>> seen;
  void observe(const View& v) {
    for (const auto* c : kTableCollectors)
      if (auto it = v.last_success.find(c); it != v.last_success.end() && it->second > since)
        seen[c].insert(it->second);
  }
  [[nodiscard]] bool settled() const {
    for (const auto* c : kTableCollectors)
      if (auto it = seen.find(c); it == seen.end() || it->second.size() < 2) return false;
    return true;
  }
};

std::string mib(std::size_t kib) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(kib) / 1024.0 << " MiB";
  return s.str();
}

}  // namespace

TEST_CASE("churning tables and partitions leaves no stale series and memory flat", "[churn]") {
  const long cycles = env_size("PGHEALTHD_CHURN_CYCLES", 40);
  const long per_cycle = env_size("PGHEALTHD_CHURN_TABLES", 250);
  const long plain = std::max(1L, per_cycle / 2);
  const long parents = std::max(1L, (per_cycle - plain) / 4);
  const long warmup = std::max(2L, cycles / 10);
  REQUIRE(cycles > warmup);

  // Autovacuum on, as on any database whose tables come and go: without it the catalogue keeps every
  // dead row of hundreds of thousands of dropped tables, and each read of it slows down. Not on `keep`,
  // the table that stays: its first automatic analyze would add a series to the baseline.
  Cluster pg(true, /*autovacuum=*/true);
  pg.exec("CREATE TABLE keep (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false);"
          "CREATE INDEX keep_v ON keep (v); INSERT INTO keep SELECT g, g FROM generate_series(1, 100) g;");
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + pg.conninfo() +
           "\"\ncollectors:\n  stat_user_tables: { interval: 1s }\n  statio_user_tables: { interval: 1s }\n"
           "  stat_user_indexes: { interval: 1s }\n  xmin_horizon: { interval: 1s }\n"
           "  vacuum_progress: { interval: 1s }\n  freeze: { interval: 1s }\n  sequences: { interval: 1s }\n");
  // The baseline: every collector has run, and `keep` is seen by all three table collectors (its idx_scan
  // once a stat_user_tables run came after a stat_user_indexes run: it is summed from the latter's).
  REQUIRE(d.wait_for([](const Scrape& s) {
    return s.all("pghealthd_collector_last_success_timestamp_seconds").size() == pghealthd::collectors::kKindCount &&
           s.value("pghealthd_table_live_tuples", {{"relname", "keep"}}).has_value() &&
           s.value("pghealthd_table_index_scans_total", {{"relname", "keep"}}).has_value() &&
           s.value("pghealthd_table_cache_hit_ratio", {{"relname", "keep"}}).has_value() &&
           s.value("pghealthd_index_scans_total", {{"indexrelname", "keep_v"}}).has_value();
  }));
  const View baseline = look(d);

  long relations_churned = 0, indexes_churned = 0;
  double worst_gone_s = 0;  // drop -> no series left, worst cycle
  double slowest_run = 0;
  std::size_t rss_start = 0, peak_start = 0;
  const auto started = std::chrono::steady_clock::now();
  // Polls pghealthd until `done(view)` holds; `check(view)` asserts on every look.
  auto until = [&](const std::string& what, const std::function<bool(const View&)>& done,
                   const std::function<void(const View&)>& check) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      const View v = look(d);
      slowest_run = std::max(slowest_run, v.slowest_run);
      check(v);
      if (done(v)) return;
      if (std::chrono::steady_clock::now() > deadline) {
        const auto log = d.log();
        UNSCOPED_INFO("pghealthd log (tail):\n" << log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
        FAIL(what << ": not within 60 s");
      }
      std::this_thread::sleep_for(100ms);
    }
  };

  for (long c = 0; c < cycles; ++c) {
    INFO("cycle " << c << " of " << cycles);
    pg.exec(create_sql(c, plain, parents));
    const std::string like = "'churn\\_" + std::to_string(c) + "\\_%'";
    const auto want_tables =
        std::stoul(pg.scalar("SELECT count(*) FROM pg_stat_user_tables WHERE relname LIKE " + like));
    const auto want_statio = std::stoul(pg.scalar("SELECT count(*) FROM pg_statio_user_tables WHERE relname LIKE " +
                                                  like + " AND heap_blks_read IS NOT NULL"));
    const auto want_indexes =
        std::stoul(pg.scalar("SELECT count(*) FROM pg_stat_user_indexes WHERE relname LIKE " + like));
    REQUIRE(want_tables == static_cast<std::size_t>(plain + parents * 5));
    auto only_this_cycle = [&](const View& v) {
      for (const auto& [cyc, n] : v.series_of) {
        INFO(n << " series of cycle " << cyc << ", dropped before");
        REQUIRE(cyc == c);  // earlier cycles' series were gone already: none comes back
      }
    };
    // pghealthd shows every relation, statio row and index of this cycle that PostgreSQL lists.
    until(
        "every relation of the cycle exported",
        [&](const View& v) {
          auto size = [&](const auto& m) { return m.count(c) ? m.at(c).size() : std::size_t{0}; };
          return size(v.tables_of) == want_tables && size(v.statio_of) == want_statio &&
                 size(v.indexes_of) == want_indexes;
        },
        only_this_cycle);

    pg.exec(drop_sql(c, plain, parents));
    const double dropped = unix_now();
    RunsSince runs{dropped, {}};
    // Gone, at the latest once every table collector has completed two runs since the drop.
    until(
        "the dropped relations' series gone",
        [&](const View& v) {
          if (v.series_of.count(c)) return false;
          worst_gone_s = std::max(worst_gone_s, unix_now() - dropped);
          return true;
        },
        [&](const View& v) {
          only_this_cycle(v);
          runs.observe(v);
          if (runs.settled()) {
            INFO("every table collector has completed two runs since the drop");
            REQUIRE(v.series_of.count(c) == 0);
          }
        });
    relations_churned += static_cast<long>(want_tables);
    indexes_churned += static_cast<long>(want_indexes);
    if (c + 1 == warmup) {
      rss_start = rss_kib(d.pid());
      peak_start = peak_rss_kib(d.pid());
    }
  }

  // Back to the baseline: the same series, one by one.
  const View end = look(d);
  const std::size_t rss_end = rss_kib(d.pid());
  const std::size_t peak_end = peak_rss_kib(d.pid());
  std::vector<std::string> extra, missing;
  for (const auto& k : end.keys)
    if (!baseline.keys.count(k)) extra.push_back(k);
  for (const auto& k : baseline.keys)
    if (!end.keys.count(k)) missing.push_back(k);
  INFO("series not in the baseline: " << extra.size() << (extra.empty() ? "" : " e.g. " + extra.front()));
  INFO("baseline series gone: " << missing.size() << (missing.empty() ? "" : " e.g. " + missing.front()));
  CHECK(end.series == baseline.series);
  CHECK(extra.empty());
  CHECK(missing.empty());

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const long growth = static_cast<long>(rss_end) - static_cast<long>(rss_start);
  std::ostringstream figures;
  figures << "churn: " << cycles << " cycles, " << relations_churned << " tables and partitions ("
          << per_cycle << " per cycle: " << plain << " plain + " << parents << " partitioned x 4 partitions + "
          << parents << " parents), " << indexes_churned << " indexes, in " << std::fixed << std::setprecision(0)
          << seconds << " s; series " << baseline.series << " -> " << end.series << "; drop -> gone worst "
          << std::setprecision(2) << worst_gone_s << " s, slowest collector run " << slowest_run << " s; RSS after " << warmup << " warm-up cycles "
          << mib(rss_start) << ", at the end " << mib(rss_end) << ", growth " << (growth < 0 ? "-" : "")
          << mib(static_cast<std::size_t>(std::labs(growth))) << "; peak " << mib(peak_start) << " -> "
          << mib(peak_end);
  WARN(figures.str());
  // Flat: what warm-up reached is enough for any number of cycles. A leak per table or per cycle would
  // grow with them; allocator noise stays within a few MiB.
  REQUIRE(rss_start > 0);
  CHECK(growth < static_cast<long>(std::max<std::size_t>(16 * 1024, rss_start / 5)));
}
