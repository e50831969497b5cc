#include "pg/rows.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

namespace pghealthd::pg {

int TextRows::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i] == name) return static_cast<int>(i);
  return -1;
}

std::optional<std::string_view> TextRows::get(int row, int col) const {
  const auto& r = rows_.at(static_cast<std::size_t>(row));
  if (col < 0 || static_cast<std::size_t>(col) >= r.size() || !r[static_cast<std::size_t>(col)])
    return std::nullopt;
  return std::string_view(*r[static_cast<std::size_t>(col)]);
}

namespace {
// A field is its length and then its text: one byte for a length up to kLongestShort, else kLong and four
// bytes of length; kNull alone for NULL. Most fields of the statistics views are short numbers or names.
constexpr unsigned char kLongestShort = 253, kNull = 254, kLong = 255;
}  // namespace

bool PackedRows::append(const std::optional<std::string_view>* fields, std::size_t count) {
  if (count != columns_.size()) return false;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!fields[i]) {
      ++bytes;
      continue;
    }
    const std::size_t n = fields[i]->size();
    if (n > std::numeric_limits<std::uint32_t>::max()) return false;
    bytes += (n <= kLongestShort ? 1 : 1 + sizeof(std::uint32_t)) + n;
  }
  if (bytes > std::numeric_limits<std::uint32_t>::max()) return false;
  if (chunks_.empty() || capacity_ - used_ < bytes) {
    if (chunks_.size() >= std::numeric_limits<std::uint32_t>::max()) return false;
    capacity_ = std::max(kChunk, bytes);
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(capacity_));
    used_ = 0;
  }
  char* out = chunks_.back().get() + used_;
  for (std::size_t i = 0; i < count; ++i) {
    if (!fields[i]) {
      *out++ = static_cast<char>(kNull);
      continue;
    }
    const auto n = static_cast<std::uint32_t>(fields[i]->size());
    if (n <= kLongestShort) {
      *out++ = static_cast<char>(n);
    } else {
      *out++ = static_cast<char>(kLong);
      std::memcpy(out, &n, sizeof n);
      out += sizeof n;
    }
    if (n > 0) std::memcpy(out, fields[i]->data(), n);
    out += n;
  }
  rows_.push_back(Place{static_cast<std::uint32_t>(chunks_.size() - 1), static_cast<std::uint32_t>(used_)});
  used_ += bytes;
  return true;
}

void PackedRows::clear() {
  marked_row_ = -1;
  std::vector<std::unique_ptr<char[]>>().swap(chunks_);
  std::vector<Place>().swap(rows_);
  used_ = capacity_ = 0;
}

int PackedRows::column(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i] == name) return static_cast<int>(i);
  return -1;
}

namespace {

// The field that starts at `at` (see kLongestShort); `at` moves past it.
std::optional<std::string_view> read_field(const char*& at) {
  const auto mark = static_cast<unsigned char>(*at++);
  if (mark == kNull) return std::nullopt;
  std::uint32_t n = mark;
  if (mark == kLong) {
    std::memcpy(&n, at, sizeof n);
    at += sizeof n;
  }
  const std::string_view text(at, n);
  at += n;
  return text;
}

}  // namespace

std::optional<std::string_view> PackedRows::get(int row, int col) const {
  if (col < 0 || static_cast<std::size_t>(col) >= columns_.size()) return std::nullopt;
  // A parser reads a row's fields one after another, in any order: the row's field marks are found once
  // (a walk of a few dozen, each a byte or five to skip) and kept until another row is read.
  if (row != marked_row_) {
    const auto& place = rows_.at(static_cast<std::size_t>(row));
    marks_.resize(columns_.size());
    const char* at = chunks_[place.chunk].get() + place.offset;
    for (auto& m : marks_) {
      m = at;
      (void)read_field(at);
    }
    marked_row_ = row;
  }
  const char* at = marks_[static_cast<std::size_t>(col)];
  return read_field(at);
}

ConcatRows::ConcatRows(std::vector<const Rows*> parts) : parts_(std::move(parts)) {
  for (const auto* p : parts_) {
    starts_.push_back(size_);
    size_ += p->size();
  }
}

int ConcatRows::column(std::string_view name) const { return parts_.empty() ? -1 : parts_.front()->column(name); }

std::optional<std::string_view> ConcatRows::get(int row, int col) const {
  // The last part that starts at or before `row`: parts are few (pages of hundreds of rows).
  std::size_t i = parts_.size();
  while (i > 1 && starts_[i - 1] > row) --i;
  return parts_[i - 1]->get(row - starts_[i - 1], col);
}

int FieldReader::require(std::string_view name) {
  const int c = rows_.column(name);
  if (c < 0 && error_.empty()) error_ = "the server's answer has no column '" + std::string(name) + "'";
  return c;
}

void FieldReader::fail(int row, int col, std::string_view what, std::optional<std::string_view> value) {
  if (!error_.empty()) return;
  error_ = "row " + std::to_string(row + 1) + ", column " + std::to_string(col + 1) + ": expected " +
           std::string(what) + ", got " + (value ? "'" + std::string(value->substr(0, 64)) + "'" : "NULL");
}

std::string FieldReader::text(int row, int col) {
  if (col < 0) return {};
  auto v = rows_.get(row, col);
  if (!v) {
    fail(row, col, "a name", v);
    return {};
  }
  return std::string(*v);
}

std::optional<std::int64_t> FieldReader::integer(int row, int col) {
  if (col < 0) return std::nullopt;
  auto v = rows_.get(row, col);
  if (!v) return std::nullopt;
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    fail(row, col, "an integer", v);
    return std::nullopt;
  }
  return out;
}

std::optional<double> FieldReader::number(int row, int col) {
  if (col < 0) return std::nullopt;
  auto v = rows_.get(row, col);
  if (!v) return std::nullopt;
  double out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size() || out != out) {
    fail(row, col, "a number", v);
    return std::nullopt;
  }
  return out;
}

bool FieldReader::boolean(int row, int col) {
  if (col < 0) return false;
  auto v = rows_.get(row, col);
  if (v && (*v == "t" || *v == "f")) return *v == "t";
  fail(row, col, "t or f", v);
  return false;
}

}  // namespace pghealthd::pg
