// The connection slots of one target: at most `capacity` of its databases hold a collector connection at
// once (max_connections). An asynchronous semaphore on the event loop, no threads, first come first served.
//
// Each database watch is a Member. It acquires a slot before it connects and keeps it while it has work.
// When its queue runs empty it keeps the slot (and its connection) unless another member waits, in which
// case it hands the slot over; an idle holder marks itself idle, and a member that starts waiting asks one
// idle holder to give its slot back. So a target with no more databases than slots keeps one persistent
// connection per database, and one with more takes turns. A database whose collectors queue behind a slow
// one may take further free slots with try_acquire() (never ahead of a member that waits).
//
// Thread-safety: loop thread only.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <set>

#include "base/asio.h"

namespace prometheus {
class Gauge;
}

namespace pghealthd::app {

class SlotPool : public std::enable_shared_from_this<SlotPool> {
 public:
  class Member;

  // `connections` and `waiters` (may be null) follow the number of slots held and of members waiting.
  SlotPool(asio::any_io_executor loop, int capacity, prometheus::Gauge* connections = nullptr,
           prometheus::Gauge* waiters = nullptr);

  // A new member, not holding a slot. `give_back` is called when it is idle (see Member::idle) holding a
  // slot and another member starts waiting; it should end up calling release() soon.
  [[nodiscard]] std::shared_ptr<Member> join(std::function<void()> give_back);

  // Stop updating the gauges (their series are about to be removed or handed to a successor).
  void detach_metrics();

  [[nodiscard]] int capacity() const { return capacity_; }
  [[nodiscard]] int in_use() const { return in_use_; }
  [[nodiscard]] std::size_t waiting() const { return line_.size(); }

 private:
  void grant_next();
  void ask_idle_holder();
  void publish();

  asio::any_io_executor loop_;
  int capacity_;
  int in_use_ = 0;
  std::deque<Member*> line_;  // waiting, first come first served
  std::set<Member*> idle_;    // holding a slot with nothing to do
  prometheus::Gauge* connections_;
  prometheus::Gauge* waiters_;
};

class SlotPool::Member {
 public:
  Member(std::shared_ptr<SlotPool> pool, std::function<void()> give_back);
  ~Member();
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  // Waits for a slot (at once when one is free and nobody is ahead). True when the slot is held; false
  // when leave() was called meanwhile. Only one acquire() at a time.
  [[nodiscard]] awaitable<bool> acquire();
  // Takes a slot only when one is free and nobody waits for it, without waiting. True when held.
  [[nodiscard]] bool try_acquire();
  // Gives the slot back (to the first member waiting, if any). Nothing when not holding one.
  void release();
  // Leaves for good: gives the slot back or leaves the line; a pending acquire() returns false.
  void leave();
  // While idle and holding, a member that starts waiting triggers `give_back`.
  void idle(bool is_idle);

  [[nodiscard]] bool holding() const { return state_ == State::kHolding; }
  // Whether some member waits for a slot now.
  [[nodiscard]] bool others_waiting() const { return !pool_->line_.empty(); }

 private:
  friend class SlotPool;
  enum class State { kOut, kWaiting, kHolding, kLeft };
  std::shared_ptr<SlotPool> pool_;
  std::function<void()> give_back_;
  asio::steady_timer wakeup_;
  State state_ = State::kOut;
};

}  // namespace pghealthd::app
