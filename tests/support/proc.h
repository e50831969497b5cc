// What /proc says about a process (the daemon under test), and sizes read from the environment, for the
// soak tests: memory, open sockets, and how big a run should be.
#pragma once

#include <cstddef>
#include <string>

namespace pghealthd::test {

// VmRSS and VmHWM (peak RSS) of `pid` in KiB, from /proc/PID/status; 0 when unreadable.
[[nodiscard]] std::size_t rss_kib(int pid);
[[nodiscard]] std::size_t peak_rss_kib(int pid);
// Resets VmHWM to the current RSS (writes 5 to /proc/PID/clear_refs); false when not allowed.
bool reset_peak_rss(int pid);
// TCP connections to local `port` that process `pid` holds open (its sockets in /proc/net/tcp and tcp6,
// the listener excepted): the HTTP clients a server has not closed yet.
[[nodiscard]] int tcp_connections(int pid, int port);

// The positive integer in environment variable `name`, else `fallback` (a soak run's size); throws
// std::invalid_argument on anything else, so a mistyped size is never silently replaced by the default.
[[nodiscard]] long env_size(const char* name, long fallback);

}  // namespace pghealthd::test
