// The pure ratio functions behind pghealthd_table_dead_tuple_ratio, pghealthd_table_cache_hit_ratio,
// pghealthd_index_unused and pghealthd_vacuum_progress_ratio.
#include <catch2/catch.hpp>

#include <optional>

#include "model/stats.h"

namespace {

using pghealthd::model::cache_hit_ratio;
using pghealthd::model::Count;
using pghealthd::model::dead_tuple_ratio;
using pghealthd::model::index_unused;
using pghealthd::model::IndexStats;
using pghealthd::model::vacuum_progress_ratio;

IndexStats index_with(Count scans, bool enforces_constraint) {
  IndexStats i;
  i.schemaname = "public";
  i.relname = "orders";
  i.indexrelname = "orders_customer_idx";
  i.scans = scans;
  i.enforces_constraint = enforces_constraint;
  return i;
}

}  // namespace

// --- dead_tuple_ratio -----------------------------------------------------------------------------------

TEST_CASE("an empty table has dead ratio 0", "[ratios]") {
  const auto r = dead_tuple_ratio(0, 0);
  REQUIRE(r.has_value());
  CHECK(*r == 0.0);
}

TEST_CASE("a table whose rows were all deleted has dead ratio 1", "[ratios]") {
  const auto r = dead_tuple_ratio(0, 5000);
  REQUIRE(r.has_value());
  CHECK(*r == 1.0);
}

TEST_CASE("900 live and 100 dead rows give dead ratio 0.1", "[ratios]") {
  const auto r = dead_tuple_ratio(900, 100);
  REQUIRE(r.has_value());
  CHECK(*r == 0.1);  // 100.0 / 1000.0 rounds to the same double as the literal
}

TEST_CASE("dead ratio is dead over all rows, not dead over live", "[ratios]") {
  // 100 live, 100 dead: half the rows are dead (dead/live would say 1).
  CHECK(dead_tuple_ratio(100, 100) == 0.5);
  // 100 live, 300 dead: three quarters (dead/live would say 3, outside 0..1).
  CHECK(dead_tuple_ratio(100, 300) == 0.75);
}

TEST_CASE("a table without dead rows has dead ratio 0", "[ratios]") {
  CHECK(dead_tuple_ratio(1234, 0) == 0.0);
}

TEST_CASE("dead ratio is absent when live or dead is NULL", "[ratios]") {
  CHECK_FALSE(dead_tuple_ratio(std::nullopt, 10).has_value());
  CHECK_FALSE(dead_tuple_ratio(10, std::nullopt).has_value());
  CHECK_FALSE(dead_tuple_ratio(std::nullopt, std::nullopt).has_value());
}

TEST_CASE("dead ratio stays within 0..1 even for negative estimates", "[ratios]") {
  CHECK(dead_tuple_ratio(-5, 10) == 1.0);
  CHECK(dead_tuple_ratio(10, -5) == 0.0);
}

// --- cache_hit_ratio ------------------------------------------------------------------------------------

TEST_CASE("a table that was never read has no cache hit ratio", "[ratios]") {
  CHECK_FALSE(cache_hit_ratio(0, 0).has_value());
}

TEST_CASE("cache hit ratio is absent when hit or read is NULL", "[ratios]") {
  CHECK_FALSE(cache_hit_ratio(std::nullopt, 10).has_value());
  CHECK_FALSE(cache_hit_ratio(10, std::nullopt).has_value());
  CHECK_FALSE(cache_hit_ratio(std::nullopt, std::nullopt).has_value());
}

TEST_CASE("cache hit ratio is hits over hits plus reads", "[ratios]") {
  CHECK(cache_hit_ratio(3, 1) == 0.75);  // 3 of 4 blocks from shared buffers
  CHECK(cache_hit_ratio(1, 3) == 0.25);  // argument order: hit first, then read
  CHECK(cache_hit_ratio(99, 1) == 0.99);
  CHECK(cache_hit_ratio(1, 1) == 0.5);
}

TEST_CASE("a table served only from shared buffers has cache hit ratio 1", "[ratios]") {
  CHECK(cache_hit_ratio(500, 0) == 1.0);
}

TEST_CASE("a table read only from disk has cache hit ratio 0", "[ratios]") {
  const auto r = cache_hit_ratio(0, 500);
  REQUIRE(r.has_value());
  CHECK(*r == 0.0);
}

// --- index_unused ---------------------------------------------------------------------------------------

constexpr double kDay = 86400, kWeek = 7 * kDay;

TEST_CASE("an index never scanned that enforces nothing is unused once the statistics are old enough", "[ratios]") {
  CHECK(index_unused(index_with(0, false), 8 * kDay, kWeek) == 1.0);
  CHECK(index_unused(index_with(0, false), kWeek, kWeek) == 1.0);
  CHECK(index_unused(index_with(0, false), kWeek - 1, kWeek) == 0.0);  // a day after a reset or restore: no verdict
  CHECK(index_unused(index_with(0, false), std::nullopt, kWeek) == 0.0);  // age unknown: no verdict
  CHECK(index_unused(index_with(0, false), std::nullopt, 0) == 0.0);
  CHECK(index_unused(index_with(0, false), 0.0, 0) == 1.0);  // unused_min_stats_age: 0 judges at once
}

TEST_CASE("a primary key or unique index is never reported unused, even without scans", "[ratios]") {
  const auto r = index_unused(index_with(0, true), 30 * kDay, kWeek);
  REQUIRE(r.has_value());
  CHECK(*r == 0.0);
}

TEST_CASE("the table's replica identity index is never reported unused", "[ratios]") {
  auto i = index_with(0, false);
  i.replica_identity = true;
  CHECK(index_unused(i, 30 * kDay, kWeek) == 0.0);
}

