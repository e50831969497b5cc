#include "base/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>

namespace pghealthd::base {

Deflated deflate_piece(std::string_view text) {
  Deflated out;
  out.size = text.size();
  out.crc = static_cast<std::uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(text.data()), text.size()));
  z_stream zs{};
  // windowBits -15: raw deflate, no zlib or gzip framing of its own.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  // Grown chunk by chunk: a deflateBound()-sized buffer would be zero-filled (and resident) for nothing,
  // as the text compresses ~25 to 1.
  constexpr std::size_t kChunk = 64 * 1024;
  std::size_t left = text.size();
  int rc = Z_OK;
  do {
    const auto feed = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    zs.avail_in = feed;
    left -= feed;
    const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      const std::size_t used = out.data.size();
      out.data.resize(used + kChunk);
      zs.next_out = reinterpret_cast<Bytef*>(out.data.data() + used);
      zs.avail_out = static_cast<uInt>(kChunk);
      rc = deflate(&zs, flush);
      out.data.resize(used + kChunk - zs.avail_out);
    } while (rc == Z_OK && zs.avail_out == 0);
  } while (rc == Z_OK && left > 0);
  deflateEnd(&zs);
  if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
  out.data.shrink_to_fit();
  return out;
}

void GzipTrailer::add(const Deflated& piece) {
  crc_ = static_cast<std::uint32_t>(crc32_combine(crc_, piece.crc, static_cast<z_off_t>(piece.size)));
  size_ += piece.size;
}

std::string_view GzipTrailer::header() {
  // ID1 ID2, CM = deflate, no flags, MTIME 0, XFL 0, OS 255 (unknown): RFC 1952 section 2.3.
  static constexpr char kHeader[] = {'\x1f', '\x8b', '\x08', '\x00', '\x00', '\x00',
                                     '\x00', '\x00', '\x00', '\xff'};
  return {kHeader, sizeof kHeader};
}

std::string GzipTrailer::end() const {
  // 0x03 0x00: a final fixed-Huffman block holding only its end-of-block code.
  std::string out{'\x03', '\x00'};
  for (int i = 0; i < 4; ++i) out += static_cast<char>((crc_ >> (8 * i)) & 0xff);
  const auto isize = static_cast<std::uint32_t>(size_);  // modulo 2^32, as RFC 1952 says
  for (int i = 0; i < 4; ++i) out += static_cast<char>((isize >> (8 * i)) & 0xff);
  return out;
}

}  // namespace pghealthd::base
