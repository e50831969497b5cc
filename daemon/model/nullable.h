// A value that may be NULL, in the size of the value: std::optional's interface as pghealthd uses it, with
// NULL kept as one value the type never takes from a server (INT64_MIN for a count, NaN for a number),
// where std::optional<int64_t> or <double> takes 16 bytes. The statistics views' rows hold dozens of these
// per table and index: at 10,000 tables the difference was megabytes of pghealthd's memory.
//
// Storing the sentinel itself (from a computation) stores NULL: the counts are never INT64_MIN, and the
// parsers refuse NaN (pg::FieldReader::number), so none of the values read can be it.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace pghealthd::model {

template <typename T>
struct NullSentinel;
template <>
struct NullSentinel<std::int64_t> {
  static constexpr std::int64_t value() { return std::numeric_limits<std::int64_t>::min(); }
  static constexpr bool is(std::int64_t v) { return v == value(); }
};
template <>
struct NullSentinel<double> {
  static constexpr double value() { return std::numeric_limits<double>::quiet_NaN(); }
  static constexpr bool is(double v) { return v != v; }
};

template <typename T>
class Nullable {
 public:
  using value_type = T;

  constexpr Nullable() noexcept = default;
  constexpr Nullable(std::nullopt_t) noexcept {}  // NOLINT: as std::optional, implicit
  template <typename U>
    requires std::is_arithmetic_v<U>
  constexpr Nullable(U v) noexcept : v_(static_cast<T>(v)) {}  // NOLINT: as std::optional, implicit
  template <typename U>
  constexpr Nullable(const std::optional<U>& o) noexcept  // NOLINT: parsers give std::optional
      : v_(o ? static_cast<T>(*o) : NullSentinel<T>::value()) {}

  // For the functions that take a std::optional.
  constexpr operator std::optional<T>() const noexcept {  // NOLINT: as the type it replaces
    if (has_value()) return v_;
    return std::nullopt;
  }

  [[nodiscard]] constexpr bool has_value() const noexcept { return !NullSentinel<T>::is(v_); }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr const T& operator*() const noexcept { return v_; }
  constexpr T& operator*() noexcept { return v_; }
  constexpr const T* operator->() const noexcept { return &v_; }
  [[nodiscard]] constexpr const T& value() const {
    if (!has_value()) throw std::bad_optional_access();
    return v_;
  }
  template <typename U>
  [[nodiscard]] constexpr T value_or(U fallback) const noexcept {
    return has_value() ? v_ : static_cast<T>(fallback);
  }
  constexpr void reset() noexcept { v_ = NullSentinel<T>::value(); }

  // As std::optional: NULL equals NULL and nothing else; values compare as values.
  friend constexpr bool operator==(const Nullable& a, const Nullable& b) noexcept {
    return a.has_value() == b.has_value() && (!a.has_value() || a.v_ == b.v_);
  }
  friend constexpr bool operator==(const Nullable& a, std::nullopt_t) noexcept { return !a.has_value(); }
  friend constexpr bool operator==(const Nullable& a, const std::optional<T>& b) noexcept {
    return a == Nullable(b);
  }
  // A value, or anything a value compares with (Catch's Approx in tests).
  template <typename U>
    requires(!std::is_same_v<U, Nullable> && !std::is_same_v<U, std::nullopt_t> &&
             !std::is_same_v<U, std::optional<T>>)
  friend constexpr bool operator==(const Nullable& a, const U& b) {
    return a.has_value() && a.v_ == b;
  }

 private:
  T v_ = NullSentinel<T>::value();
};

}  // namespace pghealthd::model
