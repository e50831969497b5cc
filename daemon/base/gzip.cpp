#include "base/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace pghealthd::base {

struct Deflater::Impl {
  z_stream zs{};
  std::string out;  // compressed output of the piece in progress; its capacity is kept for the next

  Impl() {
    // windowBits -15: raw deflate, no zlib or gzip framing of its own.
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
  }
  ~Impl() { deflateEnd(&zs); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

Deflater::Deflater() : impl_(std::make_unique<Impl>()) {}
Deflater::~Deflater() = default;
Deflater::Deflater(Deflater&&) noexcept = default;
Deflater& Deflater::operator=(Deflater&&) noexcept = default;

Deflated Deflater::piece(std::string_view text) {
  auto& zs = impl_->zs;
  auto& buf = impl_->out;
  // A fresh stream for every piece: no piece refers to another's data.
  if (deflateReset(&zs) != Z_OK) throw std::runtime_error("deflateReset failed");
  Deflated out;
  out.size = text.size();
  out.crc = static_cast<std::uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(text.data()), text.size()));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  // Grown step by step: a deflateBound()-sized buffer would be resident for nothing, as the text
  // compresses ~20 to 1.
  constexpr std::size_t kStep = 16 * 1024;
  std::size_t used = 0;
  std::size_t left = text.size();
  int rc = Z_OK;
  do {
    const auto feed = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    zs.avail_in = feed;
    left -= feed;
    const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      if (buf.size() - used < kStep) buf.resize(std::max(buf.size() * 2, used + kStep));
      zs.next_out = reinterpret_cast<Bytef*>(buf.data() + used);
      const std::size_t room = std::min<std::size_t>(buf.size() - used, 1u << 30);
      zs.avail_out = static_cast<uInt>(room);
      rc = deflate(&zs, flush);
      used += room - zs.avail_out;
    } while (rc == Z_OK && zs.avail_out == 0);
  } while (rc == Z_OK && left > 0);
  if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
  out.data.assign(buf.data(), used);  // exactly its size: pieces are kept for a whole collection cycle
  return out;
}

Deflated deflate_piece(std::string_view text) { return Deflater().piece(text); }

void DeflatedText::append(Deflated piece) {
  size_ += piece.size;
  pieces_.push_back(std::move(piece));
}

std::size_t DeflatedText::compressed_size() const {
  return std::accumulate(pieces_.begin(), pieces_.end(), std::size_t{0},
                         [](std::size_t n, const Deflated& p) { return n + p.data.size(); });
}

std::string DeflatedText::inflated() const {
  std::string out;
  out.reserve(size_);
  for (const auto& p : pieces_) out += inflate_piece(p);
  return out;
}

struct Inflater::Impl {
  z_stream zs{};

  Impl() {
    if (inflateInit2(&zs, -15) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  }
  ~Impl() { inflateEnd(&zs); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

Inflater::Inflater() : impl_(std::make_unique<Impl>()) {}
Inflater::~Inflater() = default;

void Inflater::start(std::string_view data, std::uint64_t size) {
  auto& zs = impl_->zs;
  if (inflateReset(&zs) != Z_OK) throw std::runtime_error("inflateReset failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  if (zs.avail_in != data.size()) throw std::runtime_error("a deflated piece is too large to inflate");
  size_ = size;
  produced_ = 0;
  done_ = false;
}

std::size_t Inflater::read(char* out, std::size_t capacity) {
  auto& zs = impl_->zs;
  zs.next_out = reinterpret_cast<Bytef*>(out);
  zs.avail_out = static_cast<uInt>(std::min<std::size_t>(capacity, 1u << 30));
  const auto room = zs.avail_out;
  while (!done_) {
    const auto in_before = zs.avail_in;
    const auto out_before = zs.avail_out;
    // A piece has no final block: inflate stops where its input ends, having written all of it (the sync
    // flush put every byte out on a byte boundary).
    const int rc = inflate(&zs, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) throw std::runtime_error("a deflated piece is corrupt");
    produced_ += out_before - zs.avail_out;
    if (produced_ > size_) throw std::runtime_error("a deflated piece inflates to more than its size");
    if (zs.avail_in == 0 && produced_ == size_) {
      done_ = true;
    } else if (rc == Z_STREAM_END || (zs.avail_in == in_before && zs.avail_out == out_before)) {
      if (zs.avail_out == 0 && rc != Z_STREAM_END) break;  // the caller's buffer is full
      throw std::runtime_error("a deflated piece is truncated or corrupt");
    }
  }
  return room - zs.avail_out;
}

std::string inflate_piece(const Deflated& piece) {
  std::string out(piece.size, '\0');
  Inflater inflater;
  inflater.start(piece.data, piece.size);
  std::size_t n = 0;
  while (!inflater.done()) {
    const std::size_t got = inflater.read(out.data() + n, out.size() - n);
    if (got == 0 && !inflater.done()) throw std::runtime_error("a deflated piece inflates to more than its size");
    n += got;
  }
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
