// A response body made of pieces of memory that the server writes in order with gathered writes,
// without joining them: /metrics at 10,000 tables is ~35 MB of text that already sits in the snapshots.
#pragma once

#include <memory>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace pghealthd::base {

struct Pieces {
  std::vector<std::string_view> parts;
  std::shared_ptr<const void> owner;  // keeps the memory of `parts` alive until the response is written

  [[nodiscard]] std::size_t size() const {
    return std::accumulate(parts.begin(), parts.end(), std::size_t{0},
                           [](std::size_t n, std::string_view p) { return n + p.size(); });
  }
  [[nodiscard]] std::string joined() const {
    std::string out;
    out.reserve(size());
    for (auto p : parts) out += p;
    return out;
  }
};

}  // namespace pghealthd::base
