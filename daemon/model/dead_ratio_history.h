// Each table's dead-row ratio over the last hour, one reading per minute (the latest reading within the
// minute), for the health page's sparklines (GET /). Bounded: kSlots readings of 2 bytes per table, and a
// table not seen for an hour is forgotten.
//
// Pure: time is the caller's `now_unix`; nothing reads a clock. Not thread-safe: the one writer (the
// stat_user_tables snapshot) and the page's readers share a lock, or the page reads a copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "model/stats.h"

namespace pghealthd::model {

class DeadRatioHistory {
 public:
  static constexpr std::size_t kSlots = 60;  // one per minute

  // One stat_user_tables snapshot read at now_unix: each table's model::dead_tuple_ratio(live_tuples,
  // dead_tuples) (declared in model/stats.h; tables whose ratio is absent record no reading). A snapshot
  // older than the newest minute seen, by less than an hour, is ignored: that minute is already drawn. One an
  // hour or more older means the clock was set back, and the history starts afresh rather than stay frozen
  // until the clock catches up.
  void observe(const std::vector<TableStats>& tables, double now_unix);
  // The table's readings over the hour ending at now_unix's minute, oldest first, exactly kSlots entries
  // (the last is now's minute); nullopt where there is no reading. Unknown relid: all nullopt.
  [[nodiscard]] std::vector<std::optional<float>> series(std::int64_t relid, double now_unix) const;
  [[nodiscard]] std::size_t tables() const;        // tables remembered
  [[nodiscard]] std::size_t memory_bytes() const;  // an estimate of the heap it holds

 private:
  static constexpr std::int64_t kNoMinute = std::numeric_limits<std::int64_t>::min();
  static constexpr std::array<std::int64_t, kSlots> no_minutes() {
    std::array<std::int64_t, kSlots> a{};
    a.fill(kNoMinute);
    return a;
  }

  void start_afresh();
  void enter_minute(std::int64_t minute);
  void clear_slot(std::size_t slot);
  void forget_silent_tables();
  void compact();
  void reserve_rows(std::size_t count);
  [[nodiscard]] std::uint32_t row_for(std::int64_t relid);
  [[nodiscard]] std::size_t rows() const { return samples_.size() / kSlots; }

  // Which unix minute each slot holds (slot = minute % kSlots). After every new minute each slot holds one
  // of the last hour's minutes or no reading at all, so a row without a reading is a table not seen for an
  // hour.
  std::array<std::int64_t, kSlots> minute_ = no_minutes();
  std::int64_t newest_minute_ = kNoMinute;               // kNoMinute: no snapshot yet
  std::unordered_map<std::int64_t, std::uint32_t> row_;  // relid -> row of samples_
  // Row-major, kSlots per row, so a table's hour is one contiguous run: a ratio scaled to 0..65534, 65535 for
  // no reading. 2 bytes keep a ratio to 1e-5, finer than any sparkline can show.
  std::vector<std::uint16_t> samples_;
  std::vector<std::uint32_t> free_;  // rows of forgotten tables, reused before samples_ grows
};

}  // namespace pghealthd::model
