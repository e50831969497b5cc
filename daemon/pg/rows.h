// The seam between reading and parsing: a collector's parser sees rows through this interface, so it is
// tested with plain data (TextRows) and run on a libpq result (pg::ResultRows) alike.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pghealthd::pg {

class Rows {
 public:
  virtual ~Rows() = default;
  [[nodiscard]] virtual int size() const = 0;
  [[nodiscard]] virtual int column(std::string_view name) const = 0;  // -1 when there is no such column
  // The text of a field; nullopt for SQL NULL.
  [[nodiscard]] virtual std::optional<std::string_view> get(int row, int col) const = 0;
};

// Rows held as text, for tests and fuzzing.
class TextRows final : public Rows {
 public:
  TextRows(std::vector<std::string> columns, std::vector<std::vector<std::optional<std::string>>> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}
  [[nodiscard]] int size() const override { return static_cast<int>(rows_.size()); }
  [[nodiscard]] int column(std::string_view name) const override;
  [[nodiscard]] std::optional<std::string_view> get(int row, int col) const override;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
};

// Rows copied out of libpq's results as they arrive (Connection::query_rows, single-row mode), packed: each
// field its length (one byte, five when longer than 253 bytes; NULL one byte) and its text, rows side by side
// in chunks of 64 KiB. A PGresult holding the whole answer would cost 16 bytes a field (NULLs too), a
// terminating NUL per value and a block per few rows: at 10,000 tables the answers in flight were the largest
// part of the peak memory. Reading a field walks its row's fields before it.
class PackedRows final : public Rows {
 public:
  PackedRows() = default;
  PackedRows(PackedRows&&) noexcept = default;
  PackedRows& operator=(PackedRows&&) noexcept = default;

  // The answer's columns, once, before any row.
  void set_columns(std::vector<std::string> names) { columns_ = std::move(names); }
  [[nodiscard]] bool has_columns() const { return !columns_.empty(); }
  // Appends one row: a field for each column (nullopt for NULL). False, leaving the rows as they were, when
  // the row has another count of fields or 4 GiB or more of text.
  bool append(const std::optional<std::string_view>* fields, std::size_t count);
  void clear();

  [[nodiscard]] int size() const override { return static_cast<int>(rows_.size()); }
  [[nodiscard]] int column(std::string_view name) const override;
  [[nodiscard]] std::optional<std::string_view> get(int row, int col) const override;

 private:
  struct Place {
    std::uint32_t chunk;
    std::uint32_t offset;
  };
  static constexpr std::size_t kChunk = 64 * 1024;
  std::vector<std::string> columns_;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::size_t used_ = 0;      // bytes taken in the last chunk
  std::size_t capacity_ = 0;  // the last chunk's size (a row larger than kChunk gets a chunk of its own size)
  std::vector<Place> rows_;
  // Where each field of row marked_row_ starts (get()): a cache, so one reader at a time.
  mutable int marked_row_ = -1;
  mutable std::vector<const char*> marks_;
};

// Several answers with the same columns seen as one (the pages of a paged collector, in order).
class ConcatRows final : public Rows {
 public:
  explicit ConcatRows(std::vector<const Rows*> parts);
  [[nodiscard]] int size() const override { return size_; }
  [[nodiscard]] int column(std::string_view name) const override;
  [[nodiscard]] std::optional<std::string_view> get(int row, int col) const override;

 private:
  std::vector<const Rows*> parts_;
  std::vector<int> starts_;  // the first row of each part
  int size_ = 0;
};

// A parse outcome: the rows, or why the server's answer could not be used (then `rows` is empty).
template <typename T>
struct Parsed {
  std::vector<T> rows;
  std::string error;
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// Typed access to named columns, recording the first problem instead of throwing.
class FieldReader {
 public:
  explicit FieldReader(const Rows& rows) : rows_(rows) {}

  // Looks up a column once; a missing column is an error of the whole answer.
  int require(std::string_view name);
  std::string text(int row, int col);  // NOT NULL text column
  std::optional<std::int64_t> integer(int row, int col);
  std::optional<double> number(int row, int col);
  bool boolean(int row, int col);  // 't' or 'f'

  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  void fail(int row, int col, std::string_view what, std::optional<std::string_view> value);
  const Rows& rows_;
  std::string error_;
};

}  // namespace pghealthd::pg