TEST_CASE("an index that was scanned is not unused", "[ratios]") {
  CHECK(index_unused(index_with(1, false), 30 * kDay, kWeek) == 0.0);
  CHECK(index_unused(index_with(1'000'000, true), 30 * kDay, kWeek) == 0.0);
}

TEST_CASE("index unused is absent when idx_scan is NULL", "[ratios]") {
  CHECK_FALSE(index_unused(index_with(std::nullopt, false), 30 * kDay, kWeek).has_value());
  CHECK_FALSE(index_unused(index_with(std::nullopt, true), 30 * kDay, kWeek).has_value());
}

TEST_CASE("statistics age: since the reset by the server's clock, else since pghealthd began watching", "[ratios]") {
  using pghealthd::model::DatabaseStatistics;
  using pghealthd::model::statistics_age;
  using pghealthd::model::watched_since;
  DatabaseStatistics reset;
  reset.reset_timestamp = 1000;
  reset.server_now = 1000 + 3 * kDay;
  reset.transactions = 50;
  CHECK(*statistics_age(reset, 999999) == 3 * kDay);  // the daemon's clock does not enter
  CHECK_FALSE(watched_since(std::nullopt, reset, 5000).has_value());

  DatabaseStatistics never;  // never reset: judged from pghealthd's first reading
  never.server_now = 1;
  never.transactions = 100;
  never.watched_since = watched_since(std::nullopt, never, 5000);
  CHECK(*never.watched_since == 5000);
  CHECK(*statistics_age(never, 5000 + kDay) == kDay);
  DatabaseStatistics later = never;  // transactions grew: the same unbroken statistics
  later.transactions = 150;
  later.watched_since = watched_since(never, later, 9000);
  CHECK(*later.watched_since == 5000);
  DatabaseStatistics crashed = later;  // fewer transactions than before: a crash or restore lost them
  crashed.transactions = 3;
  crashed.watched_since = watched_since(later, crashed, 12000);
  CHECK(*crashed.watched_since == 12000);
  DatabaseStatistics unknown;  // neither a reset time nor a reading of pghealthd's
  CHECK_FALSE(statistics_age(unknown, 5000).has_value());
}

// --- vacuum_progress_ratio ------------------------------------------------------------------------------

TEST_CASE("vacuum progress is heap blocks scanned over heap blocks in total", "[ratios]") {
  CHECK(vacuum_progress_ratio(2000, 500) == 0.25);
  CHECK(vacuum_progress_ratio(2000, 0) == 0.0);
  CHECK(vacuum_progress_ratio(2000, 2000) == 1.0);
}

TEST_CASE("vacuum progress is absent for an empty heap or unknown counts", "[ratios]") {
  CHECK_FALSE(vacuum_progress_ratio(0, 0).has_value());
  CHECK_FALSE(vacuum_progress_ratio(std::nullopt, 5).has_value());
  CHECK_FALSE(vacuum_progress_ratio(10, std::nullopt).has_value());
  CHECK_FALSE(vacuum_progress_ratio(-1, 0).has_value());
}

TEST_CASE("vacuum progress stays within 0..1 even for inconsistent counts", "[ratios]") {
  CHECK(vacuum_progress_ratio(10, 20) == 1.0);
  CHECK(vacuum_progress_ratio(10, -3) == 0.0);
}

TEST_CASE("effective_freeze: a table's reloptions can only lower the server's freeze max ages", "[ratios]") {
  using pghealthd::model::effective_freeze;
  using pghealthd::model::FreezeSettings;
  const FreezeSettings server{200000000, 400000000};
  CHECK(effective_freeze(server, "{autovacuum_freeze_max_age=100000}").freeze_max_age == 100000);
  CHECK(effective_freeze(server, "{autovacuum_freeze_max_age=100000}").multixact_freeze_max_age == 400000000);
  CHECK(effective_freeze(server, "{autovacuum_multixact_freeze_max_age=150000000}").multixact_freeze_max_age ==
        150000000);
  // Larger than the server's: autovacuum ignores it.
  CHECK(effective_freeze(server, "{autovacuum_freeze_max_age=1000000000}").freeze_max_age == 200000000);
  // -1 means the server's; junk and other options change nothing.
  CHECK(effective_freeze(server, "{autovacuum_freeze_max_age=-1}").freeze_max_age == 200000000);
  CHECK(effective_freeze(server, "{fillfactor=70,autovacuum_freeze_max_age=12x}").freeze_max_age == 200000000);
  CHECK(effective_freeze(server, "not an array").freeze_max_age == 200000000);
  CHECK(effective_freeze(server, "{fillfactor=70,\"autovacuum_freeze_max_age=500000\"}").freeze_max_age == 500000);
}

TEST_CASE("freeze_due_ratio: the nearer of the two limits, 1 when an anti-wraparound vacuum is due", "[ratios]") {
  pghealthd::model::FreezeAge t;
  t.freeze_max_age = 200000000;
  t.multixact_freeze_max_age = 400000000;
  CHECK_FALSE(pghealthd::model::freeze_due_ratio(t).has_value());  // no age known
  t.xid_age = 100000000;
  CHECK(*pghealthd::model::freeze_due_ratio(t) == Approx(0.5));
  t.mxid_age = 300000000;
  CHECK(*pghealthd::model::freeze_due_ratio(t) == Approx(0.75));  // multixacts nearer their limit
  t.xid_age = 200000000;
  CHECK(*pghealthd::model::freeze_due_ratio(t) == Approx(1.0));
  t.xid_age = -5;  // never in practice; clamped rather than exported negative
  t.mxid_age = std::nullopt;
  CHECK(*pghealthd::model::freeze_due_ratio(t) == 0.0);
}
