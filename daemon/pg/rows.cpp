#include "pg/rows.h"

#include <charconv>
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
