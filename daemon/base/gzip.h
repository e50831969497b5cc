// gzip built from independently compressed pieces, so a large body is never compressed (or copied) as a
// whole on the request path.
//
// Each piece is raw deflate ending in a sync flush: complete, non-final blocks on a byte boundary, with
// no reference to earlier data. Pieces therefore concatenate, in any grouping, into one valid deflate
// stream (the technique of pigz); a gzip header, one empty final block and a trailer whose CRC-32 is
// combined from the pieces' own CRCs make it one ordinary gzip member that every client inflates.
// /metrics compresses each snapshot's text once and reuses it for every scrape until it is replaced.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pghealthd::base {

struct Deflated {
  std::string data;         // raw deflate, sync-flushed
  std::uint32_t crc = 0;    // CRC-32 of the uncompressed text
  std::uint64_t size = 0;   // length of the uncompressed text
};

// Compresses `text` (at Z_BEST_SPEED) into a self-contained piece. Throws std::runtime_error if zlib fails.
[[nodiscard]] Deflated deflate_piece(std::string_view text);

// Running state of one gzip body: feed the pieces' metadata in order, then write header, pieces, end().
class GzipTrailer {
 public:
  void add(const Deflated& piece);
  // The 10-byte gzip header (no name, no time).
  [[nodiscard]] static std::string_view header();
  // The empty final deflate block, then CRC-32 and size (little-endian) of everything added.
  [[nodiscard]] std::string end() const;

 private:
  std::uint32_t crc_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace pghealthd::base
