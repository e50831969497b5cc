#include "app/notify.h"

#include <systemd/sd-daemon.h>

#include <ctime>

namespace pghealthd::app::notify {
namespace {

void send(const std::string& state) { (void)sd_notify(0, state.c_str()); }

}  // namespace

void ready(const std::string& s) { send("READY=1\nSTATUS=" + s); }

void reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() { send("STOPPING=1\nSTATUS=shutting down"); }

void status(const std::string& s) { send("STATUS=" + s); }

void watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace pghealthd::app::notify
