// Many databases on one target: the max_connections key, the spread of schedules over the interval, and
// the connection slots the databases of a target share.
#include "base/asio.h"

#include <prometheus/gauge.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/schedule.h"
#include "app/slot_pool.h"
#include "config/load.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using pghealthd::app::next_run;
using pghealthd::app::schedule_fraction;
using pghealthd::app::schedule_phase;
using pghealthd::app::SlotPool;
using pghealthd::config::Config;
using pghealthd::config::Duration;
using pghealthd::config::parse_config;
using pghealthd::config::Problem;
namespace asio = pghealthd::asio;

Config config_of(std::string_view yaml) {
  auto result = parse_config(yaml, ".");
  if (auto* problems = std::get_if<std::vector<Problem>>(&result)) {
    std::string text;
    for (const auto& p : *problems) text += std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + p.message + "\n";
    FAIL("expected a valid configuration, got:\n" << text);
  }
  return std::get<Config>(std::move(result));
}

std::vector<Problem> problems_of(std::string_view yaml) {
  auto result = parse_config(yaml, ".");
  if (std::holds_alternative<Config>(result)) FAIL("expected problems, the configuration was accepted:\n" << yaml);
  return std::get<std::vector<Problem>>(std::move(result));
}

std::string with_target_connection(const std::string& block) {
  return "targets:\n"
         "  - name: main\n"
         "    conninfo: host=db1 dbname=app\n"
         "    connection:\n" +
         block;
}

}  // namespace

// --- max_connections -----------------------------------------------------------------------------------

TEST_CASE("max_connections defaults to 5 and is read at the top level and per target", "[config][connections]") {
  SECTION("default") {
    const auto cfg = config_of("targets:\n  - name: main\n    conninfo: host=db1\n");
    CHECK(cfg.targets[0].connection.max_connections == 5);
  }
  SECTION("a top-level value is inherited, a target's own value wins, other keys inherit independently") {
    const auto cfg = config_of(
        "connection:\n"
        "  max_connections: 3\n"
        "  statement_timeout: 20s\n"
        "targets:\n"
        "  - name: a\n"
        "    conninfo: host=db1\n"
        "  - name: b\n"
        "    conninfo: host=db2\n"
        "    connection:\n"
        "      max_connections: 50\n"
        "  - name: c\n"
        "    conninfo: host=db3\n"
        "    connection:\n"
        "      statement_timeout: 5s\n");
    CHECK(cfg.targets[0].connection.max_connections == 3);
    CHECK(cfg.targets[1].connection.max_connections == 50);
    CHECK(cfg.targets[1].connection.statement_timeout == Duration(20s));
    CHECK(cfg.targets[2].connection.max_connections == 3);
    CHECK(cfg.targets[2].connection.statement_timeout == Duration(5s));
  }
  SECTION("1 is allowed") {
    CHECK(config_of(with_target_connection("      max_connections: 1\n")).targets[0].connection.max_connections == 1);
  }
}

TEST_CASE("max_connections must be a whole number of at least 1, reported at its line and column",
          "[config][connections]") {
  for (const std::string bad : {"0", "-2", "2.5", "five", "\"\"", "[3]", "100000"}) {
    INFO("max_connections: " << bad);
    const auto problems = problems_of(with_target_connection("      max_connections: " + bad + "\n"));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 5);
    CHECK(problems[0].column == 24);
    CHECK_THAT(problems[0].message, Contains("targets[0].connection.max_connections must be a whole number from 1"));
  }
  const auto top = problems_of("connection:\n  max_connections: 0\ntargets:\n  - name: a\n    conninfo: host=db1\n");
  REQUIRE(top.size() == 1);
  CHECK(top[0].line == 2);
  CHECK_THAT(top[0].message, Contains("connection.max_connections must be a whole number from 1"));
}

TEST_CASE("a change of max_connections makes the target differ, so a reload replaces it", "[config][connections]") {
  const auto a = config_of(with_target_connection("      max_connections: 2\n"));
  const auto b = config_of(with_target_connection("      max_connections: 3\n"));
  CHECK_FALSE(a.targets[0] == b.targets[0]);
  CHECK(a.targets[0] == config_of(with_target_connection("      max_connections: 2\n")).targets[0]);
}

// --- the schedule ----------------------------------------------------------------------------------------

