#include "app/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace pghealthd::app {
namespace {

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// splitmix64's finalizer: FNV-1a alone leaves names that differ in their last character close together.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

double schedule_fraction(std::string_view target, std::string_view datname) {
  std::uint64_t h = fnv1a(0xcbf29ce484222325ULL, target);
  h = fnv1a(h, std::string_view("\0", 1));  // ("ab", "c") and ("a", "bc") differ
  h = mix(fnv1a(h, datname));
  return static_cast<double>(h >> 11) * 0x1.0p-53;  // 53 bits: exact in a double, always < 1
}

config::Duration schedule_phase(std::string_view target, std::string_view datname, config::Duration period) {
  if (period.count() <= 0) return config::Duration{0};
  const auto ms = static_cast<config::Duration::rep>(
      std::floor(schedule_fraction(target, datname) * static_cast<double>(period.count())));
  return config::Duration{std::min(ms, period.count() - 1)};
}

config::Duration next_run(config::Duration phase, config::Duration interval, config::Duration elapsed) {
  if (interval.count() <= 0) return elapsed;
  config::Duration::rep k = 1;
  if (elapsed >= phase + interval) k = (elapsed - phase) / interval + 1;
  return phase + k * interval;
}

std::size_t pick_next(const std::deque<Queued>& queue, const std::array<double, collectors::kKindCount>& last_seconds,
                      std::chrono::milliseconds batch) {
  auto oldest = queue.front().since;
  for (const auto& q : queue) oldest = std::min(oldest, q.since);
  std::size_t pick = queue.size();
  for (std::size_t i = 0; i < queue.size(); ++i) {
    if (queue[i].since - oldest > batch) continue;
    const auto k = static_cast<std::size_t>(queue[i].kind);
    if (pick == queue.size() || last_seconds[k] > last_seconds[static_cast<std::size_t>(queue[pick].kind)]) pick = i;
  }
  return pick;
}

bool share_statistics(const std::deque<Queued>& queue, std::size_t picked,
                      const std::array<double, collectors::kKindCount>& last_seconds,
                      std::chrono::duration<double> within) {
  if (!collectors::reads_statistics(queue[picked].kind)) return false;
  bool others = false;
  double total = 0;
  for (std::size_t i = 0; i < queue.size(); ++i)
    if (collectors::reads_statistics(queue[i].kind)) {
      others = others || i != picked;
      total += last_seconds[static_cast<std::size_t>(queue[i].kind)];
    }
  return others && total <= within.count();
}

std::optional<std::size_t> next_reading_statistics(const std::deque<Queued>& queue,
                                                   std::chrono::steady_clock::time_point began) {
  for (std::size_t i = 0; i < queue.size(); ++i)
    if (collectors::reads_statistics(queue[i].kind) && queue[i].since <= began) return i;
  return std::nullopt;
}

}  // namespace pghealthd::app
