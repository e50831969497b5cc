#include "base/gzip.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace pghealthd::base {

// Compressed with ISA-L's igzip at its level 1: the same size as zlib's Z_BEST_SPEED on exposition text,
// in a third of the CPU (bench/observations.md, 2026-12-06), and the CRC-32 with its folding (PCLMULQDQ)
// code. Its output is plain raw deflate: zlib, and so every client, inflates it.
struct Deflater::Impl {
  isal_zstream zs{};
  std::vector<std::uint8_t> level_buffer = std::vector<std::uint8_t>(ISAL_DEF_LVL1_SMALL);
  std::string out;  // compressed output of the piece in progress; its capacity is kept for the next
};

Deflater::Deflater() : impl_(std::make_unique<Impl>()) {}
Deflater::~Deflater() = default;
Deflater::Deflater(Deflater&&) noexcept = default;
Deflater& Deflater::operator=(Deflater&&) noexcept = default;

Deflated Deflater::piece(std::string_view text) {
  auto& zs = impl_->zs;
  auto& buf = impl_->out;
  // A fresh stream for every piece: no piece refers to another's data. Raw deflate (no framing of its
  // own), ending in a sync flush and never in a final block, so pieces concatenate.
  isal_deflate_init(&zs);
  zs.level = 1;
  zs.level_buf = impl_->level_buffer.data();
  zs.level_buf_size = static_cast<std::uint32_t>(impl_->level_buffer.size());
  zs.gzip_flag = IGZIP_DEFLATE;
  zs.flush = SYNC_FLUSH;
  zs.end_of_stream = 0;
  Deflated out;
  out.size = text.size();
  out.crc = crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  zs.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(text.data()));
  // Grown step by step: a bound-sized buffer would be resident for nothing, as the text compresses ~20
  // to 1.
  constexpr std::size_t kStep = 16 * 1024;
  std::size_t used = 0;
  std::size_t left = text.size();
  do {
    const auto feed = static_cast<std::uint32_t>(std::min<std::size_t>(left, 1u << 30));
    zs.avail_in = feed;
    left -= feed;
    // The whole piece is one "buffer" of input; with more input to come a sync flush is harmless.
    do {
      if (buf.size() - used < kStep) buf.resize(std::max(buf.size() * 2, used + kStep));
      zs.next_out = reinterpret_cast<std::uint8_t*>(buf.data() + used);
      const std::size_t room = std::min<std::size_t>(buf.size() - used, 1u << 30);
      zs.avail_out = static_cast<std::uint32_t>(room);
      if (isal_deflate(&zs) != COMP_OK) throw std::runtime_error("deflate failed");
      used += room - zs.avail_out;
    } while (zs.avail_in > 0 || zs.avail_out == 0);
  } while (left > 0);
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