TEST_CASE("a database's phase is stable, inside the period, and depends on target and database", "[schedule]") {
  const Duration period = 30s;
  const auto p = schedule_phase("main", "app", period);
  CHECK(p >= Duration(0));
  CHECK(p < period);
  CHECK(schedule_phase("main", "app", period) == p);
  // Pinned: the same names give the same phase on every machine and in every release, so a restart keeps
  // the spread Prometheus and PostgreSQL already see.
  CHECK(p == Duration(18192));
  CHECK(schedule_phase("bench", "db_01", 30s) == Duration(793));
  CHECK(schedule_phase("main", "app", 30s) != schedule_phase("main", "app2", 30s));
  CHECK(schedule_phase("main", "app", 30s) != schedule_phase("other", "app", 30s));
  CHECK(schedule_fraction("ab", "c") != schedule_fraction("a", "bc"));
  CHECK(schedule_phase("main", "app", 1ms) == Duration(0));
}

TEST_CASE("the phases of many similarly named databases spread over the whole period", "[schedule]") {
  // 200 databases db_000 ... db_199 into ten tenths of the period: each tenth gets some, none gets most.
  std::array<int, 10> tenths{};
  for (int i = 0; i < 200; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "db_%03d", i);
    const double f = schedule_fraction("bench", name);
    REQUIRE(f >= 0.0);
    REQUIRE(f < 1.0);
    ++tenths[static_cast<std::size_t>(f * 10)];
  }
  for (int n : tenths) {
    CHECK(n >= 8);
    CHECK(n <= 35);
  }
  // And as a schedule: 50 databases at one collector each with a 30 s interval never put more than a
  // handful of runs into the same second.
  std::array<int, 30> per_second{};
  for (int i = 0; i < 50; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "db_%03d", i);
    ++per_second[static_cast<std::size_t>(schedule_phase("bench", name, 30s) / 1s)];
  }
  CHECK(*std::max_element(per_second.begin(), per_second.end()) <= 6);
}

TEST_CASE("runs fall on phase + k * interval after the immediate first one, without catching up", "[schedule]") {
  const Duration phase = 7s, interval = 30s;
  CHECK(next_run(phase, interval, 0s) == Duration(37s));  // the first run was at 0
  CHECK(next_run(phase, interval, 36999ms) == Duration(37s));
  CHECK(next_run(phase, interval, 37s) == Duration(67s));
  CHECK(next_run(phase, interval, 40s) == Duration(67s));
  CHECK(next_run(phase, interval, 100s) == Duration(127s));  // late: the missed runs at 67 and 97 are not made up
  CHECK(next_run(0s, interval, 0s) == Duration(30s));
  CHECK(next_run(0s, interval, 30s) == Duration(60s));
}

// --- the slots -------------------------------------------------------------------------------------------

namespace {

struct Log {
  std::vector<std::string> events;
  int held = 0;
  int most_held = 0;
};

// Acquires, notes it, holds for `hold`, releases. A coroutine function, not a capturing lambda.
asio::awaitable<void> use_slot(std::shared_ptr<SlotPool::Member> m, std::string name, std::shared_ptr<Log> log,
                               std::chrono::milliseconds hold) {
  const bool got = co_await m->acquire();
  if (!got) {
    log->events.push_back(name + " left");
    co_return;
  }
  log->events.push_back(name + " got");
  log->most_held = std::max(log->most_held, ++log->held);
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(hold);
  co_await t.async_wait(asio::use_awaitable);
  --log->held;
  m->release();
}

// Runs the loop for a while, or until it has nothing left to do; restart() first, since a loop that ran
// out of work stays stopped.
void pump(asio::io_context& loop, std::chrono::milliseconds d) {
  loop.restart();
  loop.run_for(d);
}
void drain(asio::io_context& loop) {
  loop.restart();
  loop.run();
}

asio::awaitable<void> take(std::shared_ptr<SlotPool::Member> m, bool* got) { *got = co_await m->acquire(); }

}  // namespace

