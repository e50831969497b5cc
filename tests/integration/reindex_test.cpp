// Automatic REINDEX INDEX CONCURRENTLY (issue 15, part 2) on a real server: bloated btree indexes (a unique
// one, a primary key, a partition's) are rebuilt one at a time, shrink by at least half, stay valid and
// enforcing while a writer inserts throughout without an error, and are counted from what the catalog
// shows; a long transaction makes the rebuild give up at lock_timeout (lock_not_available, no hang) and the
// invalid copy it leaves is dropped once the transaction ends; a pghealthd killed with -9 in the middle
// leaves a copy that the next start drops; a role that may not rebuild is refused once, not in a loop.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

// orders: 200,000 rows, 90% deleted all over the key range and vacuumed: its primary key and its unique
// index on code keep a tenth of their entries on as many pages (about 90% bloated, 4 and 12 MB).
// The DELETE's counts must reach the server's statistics before the ANALYZE: counted after it, they would
// make the statistics look stale (and the estimate refuse).
void delete_and_analyze(const Cluster& pg, const std::string& table, const std::string& where, int deleted) {
  pg.exec("DELETE FROM " + table + " WHERE " + where + ";\n" + kFlushStats);
  REQUIRE(eventually([&] {
    return pg.scalar("SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = '" + table + "'") ==
           std::to_string(deleted);
  }));
  pg.exec("VACUUM ANALYZE " + table + ";");
}

void bloat_orders(const Cluster& pg) {
  pg.exec("CREATE TABLE orders (id int PRIMARY KEY, code text UNIQUE, pad text);\n"
          "INSERT INTO orders SELECT g, md5(g::text), 'x' FROM generate_series(1, 200000) g;\n");
  delete_and_analyze(pg, "orders", "id % 10 <> 0", 180000);
}

// Inserts into orders from its own session until stopped, ~50 rows a second (few enough that orders'
// statistics stay fresh for the bloat estimate); counts every error it meets.
class Writer {
 public:
  explicit Writer(const Cluster& pg) : thread_([this, conninfo = pg.conninfo()] { write(conninfo); }) {}
  ~Writer() { stop(); }
  void stop() {
    writing_ = false;
    if (thread_.joinable()) thread_.join();
  }
  int written = 0, errors = 0;  // read after stop()
  std::string first_error;

