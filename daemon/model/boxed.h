// Values most rows lack, in 8 bytes, held on the heap only where a row has one; and values most rows share.
// The snapshots keep tens of thousands of rows per database, where a std::optional, a std::string or a
// struct of settings takes its full size in every row.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace pghealthd::model {

// An optional value held on the heap: 8 bytes where none is set, for a value most rows lack (an exact reading
// of a few relations out of 30,000), with std::optional's interface as the code uses it. Copies copy the value.
template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(const T& v) : p_(std::make_unique<T>(v)) {}  // NOLINT: as std::optional, implicit
  Boxed(const Boxed& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  ~Boxed() = default;

  explicit operator bool() const noexcept { return p_ != nullptr; }
  [[nodiscard]] bool has_value() const noexcept { return p_ != nullptr; }
  const T& operator*() const noexcept { return *p_; }
  const T* operator->() const noexcept { return p_.get(); }
  void reset() noexcept { p_.reset(); }

 private:
  std::unique_ptr<T> p_;
};

// A text most rows leave empty (the partitioned index an index is attached to, the index that makes it
// redundant), in 8 bytes: std::string's 32 stay on the heap, and only where there is a text. Reads as a
// std::string_view; empty and absent are the same.
class RareText {
 public:
  RareText() = default;
  RareText(std::string_view s) {  // NOLINT: as std::string, implicit
    if (!s.empty()) text_ = std::string(s);
  }
  RareText(const std::string& s) : RareText(std::string_view(s)) {}  // NOLINT
  RareText(const char* s) : RareText(std::string_view(s)) {}         // NOLINT

  [[nodiscard]] bool empty() const noexcept { return !text_; }
  [[nodiscard]] const std::string& str() const noexcept {
    static const std::string kNone;
    return text_ ? *text_ : kNone;
  }
  operator std::string_view() const noexcept { return str(); }  // NOLINT: reads as a string
  friend bool operator==(const RareText& a, std::string_view b) noexcept { return std::string_view(a) == b; }

 private:
  Boxed<std::string> text_;
};

// A value many rows hold the same of (the server's autovacuum settings, which every table without reloptions
// of its own has), in 16 bytes: the rows share one copy, and a row that changes its own copies it first.
template <typename T>
class Shared {
 public:
  Shared() : p_(none()) {}
  Shared(const T& v) : p_(std::make_shared<T>(v)) {}  // NOLINT: as a T, implicit

  const T& operator*() const noexcept { return *p_; }
  const T* operator->() const noexcept { return p_.get(); }
  // The row's own copy, to change.
  T& edit() {
    if (p_.use_count() != 1) p_ = std::make_shared<T>(*p_);
    return *p_;
  }

 private:
  static const std::shared_ptr<T>& none() {
    static const std::shared_ptr<T> value = std::make_shared<T>();
    return value;
  }
  std::shared_ptr<T> p_;
};

}  // namespace pghealthd::model