TEST_CASE("slots: at most capacity holders, the others served first come first served", "[slots]") {
  asio::io_context loop;
  prometheus::Gauge in_use, waiting;
  auto pool = std::make_shared<SlotPool>(loop.get_executor(), 2, &in_use, &waiting);
  auto log = std::make_shared<Log>();
  std::vector<std::shared_ptr<SlotPool::Member>> members;
  for (int i = 0; i < 5; ++i) members.push_back(pool->join({}));
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(loop, use_slot(members[i], "m" + std::to_string(i), log, 20ms), asio::detached);
  pump(loop, 5ms);
  CHECK(in_use.Value() == 2);
  CHECK(waiting.Value() == 3);
  drain(loop);
  CHECK(log->most_held == 2);
  CHECK(log->events == std::vector<std::string>{"m0 got", "m1 got", "m2 got", "m3 got", "m4 got"});
  CHECK(in_use.Value() == 0);
  CHECK(waiting.Value() == 0);
}

TEST_CASE("slots: an idle holder is asked to give its slot back only when someone waits", "[slots]") {
  asio::io_context loop;
  auto pool = std::make_shared<SlotPool>(loop.get_executor(), 1);
  int asked = 0;
  auto holder = pool->join([&asked] { ++asked; });
  auto log = std::make_shared<Log>();
  asio::co_spawn(loop, use_slot(holder, "holder", log, 10ms), asio::detached);
  drain(loop);
  REQUIRE(pool->in_use() == 0);
  // The holder takes the slot again and goes idle, with nobody else around: it keeps it.
  bool got = false;
  asio::co_spawn(loop, take(holder, &got), asio::detached);
  drain(loop);
  REQUIRE(got);
  auto second = pool->join({});
  holder->idle(true);
  pump(loop, 5ms);
  CHECK(asked == 0);
  CHECK_FALSE(holder->others_waiting());
  // Someone starts waiting: the idle holder is asked once; its release hands the slot over.
  asio::co_spawn(loop, use_slot(second, "second", log, 1ms), asio::detached);
  pump(loop, 5ms);
  CHECK(asked == 1);
  CHECK(holder->others_waiting());
  CHECK(pool->waiting() == 1);
  holder->release();
  drain(loop);
  CHECK(log->events.back() == "second got");
  CHECK(asked == 1);
  CHECK(pool->in_use() == 0);
}

TEST_CASE("slots: leaving while waiting ends the wait, leaving while holding frees the slot", "[slots]") {
  asio::io_context loop;
  auto pool = std::make_shared<SlotPool>(loop.get_executor(), 1);
  auto log = std::make_shared<Log>();
  auto a = pool->join({}), b = pool->join({}), c = pool->join({});
  asio::co_spawn(loop, use_slot(a, "a", log, 50ms), asio::detached);
  asio::co_spawn(loop, use_slot(b, "b", log, 1ms), asio::detached);
  asio::co_spawn(loop, use_slot(c, "c", log, 1ms), asio::detached);
  pump(loop, 5ms);
  REQUIRE(pool->waiting() == 2);
  b->leave();
  pump(loop, 5ms);
  CHECK(pool->waiting() == 1);
  a->leave();  // holding: c gets the slot at once, long before a's 50 ms are over
  pump(loop, 5ms);
  CHECK(log->events == std::vector<std::string>{"a got", "b left", "c got"});
  drain(loop);
  CHECK(pool->in_use() == 0);
}

TEST_CASE("slots: try_acquire takes only a free slot nobody waits for, and never waits", "[slots]") {
  asio::io_context loop;
  prometheus::Gauge in_use, waiting;
  auto pool = std::make_shared<SlotPool>(loop.get_executor(), 2, &in_use, &waiting);
  auto first = pool->join({});
  auto extra = pool->join({});
  auto third = pool->join({});
  CHECK(first->try_acquire());
  CHECK(extra->try_acquire());
  CHECK(extra->try_acquire());  // already holding: still true, nothing more taken
  CHECK(in_use.Value() == 2);
  CHECK_FALSE(third->try_acquire());  // full
  extra->release();
  // A member that waits (the pool was full when it asked) goes before any try_acquire.
  first->release();
  CHECK(first->try_acquire());
  bool got = false;
  auto log = std::make_shared<Log>();
  asio::co_spawn(loop, use_slot(third, "third", log, 50ms), asio::detached);
  auto fourth = pool->join({});
  pump(loop, 5ms);
  CHECK(in_use.Value() == 2);  // first and third
  asio::co_spawn(loop, take(fourth, &got), asio::detached);
  pump(loop, 5ms);
  CHECK(waiting.Value() == 1);
  first->release();  // the slot goes to the waiting member, not to a try_acquire
  CHECK_FALSE(extra->try_acquire());
  drain(loop);
  CHECK(got);
  CHECK_FALSE(extra->holding());
}

