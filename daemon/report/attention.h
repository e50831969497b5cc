// "Tables that need attention": one row per table that a row of a table section (dead tuples, cache hits,
// vacuum recency, autovacuum, freeze age, tuning, table bloat) says needs attention, with that status, every
// such section's reason, and its dead %, autovacuum due ratio, cache hit %, XID age and bloat from those
// sections; worst first, then the most reasons. What such rows say of the server or the database
// ("(server)") is said in its footnotes. Gathered section by section, each while it still has all its rows
// (report::build cuts them afterwards, for the daemon's page): the numbers of every table are kept, a few
// short strings each, as the last section may flag a table the first listed as OK.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "report/health_report.h"

namespace pghealthd::report {

inline constexpr std::string_view kAttentionTitle = "Tables that need attention";

class Attention {
 public:
  // A section with every row it has; sections that are no table section are ignored.
  void add(const Section& full);
  // The same, with its rows (worst first) given apart from its title and columns.
  void add(const Section& header, const std::vector<const Row*>& rows);
  [[nodiscard]] Section section() const;

 private:
  static constexpr std::size_t kColumns = 7;  // table, 5 numbers, status
  struct Reason {
    std::size_t source;  // its section's place in the sources: reasons are listed in that order
    std::string text;
  };
  struct Table {
    Status status = Status::kOk;
    std::vector<Reason> reasons;
    std::size_t order = 0;  // first flagged: ties keep the sections' own worst-first order
  };
  std::unordered_map<std::string, Table> flagged_;
  std::unordered_map<std::string, std::array<std::string, kColumns>> numbers_;  // every table's
  std::vector<Reason> server_;  // rows of "(server)" or "(database ...)"
};

// The list from sections that still have all their rows.
[[nodiscard]] Section attention_section(const std::vector<Section>& sections);

}  // namespace pghealthd::report
