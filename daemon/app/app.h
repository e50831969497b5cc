// The daemon: builds the event loop, the HTTP endpoint and one watch per target from a validated config,
// handles signals inside the loop (SIGHUP reloads, SIGTERM/SIGINT stop), speaks systemd's notify
// protocol, and shuts down within a bound.
#pragma once

#include <string>

#include "config/config.h"

namespace pghealthd::app {

// Runs until SIGTERM/SIGINT. `config_path` is re-read on SIGHUP. Returns the process exit code.
[[nodiscard]] int run(const config::Config& cfg, const std::string& config_path);

}  // namespace pghealthd::app
