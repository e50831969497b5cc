// pg::Canceller, the bounded queue that runs cancel requests on threads of its own, with plain jobs (no
// database): jobs run off the caller's thread, at most N at once, a blocked job does not hold up the
// other thread, a full queue drops and counts, and drain() waits for what is queued. Jobs block on latches
// the test releases; nothing sleeps.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pg/canceller.h"

namespace {

using namespace std::chrono_literals;
using pghealthd::pg::Canceller;

// Long enough never to expire on a loaded machine; a wait that does means the behaviour is wrong.
constexpr auto kPatience = 10s;

// Counts jobs that finished; lets the test wait for a number of them without sleeping.
class Finished {
 public:
  void one() {
    std::lock_guard lock(mutex_);
    ++count_;
    cv_.notify_all();  // under the lock: the waiter may destroy this as soon as it sees the count
  }
  bool wait_for(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kPatience, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

// Polls a condition on the canceller's own counters (its state changes on its threads).
template <class Pred>
bool soon(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("canceller: a job runs on another thread than the caller's", "[canceller]") {
  std::thread::id ran_on;
  std::latch done(1);
  Canceller c(2, 8);  // declared last, so destroyed (joined) first: its jobs use the objects above
  REQUIRE(c.submit([&] {
    ran_on = std::this_thread::get_id();
    done.count_down();
  }));
  done.wait();
  CHECK(ran_on != std::thread::id());
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("canceller: at most N jobs run at once, and the rest wait their turn", "[canceller]") {
  constexpr int kThreads = 2, kJobs = 6;
  std::latch gate(1);
  std::mutex m;
  int active = 0, most = 0;
  Finished finished;
  Canceller c(kThreads, 16);
  for (int i = 0; i < kJobs; ++i) {
    REQUIRE(c.submit([&] {
      {
        std::lock_guard lock(m);
        most = std::max(most, ++active);
      }
      gate.wait();
      {
        std::lock_guard lock(m);
        --active;
      }
      finished.one();
    }));
  }
  // Both threads hold a job that waits for the gate; the other four stay queued however long we look.
  REQUIRE(soon([&] {
    std::lock_guard lock(m);
    return active == kThreads;
  }));
  CHECK(c.running() == kThreads);
  CHECK(c.queued() == kJobs - kThreads);
  gate.count_down();
  REQUIRE(finished.wait_for(kJobs));
  CHECK(most == kThreads);
  CHECK(c.dropped() == 0);
}

TEST_CASE("canceller: a job blocked (as in PQcancel to a frozen server) does not stop the other thread",
          "[canceller]") {
  std::latch frozen(1), started(1);
  Finished finished;
  Canceller c(2, 16);
  REQUIRE(c.submit([&] {
    started.count_down();
    frozen.wait();
  }));
  started.wait();
  for (int i = 0; i < 5; ++i) REQUIRE(c.submit([&] { finished.one(); }));
  // All five run on the second thread while the first is still blocked.
  CHECK(finished.wait_for(5));
  CHECK(soon([&] { return c.running() == 1; }));  // the fifth job's thread counts itself done just after
  CHECK(c.queued() == 0);
  frozen.count_down();  // thaw, so the destructor can join
  CHECK(c.drain(kPatience));
}

TEST_CASE("canceller: a frozen server holds one thread, its other jobs wait, other servers' run", "[canceller]") {
  std::latch frozen(1), started(1);
  Finished finished, others;
  Canceller c(3, 16, 2);
  REQUIRE(c.submit("frozen:5432", [&] {
    started.count_down();
    frozen.wait();
  }));
  started.wait();
  // Two more for the frozen server wait, though two threads are free; a third is over its share.
  REQUIRE(c.submit("frozen:5432", [&] { finished.one(); }));
  REQUIRE(c.submit("frozen:5432", [&] { finished.one(); }));
  CHECK_FALSE(c.submit("frozen:5432", [&] { finished.one(); }));
  CHECK(c.dropped() == 1);
  // Jobs for servers that answer run at once, beside the blocked one.
  for (int i = 0; i < 4; ++i) REQUIRE(c.submit("healthy-" + std::to_string(i % 2) + ":5432", [&] { others.one(); }));
  CHECK(others.wait_for(4));
  CHECK(finished.count() == 0);
  CHECK(soon([&] { return c.queued() == 2 && c.running() == 1; }));
  frozen.count_down();  // the server thaws: its waiting jobs run, one after the other
  CHECK(finished.wait_for(2));
  CHECK(c.drain(kPatience));
}

TEST_CASE("canceller: a full queue drops a new job without running it, and counts it", "[canceller]") {
  std::latch frozen(1), started(1), again(1);
  Finished finished;
  std::atomic<bool> dropped_job_ran{false};
  Canceller c(1, 2);
  REQUIRE(c.submit([&] {
    started.count_down();
    frozen.wait();
  }));
  started.wait();  // the only thread is blocked; the queue is empty
  CHECK(c.submit([&] { finished.one(); }));
  CHECK(c.submit([&] { finished.one(); }));
  CHECK(c.queued() == 2);
  CHECK_FALSE(c.submit([&] { dropped_job_ran = true; }));
  CHECK_FALSE(c.submit([&] { dropped_job_ran = true; }));
  CHECK(c.dropped() == 2);
  CHECK(c.queued() == 2);
  frozen.count_down();
  REQUIRE(finished.wait_for(2));
  REQUIRE(c.drain(kPatience));
  CHECK_FALSE(dropped_job_ran);
  // Room again once the queue has drained.
  CHECK(c.submit([&] { again.count_down(); }));
  again.wait();
  CHECK(c.dropped() == 2);
}

TEST_CASE("canceller: drain() waits for queued and running jobs, within its bound", "[canceller]") {
  std::latch frozen(1), started(1);
  std::atomic<bool> queued_ran{false};
  Canceller c(1, 4);
  CHECK(c.drain(0ms));  // nothing to wait for
  REQUIRE(c.submit([&] {
    started.count_down();
    frozen.wait();
  }));
  REQUIRE(c.submit([&] { queued_ran = true; }));
  started.wait();
  CHECK_FALSE(c.drain(50ms));  // a blocked job: drain gives up at its bound instead of hanging
  frozen.count_down();
  CHECK(c.drain(kPatience));
  CHECK(queued_ran);
  CHECK(c.running() == 0);
  CHECK(c.queued() == 0);
}

TEST_CASE("canceller: an empty job is refused, and a throwing job does not end its thread", "[canceller]") {
  std::latch done(1);
  Canceller c(1, 4);
  CHECK_FALSE(c.submit(Canceller::Job{}));
  REQUIRE(c.submit([] { throw std::runtime_error("boom"); }));
  REQUIRE(c.submit([&] { done.count_down(); }));
  done.wait();
  CHECK(c.drain(kPatience));
}

TEST_CASE("canceller: destroying one runs every accepted job first", "[canceller]") {
  std::atomic<int> ran{0};
  std::latch frozen(1), started(1);
  {
    Canceller c(1, 8);
    REQUIRE(c.submit([&] {
      started.count_down();
      frozen.wait();
      ++ran;
    }));
    started.wait();
    for (int i = 0; i < 3; ++i) REQUIRE(c.submit([&] { ++ran; }));
    frozen.count_down();
  }
  CHECK(ran == 4);
}
