#include "pg/canceller.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace pghealthd::pg {
namespace {

constexpr std::size_t kSharedThreads = 4;
constexpr std::size_t kSharedCapacity = 32;
constexpr std::size_t kSharedPerServer = 4;
constexpr std::chrono::seconds kWarningInterval{10};

}  // namespace

Canceller::Canceller(std::size_t threads, std::size_t capacity, std::size_t per_server)
    : capacity_(capacity), per_server_(per_server) {
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
  static Canceller* const instance = new Canceller(kSharedThreads, kSharedCapacity, kSharedPerServer);
  return *instance;
}

bool Canceller::submit(std::string server, Job job) {
  if (!job) return false;
  std::uint64_t dropped_now = 0, busy = 0;
  {
    std::lock_guard lock(mutex_);
    const auto waiting_for_server =
        server.empty() ? 0
                       : static_cast<std::size_t>(std::count_if(queue_.begin(), queue_.end(),
                                                                [&](const Entry& e) { return e.server == server; }));
    if (!stopping_ && queue_.size() < capacity_ && waiting_for_server < per_server_) {
      queue_.push_back({std::move(server), std::move(job)});
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
  // The first queued job whose server has none running: one frozen server holds one thread at most.
  auto runnable = [this] {
    return std::find_if(queue_.begin(), queue_.end(),
                        [this](const Entry& e) { return e.server.empty() || !busy_.count(e.server); });
  };
  for (;;) {
    wake_.wait(lock, [&] { return (stopping_ && queue_.empty()) || runnable() != queue_.end(); });
    if (queue_.empty()) return;  // stopping, and every accepted job ran
    const auto it = runnable();
    std::string server = std::move(it->server);
    Job job = std::move(it->job);
    queue_.erase(it);
    if (!server.empty()) busy_.insert(server);
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
    if (!server.empty()) busy_.erase(busy_.find(server));
    idle_.notify_all();
    wake_.notify_all();  // a job waiting for this server may run now
  }
}

}  // namespace pghealthd::pg
