#include "pg/canceller.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace pghealthd::pg {
namespace {

constexpr std::size_t kSharedThreads = 2;
constexpr std::size_t kSharedCapacity = 32;
constexpr std::chrono::seconds kWarningInterval{10};

}  // namespace

Canceller::Canceller(std::size_t threads, std::size_t capacity) : capacity_(capacity) {
  threads = std::max<std::size_t>(threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { work(); });
    // A name for ps, top and gdb; at most 15 characters. Failing to set it changes nothing else.
    (void)pthread_setname_np(threads_.back().native_handle(), "pghealthd-cncl");
  }
}

Canceller::~Canceller() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

Canceller& Canceller::shared() {
  // Never destroyed, on purpose: at exit a thread may still be blocked in PQcancel against a frozen server,
  // and a destructor would have to join it (the process would never exit) or free the mutex and queue
  // under it. The static pointer keeps the object reachable, so LeakSanitizer does not call it a leak;
  // nothing of it runs during static destruction, so destruction order does not matter.
  static Canceller* const instance = new Canceller(kSharedThreads, kSharedCapacity);
  return *instance;
}

bool Canceller::submit(Job job) {
  if (!job) return false;
  std::uint64_t dropped_now = 0, busy = 0;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < capacity_) {
      queue_.push_back(std::move(job));
      wake_.notify_one();  // under the lock: a destructor cannot slip in between
      return true;
    }
    ++dropped_;
    const auto now = std::chrono::steady_clock::now();
    if (warned_ && now - last_warning_ < kWarningInterval) return false;
    warned_ = true;
    last_warning_ = now;
    dropped_now = dropped_ - dropped_logged_;
    dropped_logged_ = dropped_;
    busy = running_;
  }
  spdlog::warn(
      "cancel queue full: dropped {} cancel request(s) since the last warning ({} running against servers that "
      "do not answer, {} waiting); their connections are closed without a cancel",
      dropped_now, busy, capacity_);
  return false;
}

bool Canceller::drain(std::chrono::milliseconds bound) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, bound, [this] { return queue_.empty() && running_ == 0; });
}

std::uint64_t Canceller::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::size_t Canceller::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::size_t Canceller::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Canceller::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every accepted job ran
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    try {
      job();
    } catch (...) {
      // libpq calls do not throw; a job that does must not end the thread (and with it the process).
    }
    job = nullptr;  // whatever the job holds goes before it counts as done
    lock.lock();
    --running_;
    idle_.notify_all();
  }
}

}  // namespace pghealthd::pg
