#include "model/dead_ratio_history.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace pghealthd::model {
namespace {

constexpr std::uint16_t kEmpty = 65535;
constexpr double kScale = 65534;
// The slots as a signed count of minutes, for arithmetic on (signed) unix minutes.
constexpr auto kHour = static_cast<std::int64_t>(DeadRatioHistory::kSlots);

// The unix minute of a time; none for a time no clock gives (NaN, infinite, or so far off that the minute
// arithmetic below could overflow).
std::optional<std::int64_t> minute_of(double now_unix) {
  if (!std::isfinite(now_unix) || std::abs(now_unix) > 1e15) return std::nullopt;
  return static_cast<std::int64_t>(std::floor(now_unix / 60));
}

// Floor modulo: a minute before 1970 still has a slot in 0..kSlots-1.
std::size_t slot_of(std::int64_t minute) {
  return static_cast<std::size_t>(((minute % kHour) + kHour) % kHour);
}

std::uint16_t scaled(double ratio) {
  return static_cast<std::uint16_t>(std::lround(std::clamp(ratio, 0.0, 1.0) * kScale));
}

}  // namespace

void DeadRatioHistory::observe(const std::vector<TableStats>& tables, double now_unix) {
  const auto minute = minute_of(now_unix);
  if (!minute) return;
  if (newest_minute_ != kNoMinute && *minute < newest_minute_) {
    if (newest_minute_ - *minute < kHour) return;
    start_afresh();
  }
  const bool new_minute = *minute != newest_minute_;
  if (new_minute) enter_minute(*minute);

  // Room for the new tables at once: growing samples_ geometrically row by row would leave up to half of
  // it unused, when the first snapshot alone brings every table.
  std::size_t unknown = 0;
  for (const auto& t : tables)
    if (!row_.contains(t.relid) && dead_tuple_ratio(t.live_tuples, t.dead_tuples)) ++unknown;
  if (unknown > free_.size()) reserve_rows(rows() + unknown - free_.size());

  const std::size_t slot = slot_of(*minute);
  for (const auto& t : tables) {
    const auto ratio = dead_tuple_ratio(t.live_tuples, t.dead_tuples);
    if (!ratio || !std::isfinite(*ratio)) continue;
    samples_[std::size_t{row_for(t.relid)} * kSlots + slot] = scaled(*ratio);
  }
  // After writing, so a table in this snapshot is never forgotten and re-added; once a minute, as a table
  // can only fall silent when the hour-old column is cleared.
  if (new_minute) forget_silent_tables();
}

std::vector<std::optional<float>> DeadRatioHistory::series(std::int64_t relid, double now_unix) const {
  std::vector<std::optional<float>> out(kSlots);
  const auto minute = minute_of(now_unix);
  const auto it = row_.find(relid);
  if (!minute || it == row_.end()) return out;
  const std::uint16_t* row = samples_.data() + std::size_t{it->second} * kSlots;
  for (std::size_t i = 0; i < kSlots; ++i) {
    const std::int64_t m = *minute - (kHour - 1) + static_cast<std::int64_t>(i);
    const std::size_t s = slot_of(m);
    // A slot that holds another minute (older than the hour, or newer than a `now` in the past) is empty.
    if (minute_[s] != m || row[s] == kEmpty) continue;
    out[i] = static_cast<float>(row[s] / kScale);
  }
  return out;
}

std::size_t DeadRatioHistory::tables() const { return row_.size(); }

std::size_t DeadRatioHistory::memory_bytes() const {
  // A map node holds the next pointer and the pair; the allocator adds about a pointer of its own.
  constexpr std::size_t kNodeBytes = 2 * sizeof(void*) + sizeof(std::pair<const std::int64_t, std::uint32_t>);
  return samples_.capacity() * sizeof(std::uint16_t) + free_.capacity() * sizeof(std::uint32_t) +
         row_.bucket_count() * sizeof(void*) + row_.size() * kNodeBytes;
}

void DeadRatioHistory::start_afresh() {
  row_.clear();
  samples_.clear();
  free_.clear();
  minute_ = no_minutes();
  newest_minute_ = kNoMinute;
}

void DeadRatioHistory::enter_minute(std::int64_t minute) {
  // The minutes between the newest and this one had no snapshot: their slots are cleared too, so every slot
  // holds a minute of the last hour or nothing, and the sweep can read whole rows.
  if (newest_minute_ == kNoMinute || minute - newest_minute_ >= kHour) {
    std::fill(samples_.begin(), samples_.end(), kEmpty);
    for (std::int64_t m = minute - kHour + 1; m <= minute; ++m) minute_[slot_of(m)] = m;
  } else {
    for (std::int64_t m = newest_minute_ + 1; m <= minute; ++m) {
      clear_slot(slot_of(m));
      minute_[slot_of(m)] = m;
    }
  }
  newest_minute_ = minute;
}

void DeadRatioHistory::clear_slot(std::size_t slot) {
  for (std::size_t i = slot; i < samples_.size(); i += kSlots) samples_[i] = kEmpty;
}

void DeadRatioHistory::forget_silent_tables() {
  for (auto it = row_.begin(); it != row_.end();) {
    const auto first = samples_.begin() + static_cast<std::ptrdiff_t>(std::size_t{it->second} * kSlots);
    if (std::all_of(first, first + kSlots, [](std::uint16_t v) { return v == kEmpty; })) {
      free_.push_back(it->second);
      it = row_.erase(it);
    } else {
      ++it;
    }
  }
  // Rows of dropped tables (a dropped schema, many short-lived temporary tables) are returned once they are
  // most of what is held, so the memory follows the tables there are and not the most there ever were.
  if (free_.size() * 2 > rows()) compact();
}

void DeadRatioHistory::compact() {
  std::vector<std::uint16_t> packed;
  packed.reserve(row_.size() * kSlots);
  std::uint32_t next = 0;
  for (auto& entry : row_) {
    const auto first = samples_.begin() + static_cast<std::ptrdiff_t>(std::size_t{entry.second} * kSlots);
    packed.insert(packed.end(), first, first + kSlots);
    entry.second = next++;
  }
  samples_ = std::move(packed);
  free_.clear();
  free_.shrink_to_fit();  // (`free_ = {}` would keep the capacity: it assigns an empty initializer list)
  row_.rehash(0);         // down to what the remaining tables need
}

void DeadRatioHistory::reserve_rows(std::size_t count) {
  const std::size_t want = count * kSlots;
  if (want <= samples_.capacity()) return;
  // Exactly what is asked the first time; by a quarter more after, so tables that appear one by one do not
  // reallocate on every snapshot.
  samples_.reserve(std::max(want, samples_.capacity() + samples_.capacity() / 4));
}

std::uint32_t DeadRatioHistory::row_for(std::int64_t relid) {
  const auto [it, inserted] = row_.try_emplace(relid, 0);
  if (!inserted) return it->second;
  if (!free_.empty()) {
    it->second = free_.back();
    free_.pop_back();
    // Forgotten rows hold no reading; cleared anyway, so a new table can never show an old one's readings.
    std::fill_n(samples_.begin() + static_cast<std::ptrdiff_t>(std::size_t{it->second} * kSlots), kSlots,
                kEmpty);
  } else {
    it->second = static_cast<std::uint32_t>(rows());
    samples_.resize(samples_.size() + kSlots, kEmpty);
  }
  return it->second;
}

}  // namespace pghealthd::model
