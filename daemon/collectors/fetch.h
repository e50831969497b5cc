// Running a collector's statement: once, or page by page for a paged one (Definition::page_rows), on a
// connection of the caller's. Shared by the daemon's watches and `pghealthd check`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/asio.h"
#include "collectors/collector.h"
#include "pg/connection.h"

namespace pghealthd::collectors {

struct Fetched {
  std::vector<pg::PackedRows> results;  // one per page
  std::optional<pg::Error> error;       // the server's or the connection's, when a page failed
  std::string unusable;                 // a page whose answer cannot be continued from (no page_key)
  [[nodiscard]] bool ok() const { return !error && unusable.empty(); }
  // Every page's rows as one answer; valid while this Fetched lives and its results stay.
  [[nodiscard]] pg::ConcatRows rows() const;
};

// `timeout` bounds each statement. `full`: for a collector with full runs (Definition::has_full_runs),
// whether this is one; the others ignore it.
[[nodiscard]] awaitable<Fetched> fetch(pg::Connection& conn, const Definition& def, std::chrono::milliseconds timeout,
                                       bool full = true);

}  // namespace pghealthd::collectors
