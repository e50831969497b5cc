// systemd's notify protocol (Type=notify): READY, RELOADING, STOPPING, STATUS and the watchdog.
// Every call is a no-op when NOTIFY_SOCKET is not set (not started by systemd).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pghealthd::app::notify {

void ready(const std::string& status);
void reloading();  // includes MONOTONIC_USEC, as Type=notify-reload wants
void stopping();
void status(const std::string& status);
void watchdog();

// Half of WatchdogSec when systemd asks for keep-alives (WATCHDOG_USEC for this process), else nullopt.
[[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace pghealthd::app::notify
