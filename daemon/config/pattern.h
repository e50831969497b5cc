// Regular expressions over names (databases, schemas, tables), matched against the whole name.
//
// RE2, not std::regex: RE2 matches in time linear in the name whatever the pattern, where libstdc++'s
// std::regex backtracks exponentially on patterns such as `(.*)*_archive` and recurses until the stack
// overflows on deep ones (both found by fuzzing). A configured pattern runs against every table name on
// every collection, on the event loop: it must never be able to stall it. RE2's syntax is the common
// one (POSIX classes, \d, \w, non-greedy, (?i)...), without back-references and look-around.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace pghealthd::config {

class Pattern {
 public:
  // Throws std::invalid_argument with RE2's reason when `pattern` is not valid (see pattern_error()).
  explicit Pattern(const std::string& pattern);
  [[nodiscard]] bool matches(std::string_view name) const;
  [[nodiscard]] const std::string& text() const;

 private:
  std::shared_ptr<const re2::RE2> re_;  // immutable and thread-safe; shared by copies
};

// nullopt when `pattern` compiles; otherwise why it does not.
[[nodiscard]] std::optional<std::string> pattern_error(const std::string& pattern);

// Compiles validated patterns (a Config only holds those).
[[nodiscard]] std::vector<Pattern> compile_patterns(const std::vector<std::string>& patterns);

// Whether `name` passes a filter: it fully matches an include (or there are none) and no exclude.
[[nodiscard]] bool selected(std::string_view name, const std::vector<Pattern>& include,
                            const std::vector<Pattern>& exclude);

}  // namespace pghealthd::config