TEST_CASE("pick_next: the slowest of a cycle's collectors first, but never one queued later before an older one",
          "[schedule]") {
  using pghealthd::app::pick_next;
  using pghealthd::app::Queued;
  using pghealthd::collectors::Kind;
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  std::array<double, pghealthd::collectors::kKindCount> last{};
  last[static_cast<std::size_t>(Kind::kStatUserTables)] = 2.6;
  last[static_cast<std::size_t>(Kind::kStatioUserTables)] = 4.2;
  last[static_cast<std::size_t>(Kind::kVacuumProgress)] = 0.01;
  // A cycle's collectors, queued together: the slowest (statio) first.
  std::deque<Queued> cycle{{Kind::kStatUserTables, t0}, {Kind::kStatioUserTables, t0 + 1ms},
                           {Kind::kVacuumProgress, t0 + 2ms}};
  CHECK(pick_next(cycle, last, 250ms) == 1);
  // First run (nothing known yet): first come, first served.
  CHECK(pick_next(cycle, {}, 250ms) == 0);
  // Under load: vacuum_progress has waited since t0; the slow ones queued again a second later do not pass it.
  std::deque<Queued> busy{{Kind::kVacuumProgress, t0}, {Kind::kStatUserTables, t0 + 1s},
                          {Kind::kStatioUserTables, t0 + 1s}};
  CHECK(pick_next(busy, last, 250ms) == 0);
}

TEST_CASE("share_statistics: the statistics collectors due together share a transaction while they are fast",
          "[schedule]") {
  using pghealthd::app::next_reading_statistics;
  using pghealthd::app::Queued;
  using pghealthd::app::share_statistics;
  using pghealthd::collectors::Kind;
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  const std::chrono::duration<double> within(2.0);
  std::array<double, pghealthd::collectors::kKindCount> last{};
  last[static_cast<std::size_t>(Kind::kStatUserTables)] = 0.05;
  last[static_cast<std::size_t>(Kind::kStatioUserTables)] = 0.08;
  last[static_cast<std::size_t>(Kind::kStatUserIndexes)] = 0.04;
  std::deque<Queued> cycle{{Kind::kXminHorizon, t0}, {Kind::kStatUserTables, t0},
                           {Kind::kStatioUserTables, t0}, {Kind::kStatUserIndexes, t0}};
  CHECK(share_statistics(cycle, 2, last, within));
  CHECK(share_statistics(cycle, 1, {}, within));  // first run: nothing known, shared
  // xmin_horizon reads no cumulative statistics: it opens no transaction.
  CHECK_FALSE(share_statistics(cycle, 0, last, within));
  // The next to join is the first statistics collector still queued, the picked one removed; one queued
  // after the transaction began waits for its own.
  cycle.erase(cycle.begin() + 2);
  REQUIRE(next_reading_statistics(cycle, t0) == std::optional<std::size_t>(1));
  cycle[1].since = t0 + 1s;
  REQUIRE(next_reading_statistics(cycle, t0) == std::optional<std::size_t>(2));
  cycle[2].since = t0 + 1s;
  CHECK(next_reading_statistics(cycle, t0) == std::nullopt);
  CHECK(next_reading_statistics(cycle, t0 + 1s) == std::optional<std::size_t>(1));
  // Alone in the queue: nobody to share with.
  const std::deque<Queued> alone{{Kind::kStatUserTables, t0}, {Kind::kFreeze, t0}};
  CHECK_FALSE(share_statistics(alone, 0, last, within));
  CHECK(next_reading_statistics(std::deque<Queued>{{Kind::kFreeze, t0}, {Kind::kBloat, t0}}, t0) == std::nullopt);
  // At 100,000 tables (2.6 + 4.2 s) they run apart, on lanes.
  last[static_cast<std::size_t>(Kind::kStatUserTables)] = 2.6;
  last[static_cast<std::size_t>(Kind::kStatioUserTables)] = 4.2;
  CHECK_FALSE(share_statistics(cycle, 1, last, within));
}
