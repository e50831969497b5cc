// gzip built from independently compressed pieces, so a large body is never compressed (or copied) as a
// whole, and text that is kept for a while is kept compressed.
//
// Each piece is raw deflate ending in a sync flush: complete, non-final blocks on a byte boundary, with
// no reference to earlier data. Pieces therefore concatenate, in any grouping, into one valid deflate
// stream (the technique of pigz); a gzip header, one empty final block and a trailer whose CRC-32 is
// combined from the pieces' own CRCs make it one ordinary gzip member that every client inflates. And
// each piece inflates on its own, so a plain body is written by inflating piece after piece into a small
// buffer (base::BodyReader).
//
// /metrics keeps each snapshot's text only as such pieces (metrics::Fragments), compressed while it is
// rendered, and sends them as they are to every gzip scrape.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pghealthd::base {

struct Deflated {
  std::string data;         // raw deflate, sync-flushed
  std::uint32_t crc = 0;    // CRC-32 of the uncompressed text
  std::uint64_t size = 0;   // length of the uncompressed text
};

// Compresses `text` (ISA-L's igzip, level 1) into a self-contained piece. Throws std::runtime_error if it
// fails.
[[nodiscard]] Deflated deflate_piece(std::string_view text);

// deflate_piece() for many pieces in a row: one compression stream and one output buffer, reset between
// pieces (each piece stays self-contained). Not thread-safe; ~200 KiB while it lives.
class Deflater {
 public:
  Deflater();
  ~Deflater();
  Deflater(Deflater&&) noexcept;
  Deflater& operator=(Deflater&&) noexcept;

  // Throws std::runtime_error if compression fails.
  [[nodiscard]] Deflated piece(std::string_view text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Text kept as consecutive pieces: it costs its compressed size in memory. Immutable once built.
class DeflatedText {
 public:
  void append(Deflated piece);

  [[nodiscard]] const std::vector<Deflated>& pieces() const { return pieces_; }
  // Length of the uncompressed text.
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::size_t compressed_size() const;
  // The whole text, inflated: for tests and small texts, never for a scrape.
  [[nodiscard]] std::string inflated() const;
  void reserve(std::size_t pieces) { pieces_.reserve(pieces); }

 private:
  std::vector<Deflated> pieces_;
  std::uint64_t size_ = 0;
};

// Inflates pieces, one after another, into a caller's buffer a bounded amount at a time. Not thread-safe.
class Inflater {
 public:
  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Starts on a piece: `data` raw deflate that inflates to `size` bytes. `data` must outlive the reads.
  void start(std::string_view data, std::uint64_t size);
  // Inflates the rest of the current piece into `out`, at most `capacity` bytes; returns how many were
  // written. Throws std::runtime_error if the piece is corrupt or does not inflate to exactly its size.
  [[nodiscard]] std::size_t read(char* out, std::size_t capacity);
  // The current piece is wholly inflated (and read() would write nothing more).
  [[nodiscard]] bool done() const { return done_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t size_ = 0;
  std::uint64_t produced_ = 0;
  bool done_ = true;
};

// The text of one piece (tests, small pieces).
[[nodiscard]] std::string inflate_piece(const Deflated& piece);

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
