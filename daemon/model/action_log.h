// The maintenance log of one database: the last actions its engine took or decided not to take, with what
// the server proved of each (result, rows removed) and why, for the health page (GET /, /status.json). The
// log lines say the same; this keeps the last ones where a DBA looks during an incident, in bounded memory.
//
// Thread-safety: none of its own; the metrics store holds it (loop thread only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace pghealthd::model {

struct LogEntry {
  double at_unix = 0;  // when it ended (an action) or was decided (a skip)
  std::string schema, table;
  std::string index;   // a REINDEX's index, else ""
  std::string action;  // vacuum, analyze, freeze, tune or reindex
  // A Result's name (success, not_processed, cancelled, ...), "skipped" or "dry_run".
  std::string result;
  std::string reason;             // in words: why it acted or did not, or what went wrong
  std::optional<double> seconds;  // how long the statement ran (actions only)
  std::optional<std::int64_t>
      removed;  // dead rows removed, proven by the table's counters (vacuums, freezes)
};

// The last `capacity` entries, oldest first.
class ActionLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 100;
  explicit ActionLog(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}
  void add(LogEntry entry) {
    if (capacity_ == 0) return;
    if (entries_.size() == capacity_) entries_.pop_front();
    entries_.push_back(std::move(entry));
  }
  [[nodiscard]] const std::deque<LogEntry>& entries() const { return entries_; }

 private:
  std::size_t capacity_;
  std::deque<LogEntry> entries_;
};

}  // namespace pghealthd::model
