// A response body made of pieces of memory that the server writes in order, without joining them: /metrics
// at 10,000 tables is ~35 MB of text, which the snapshots keep only compressed (base::DeflatedText).
// A part is either bytes sent as they are or a deflated piece sent inflated, a buffer at a time
// (BodyReader), so a plain body of any size is written in bounded memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/gzip.h"

namespace pghealthd::base {

struct Pieces {
  struct Part {
    std::string_view data;      // the bytes to send, or raw deflate (base::Deflated::data) to inflate
    std::uint64_t size = 0;     // what the part puts in the body
    bool deflated = false;
  };
  std::vector<Part> parts;
  std::shared_ptr<const void> owner;  // keeps the memory of `parts` alive until the response is written

  // Adds bytes sent as they are.
  void add(std::string_view bytes) { parts.push_back({bytes, bytes.size(), false}); }
  // Adds a piece sent inflated: its text, not its compressed bytes, is in the body.
  void add_inflated(const Deflated& piece) { parts.push_back({piece.data, piece.size, true}); }

  // The length of the body as sent (Content-Length).
  [[nodiscard]] std::uint64_t size() const;
  // The body as sent, in one string (tests, small bodies).
  [[nodiscard]] std::string joined() const;
};

// Reads a body in order, a stretch at a time: bytes parts as they lie in memory, deflated parts inflated
// into a buffer of the reader's own, so what it holds stays bounded by `buffer` however large the body.
// Not thread-safe; the body (and its owner) must outlive the reader.
class BodyReader {
 public:
  static constexpr std::size_t kBuffer = 128 * 1024;
  explicit BodyReader(const Pieces& body, std::size_t buffer = kBuffer);

  // The next stretch of the body (about `buffer` bytes or more), as views into the parts and into the
  // reader's buffer: valid until the next call. Empty at the end. Throws std::runtime_error if a deflated
  // part is corrupt.
  [[nodiscard]] const std::vector<std::string_view>& next();

 private:
  const Pieces& body_;
  std::size_t capacity_;
  std::unique_ptr<char[]> buffer_;  // allocated on the first deflated part
  std::size_t part_ = 0;
  bool inflating_ = false;  // part_ is started in inflater_
  Inflater inflater_;
  std::vector<std::string_view> out_;
};

}  // namespace pghealthd::base
