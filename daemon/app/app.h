// The daemon: builds the event loop, the HTTP endpoint and one watch per target from a validated config,
// handles signals inside the loop, and shuts down within a bound.
#pragma once

#include "config/config.h"

namespace pghealthd::app {

// Runs until SIGTERM/SIGINT. Returns the process exit code.
[[nodiscard]] int run(const config::Config& cfg);

}  // namespace pghealthd::app
