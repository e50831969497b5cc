// Wall-clock time as the exported timestamps and the snapshots' histories count it.
#pragma once

#include <chrono>

namespace pghealthd::base {

// Seconds since the Unix epoch, with the clock's fraction.
[[nodiscard]] inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace pghealthd::base
