// When a database's collectors run: the first run at once (fresh metrics right after a start or a reload),
// then on a fixed-rate grid shifted by a phase that is stable for a (target, database) pair, so the
// collections of many databases spread over the interval instead of all firing in the same second.
//
// The phase is one fraction of the shortest enabled interval, the same for every collector of a database,
// so its collectors that fall due together run together, over one connection turn. Pure functions.
#pragma once

#include <string_view>

#include "config/config.h"

namespace pghealthd::app {

// A stable fraction in [0, 1) from the names (FNV-1a, then a 64-bit mixer: same on every machine and run).
[[nodiscard]] double schedule_fraction(std::string_view target, std::string_view datname);

// schedule_fraction() of `period`, in [0, period).
[[nodiscard]] config::Duration schedule_phase(std::string_view target, std::string_view datname,
                                              config::Duration period);

// Runs happen at 0 (the start) and at phase + k * interval for k >= 1. Given the time elapsed since the
// start, the next run after it: a late run does not shift the ones after it, missed runs are not made up.
[[nodiscard]] config::Duration next_run(config::Duration phase, config::Duration interval, config::Duration elapsed);

}  // namespace pghealthd::app