 private:
  void write(const std::string& conninfo) {
    Session s(conninfo);
    for (int id = 300000; writing_; ++id) {
      try {
        s.exec("INSERT INTO orders VALUES (" + std::to_string(id) + ", md5('" + std::to_string(id) + "'), 'w')");
        ++written;
      } catch (const std::exception& e) {
        if (errors++ == 0) first_error = e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::atomic<bool> writing_{true};
  std::thread thread_;
};

std::string config_for(const Cluster& pg, const std::string& lock_timeout, const std::string& extra = "",
                       const std::string& conninfo = "", const std::string& min_size_bytes = "500000") {
  return "log_level: debug\n"
         "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + (conninfo.empty() ? pg.conninfo() : conninfo) + "\"\n"
         "collectors:\n"
         "  stat_user_tables: { interval: 300ms }\n"
         "  bloat: { interval: 1s }\n"
         "vacuum:\n"
         "  lock_timeout: " + lock_timeout + "\n"
         "reindex:\n"
         "  enabled: true\n"
         "  min_size_bytes: " + min_size_bytes + "\n"
         "  max_per_day: 10\n" + extra;
}

// A session in a transaction with an old snapshot (committed by the caller): a concurrent rebuild waits for it.
std::unique_ptr<Session> old_snapshot(const Cluster& pg) {
  auto s = std::make_unique<Session>(pg.conninfo());
  s->exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  s->exec("SELECT count(*) FROM orders");
  return s;
}

double runs(const Scrape& s, const std::string& index, const std::string& result) {
  return s.value("pghealthd_reindex_runs_total", {{"indexrelname", index}, {"result", result}}).value_or(0);
}

double skipped(const Scrape& s, const std::string& index, const std::string& reason) {
  return s.value("pghealthd_reindex_skipped_total", {{"indexrelname", index}, {"reason", reason}}).value_or(0);
}

std::string invalid_indexes(const Cluster& pg) {
  return pg.scalar("SELECT coalesce(string_agg(indexrelid::regclass::text, ',' ORDER BY 1), '') FROM pg_index "
                   "WHERE NOT indisvalid");
}

}  // namespace

TEST_CASE("bloated btree indexes are rebuilt concurrently, shrink, stay valid and enforcing, and a writer sees "
          "no error",
          "[versions]") {
  Cluster pg;
  bloat_orders(pg);
  // A partitioned table: its partition's index is rebuilt (a partitioned index has no storage of its own).
  pg.exec("CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);\n"
          "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
          "INSERT INTO events SELECT g, '2026-06-01' FROM generate_series(1, 100000) g;\n");
  delete_and_analyze(pg, "events_2026", "id % 10 <> 0", 90000);
  const auto size = [&](const std::string& index) {
    return std::stoll(pg.scalar("SELECT pg_relation_size('" + index + "')"));
  };
  const auto code_before = size("orders_code_key"), pkey_before = size("orders_pkey"),
             events_before = size("events_2026_pkey");

  Writer writer(pg);
  Daemon d(config_for(pg, "5s"));
  const auto done = d.wait_for(
      [](const Scrape& s) {
        return runs(s, "orders_code_key", "success") == 1 && runs(s, "orders_pkey", "success") == 1 &&
               runs(s, "events_2026_pkey", "success") == 1;
      },
      std::chrono::seconds(90));
  if (!done) WARN(run("curl -s http://127.0.0.1:" + std::to_string(d.port()) + "/metrics | grep -E 'bloat|reindex_runs' | grep -v '^#'"));
  INFO(d.log());
  REQUIRE(done);
  writer.stop();
  INFO("first writer error: " << writer.first_error);
  CHECK(writer.errors == 0);
  CHECK(writer.written > 0);

  // Each at most half its size, valid; the unique index still refuses a duplicate.
  CHECK(size("orders_code_key") * 2 <= code_before);
  CHECK(size("orders_pkey") * 2 <= pkey_before);
  CHECK(size("events_2026_pkey") * 2 <= events_before);
  CHECK(invalid_indexes(pg).empty());
  CHECK(pg.scalar("SELECT bool_and(indisvalid AND indisready) FROM pg_index WHERE indrelid = 'orders'::regclass") == "t");
  CHECK_THROWS_WITH(pg.sql("INSERT INTO orders VALUES (-1, md5('10'), 'dup')"), Catch::Contains("duplicate key"));

  // What was given back is what the catalog shows, and each index was rebuilt once (cooldown by name: a
  // rebuilt index has a new OID, and the bloat numbers are an hour old in production).
  const auto s = d.scrape();
  const double reclaimed = s.value("pghealthd_reindex_bytes_reclaimed_total", {}).value_or(0);
  CHECK(reclaimed >= static_cast<double>(code_before + pkey_before + events_before) / 2);
  CHECK(runs(s, "orders_code_key", "lock_not_available") == 0);
  CHECK_THAT(d.log(), Catch::Contains("reindex finished target=t datname=postgres index=\"public\".\"orders_code_key\" "
                                      "result=success"));
  // The next bloat runs see the rebuilt indexes as they are now; none is rebuilt again.
  CHECK(d.wait_for([](const Scrape& later) {
    const auto ratio =
        later.value("pghealthd_index_bloat_ratio", {{"indexrelname", "orders_code_key"}, {"method", "estimate"}});
    return ratio && *ratio < 0.3;
  }));
  CHECK(runs(d.scrape(), "orders_code_key", "success") == 1);
}

TEST_CASE("a long transaction makes REINDEX give up at lock_timeout, and its leftover is dropped when it ends") {
  Cluster pg;
  bloat_orders(pg);
  auto reader = old_snapshot(pg);

  Daemon d(config_for(pg, "1s", "  min_bloat_ratio: 0.5\n"));
  const auto failed = d.wait_for([](const Scrape& s) {
    return runs(s, "orders_code_key", "lock_not_available") >= 1 && runs(s, "orders_pkey", "lock_not_available") >= 1;
  });
  INFO(d.log());
  REQUIRE(failed);
  // Its copy is left (the drop waits for the same transaction), and said so once.
  CHECK_THAT(invalid_indexes(pg), Catch::Contains("_ccnew"));
  CHECK_THAT(d.log(), Catch::Contains("cannot drop an invalid index left by a failed REINDEX CONCURRENTLY"));

  reader->exec("COMMIT");
  REQUIRE(eventually([&] { return invalid_indexes(pg).empty(); }));
  // (The catalog shows the drop a moment before pghealthd has checked it and counted it.)
  CHECK(d.wait_for([](const Scrape& s) {
    return s.value("pghealthd_reindex_leftovers_dropped_total", {}).value_or(0) >= 2;
  }));
  CHECK_THAT(d.log(), Catch::Contains("dropped an invalid index left by a failed REINDEX CONCURRENTLY"));
  // Tried once a day: no loop.
  CHECK(runs(d.scrape(), "orders_code_key", "lock_not_available") == 1);
}

TEST_CASE("an index someone else is rebuilding is left to them, and so is the copy they are building") {
  Cluster pg;
  bloat_orders(pg);
  auto reader = old_snapshot(pg);
  // A DBA's own REINDEX CONCURRENTLY, waiting for the reader: its copy is invalid while it runs.
  std::thread dba([conninfo = pg.conninfo()] {
    try {
      Session s(conninfo);
      s.exec("REINDEX INDEX CONCURRENTLY orders_code_key");
    } catch (const std::exception&) {
    }
  });
  struct Join {
    std::thread& t;
    ~Join() { t.join(); }
  } join{dba};
  REQUIRE(eventually([&] {
    return pg.scalar("SELECT count(*) FROM pg_stat_progress_create_index") == "1" &&
           invalid_indexes(pg) == "orders_code_key_ccnew";
  }));

  Daemon d(config_for(pg, "1s"));
  const bool waits = d.wait_for([](const Scrape& s) {
    return skipped(s, "orders_pkey", "index_build_running") >= 2 && skipped(s, "orders_code_key", "index_build_running") >= 2;
  }).has_value();
  INFO(d.log());
  CHECK(waits);
  // Neither a rebuild of ours on that table, nor a drop of their copy (found at our first check).
  CHECK(invalid_indexes(pg) == "orders_code_key_ccnew");
  const auto s = d.scrape();
  CHECK(s.value("pghealthd_reindex_leftovers_dropped_total", {}).value_or(0) == 0);
  CHECK(runs(s, "orders_code_key", "lock_not_available") + runs(s, "orders_pkey", "lock_not_available") == 0);

  reader->exec("COMMIT");  // their rebuild goes on and finishes
  REQUIRE(eventually([&] { return invalid_indexes(pg).empty(); }));
}

TEST_CASE("a pghealthd killed in the middle of a REINDEX leaves an invalid copy that its next start drops") {
  Cluster pg;
  bloat_orders(pg);
  auto reader = old_snapshot(pg);
  {
    // lock_timeout long: the rebuild waits for the reader, and is killed while it waits.
    Daemon d(config_for(pg, "60s"));
    // (As long as the first test's wait: a collection, an estimate and a decision come first. With 30 s it
    // failed once under ctest -j2, its output lost; 15 runs since, alone and three at a time, passed.)
    const auto waiting = eventually(
        [&] {
          return pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'REINDEX INDEX CONCURRENTLY%'") ==
                     "1" &&
                 invalid_indexes(pg).find("_ccnew") != std::string::npos;
        },
        std::chrono::seconds(90));
    INFO(d.log());
    REQUIRE(waiting);
    ::kill(d.pid(), SIGKILL);
    d.stop();
  }
  // The server ends the orphan (14+ notices the lost client itself; 13 only when it next writes to it).
  pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'REINDEX INDEX CONCURRENTLY%'");
  reader->exec("COMMIT");
  REQUIRE(eventually([&] {
    return pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'REINDEX INDEX CONCURRENTLY%'") == "0";
  }));
  REQUIRE_THAT(invalid_indexes(pg), Catch::Contains("_ccnew"));

  Daemon again(config_for(pg, "5s", "", "", "1000000000"));  // (nothing to rebuild: the leftover only)
  const bool clean = eventually([&] { return invalid_indexes(pg).empty(); }, std::chrono::seconds(90));
  INFO(again.log());
  REQUIRE(clean);
  // (The catalog shows the drop a moment before pghealthd has checked it, counted it and said so.)
  CHECK(again.wait_for([](const Scrape& s) {
    return s.value("pghealthd_reindex_leftovers_dropped_total", {}).value_or(0) == 1;
  }));
  CHECK_THAT(again.log(), Catch::Contains("dropped an invalid index left by a failed REINDEX CONCURRENTLY"));
}

TEST_CASE("a role that may not rebuild an index is refused once, and nothing is claimed") {
  Cluster pg;
  bloat_orders(pg);
  // It may read the table (so its statistics, and the estimate), not rebuild its indexes.
  pg.exec("CREATE ROLE watcher LOGIN IN ROLE pg_monitor;\nGRANT SELECT ON orders TO watcher;");
  const auto conninfo = pg.conninfo() + " user=watcher";
  Daemon d(config_for(pg, "5s", "", conninfo));
  const auto refused = d.wait_for([](const Scrape& s) {
    return runs(s, "orders_code_key", "permission_denied") == 1 && runs(s, "orders_pkey", "permission_denied") == 1;
  });
  INFO(d.log());
  REQUIRE(refused);
  CHECK(d.wait_for([](const Scrape& s) {
    return skipped(s, "orders_pkey", "cooldown") >= 2 && skipped(s, "orders_code_key", "cooldown") >= 2;
  }));
  const auto s = d.scrape();
  CHECK(runs(s, "orders_code_key", "permission_denied") == 1);
  CHECK(runs(s, "orders_code_key", "success") == 0);
  CHECK(s.value("pghealthd_reindex_bytes_reclaimed_total", {}).value_or(0) == 0);
  CHECK(invalid_indexes(pg).empty());
}
