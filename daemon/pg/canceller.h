// Runs libpq's cancel requests (PQcancel, and for Connection::cancel_and_close the PQfinish that must
// follow it) on a few threads of their own, with a bounded queue.
//
// Why not the shared blocking pool: PQcancel opens a new connection to the server and waits for its
// answer with no timeout of its own, so against a frozen server (SIGSTOP, a hung host) it blocks until the
// server wakes, possibly forever. On the blocking pool two such calls starve every connect, PQfinish and
// bcrypt check of the daemon. Why not a thread per cancel: every query timeout against a frozen server
// would add a thread that never ends.
//
// Bounds: `threads` jobs run at once, at most one per server (the `server` a job is submitted for), so a
// frozen server holds at most one thread and the others keep serving the servers that answer; `capacity`
// more jobs wait in the queue, at most `per_server` of them for one server. A job over either bound
// is dropped: submit() returns false, the drop is counted (dropped()) and logged as a warning at most
// once per 10 s. A dropped cancel costs little: the query that asked for it is still bounded by its
// grace deadline, after which its connection is closed anyway (Connection::query), and cancel_and_close
// closes the connection itself when its job is dropped.
//
// Lifetime: shared() is created at first use and intentionally never destroyed, and its threads are never
// joined: at exit one of them may be blocked in PQcancel against a frozen server, and joining it would
// keep the process from exiting. Before exiting, the daemon waits a bounded time for queued cancels
// (drain()), then leaves whatever is still blocked behind. Other instances (tests) join their threads
// when destroyed, after every accepted job ran: only destroy one whose jobs all end.
//
// The queue knows nothing of libpq: it runs std::function jobs, so it is tested without a database.
//
// Thread-safety: every member function may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pghealthd::pg {

class Canceller {
 public:
  using Job = std::function<void()>;

  // Starts `threads` threads (at least 1); at most `capacity` jobs wait beside the running ones, and at
  // most `per_server` of them for one server.
  Canceller(std::size_t threads, std::size_t capacity, std::size_t per_server = SIZE_MAX);
  // Runs every job already accepted, then joins the threads (blocks as long as a job blocks).
  ~Canceller();
  Canceller(const Canceller&) = delete;
  Canceller& operator=(const Canceller&) = delete;

  // The daemon's instance: 4 threads, 32 queued jobs, 4 per server. Never destroyed (see above).
  static Canceller& shared();

  // Queues `job` to run on one of the threads, once no other job for the same `server` runs (an empty
  // `server` is nobody's: such jobs never wait for each other). False when a bound is reached (or `job`
  // is empty): the job is dropped without running, and whatever it would have freed is the caller's again.
  [[nodiscard]] bool submit(std::string server, Job job);
  [[nodiscard]] bool submit(Job job) { return submit({}, std::move(job)); }

  // Waits until no job is queued or running, at most `bound`. True when that happened.
  bool drain(std::chrono::milliseconds bound);

  [[nodiscard]] std::uint64_t dropped() const;
  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] std::size_t queued() const;

 private:
  struct Entry {
    std::string server;
    Job job;
  };
  void work();

  const std::size_t capacity_;
  const std::size_t per_server_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;  // a job was queued, or stopping_ was set
  std::condition_variable idle_;  // a job ended
  std::deque<Entry> queue_;
  std::multiset<std::string> busy_;  // servers with a job running
  std::size_t running_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t dropped_logged_ = 0;  // dropped_ at the last warning
  std::chrono::steady_clock::time_point last_warning_{};
  bool warned_ = false;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pghealthd::pg
