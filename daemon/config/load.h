// YAML -> Config. Strict: unknown keys, wrong types and bad values are errors that name their line and
// column, and every problem in a file is reported at once (not just the first).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace pghealthd::config {

struct Problem {
  int line = 0;  // 1-based; 0 when the problem has no position (e.g. the file cannot be read)
  int column = 0;
  std::string message;
};

using LoadResult = std::variant<Config, std::vector<Problem>>;

// Parses and validates YAML text. `base_dir` resolves relative password_file paths.
[[nodiscard]] LoadResult parse_config(std::string_view yaml_text, const std::string& base_dir = ".");

// Reads `path` and parses it.
[[nodiscard]] LoadResult load_config(const std::string& path);

// "FILE:LINE:COL: message", the format editors and CI annotate.
[[nodiscard]] std::string format_problem(const std::string& file, const Problem& p);

// "30s", "250ms", "5m", "1h" -> milliseconds. nullopt for anything else (no sign, no spaces, no mixing,
// no fractions) and for more than 8784h (366 days), the longest duration pghealthd accepts. Keys that
// become PostgreSQL settings have tighter limits, checked by parse_config().
[[nodiscard]] std::optional<Duration> parse_duration(std::string_view text);

// "127.0.0.1:9188", ":9188", "[::1]:9188", "localhost:9188" -> host and port.
[[nodiscard]] std::optional<ListenAddress> parse_listen(std::string_view text);

}  // namespace pghealthd::config
