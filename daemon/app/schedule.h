// When a database's collectors run: the first run at once (fresh metrics right after a start or a reload),
// then on a fixed-rate grid shifted by a phase that is stable for a (target, database) pair, so the
// collections of many databases spread over the interval instead of all firing in the same second.
//
// The phase is one fraction of the shortest enabled interval, the same for every collector of a database,
// so its collectors that fall due together run together, over one connection turn. Pure functions.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string_view>

#include "collectors/collector.h"
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

// A collector waiting for a connection, since when.
struct Queued {
  collectors::Kind kind;
  std::chrono::steady_clock::time_point since;
};

// Which queued collector runs next (its index; the queue is not empty): among those queued within
// `batch` of the oldest (a cycle's collectors come due together), the one whose last run took longest,
// so the slowest view starts first while the others can go beside it; a collector queued earlier is never
// passed over by later ones, so none starves however busy the database is.
[[nodiscard]] std::size_t pick_next(const std::deque<Queued>& queue,
                                    const std::array<double, collectors::kKindCount>& last_seconds,
                                    std::chrono::milliseconds batch);

// Whether the collector at `picked` opens a transaction that the other queued collectors reading the
// cumulative statistics (collectors::reads_statistics) join, one after another on its connection: when it
// reads them too, one of them is queued, and the last runs of all of them took at most `within` together.
// One transaction reads one copy of the statistics (PostgreSQL 15+ with stats_fetch_consistency =
// snapshot, and the statistics file before 15), so the server builds it once instead of once per
// statement, and the views' counters agree. Beyond `within` (about 50,000 tables) they run apart, side by
// side on lanes, which ends the cycle sooner.
[[nodiscard]] bool share_statistics(const std::deque<Queued>& queue, std::size_t picked,
                                    const std::array<double, collectors::kKindCount>& last_seconds,
                                    std::chrono::duration<double> within);

// The first collector queued by `began` (when the transaction began) that reads the cumulative statistics:
// the next to join the transaction. One queued later waits for a transaction of its own, whose copy of the
// statistics is newer. (One that a lane took meanwhile is no longer queued: a stuck statement delays none
// of the others.)
[[nodiscard]] std::optional<std::size_t> next_reading_statistics(const std::deque<Queued>& queue,
                                                                 std::chrono::steady_clock::time_point began);

}  // namespace pghealthd::app
