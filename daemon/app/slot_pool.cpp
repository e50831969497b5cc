#include "app/slot_pool.h"

#include <prometheus/gauge.h>

#include <algorithm>

namespace pghealthd::app {

SlotPool::SlotPool(asio::any_io_executor loop, int capacity, prometheus::Gauge* connections,
                   prometheus::Gauge* waiters)
    : loop_(std::move(loop)), capacity_(std::max(capacity, 1)), connections_(connections), waiters_(waiters) {
  publish();
}

std::shared_ptr<SlotPool::Member> SlotPool::join(std::function<void()> give_back) {
  return std::make_shared<Member>(shared_from_this(), std::move(give_back));
}

void SlotPool::detach_metrics() {
  connections_ = nullptr;
  waiters_ = nullptr;
}

void SlotPool::publish() {
  if (connections_) connections_->Set(in_use_);
  if (waiters_) waiters_->Set(static_cast<double>(line_.size()));
}

void SlotPool::grant_next() {
  while (in_use_ < capacity_ && !line_.empty()) {
    Member* m = line_.front();
    line_.pop_front();
    m->state_ = Member::State::kHolding;
    ++in_use_;
    m->wakeup_.cancel();  // its acquire() resumes holding the slot
  }
  publish();
}

void SlotPool::ask_idle_holder() {
  if (idle_.empty()) return;
  Member* m = *idle_.begin();
  idle_.erase(idle_.begin());  // asked once; it marks itself idle again if it keeps the slot
  if (m->give_back_) m->give_back_();
}

SlotPool::Member::Member(std::shared_ptr<SlotPool> pool, std::function<void()> give_back)
    : pool_(std::move(pool)), give_back_(std::move(give_back)), wakeup_(pool_->loop_) {}

SlotPool::Member::~Member() { leave(); }

bool SlotPool::Member::try_acquire() {
  if (state_ != State::kOut) return state_ == State::kHolding;
  auto& p = *pool_;
  if (p.in_use_ >= p.capacity_ || !p.line_.empty()) return false;
  ++p.in_use_;
  state_ = State::kHolding;
  p.publish();
  return true;
}

awaitable<bool> SlotPool::Member::acquire() {
  if (state_ == State::kHolding) co_return true;
  if (state_ != State::kOut) co_return false;
  if (try_acquire()) co_return true;
  auto& p = *pool_;
  state_ = State::kWaiting;
  p.line_.push_back(this);
  p.publish();
  p.ask_idle_holder();
  // Nothing else runs between here and the wait starting, so a grant (which cancels the timer) cannot
  // come before the wait is in place.
  wakeup_.expires_at(asio::steady_timer::time_point::max());
  boost::system::error_code ec;
  co_await wakeup_.async_wait(asio::redirect_error(use_awaitable, ec));
  co_return state_ == State::kHolding;
}

void SlotPool::Member::release() {
  if (state_ != State::kHolding) return;
  state_ = State::kOut;
  pool_->idle_.erase(this);
  --pool_->in_use_;
  pool_->grant_next();
}

void SlotPool::Member::leave() {
  if (state_ == State::kLeft) return;
  if (state_ == State::kHolding) {
    release();
  } else if (state_ == State::kWaiting) {
    auto& line = pool_->line_;
    line.erase(std::remove(line.begin(), line.end(), this), line.end());
    pool_->publish();
  }
  pool_->idle_.erase(this);
  state_ = State::kLeft;
  wakeup_.cancel();
}

void SlotPool::Member::idle(bool is_idle) {
  if (is_idle && state_ == State::kHolding)
    pool_->idle_.insert(this);
  else
    pool_->idle_.erase(this);
}

}  // namespace pghealthd::app
