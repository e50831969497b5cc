#include "config/pattern.h"

#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>

namespace pghealthd::config {
namespace {

std::shared_ptr<const re2::RE2> compile(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);  // errors come back to the caller, not to stderr
  options.set_max_mem(1 << 20);   // names are short: a pattern that needs more than 1 MiB is refused
  return std::make_shared<const re2::RE2>(pattern, options);
}

}  // namespace

Pattern::Pattern(const std::string& pattern) : re_(compile(pattern)) {
  if (!re_->ok()) throw std::invalid_argument(re_->error());
}

bool Pattern::matches(std::string_view name) const {
  return re2::RE2::FullMatch(re2::StringPiece(name.data(), name.size()), *re_);
}

const std::string& Pattern::text() const { return re_->pattern(); }

std::optional<std::string> pattern_error(const std::string& pattern) {
  const auto re = compile(pattern);
  if (re->ok()) return std::nullopt;
  return re->error().empty() ? std::string("not a valid regular expression") : re->error();
}

std::vector<Pattern> compile_patterns(const std::vector<std::string>& patterns) {
  std::vector<Pattern> out;
  out.reserve(patterns.size());
  for (const auto& p : patterns) out.emplace_back(p);
  return out;
}

bool selected(std::string_view name, const std::vector<Pattern>& include, const std::vector<Pattern>& exclude) {
  auto match = [&](const Pattern& p) { return p.matches(name); };
  return (include.empty() || std::any_of(include.begin(), include.end(), match)) &&
         std::none_of(exclude.begin(), exclude.end(), match);
}

}  // namespace pghealthd::config
