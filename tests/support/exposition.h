// A small reader of the Prometheus text format, so tests can ask for one series' value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pghealthd::test {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Parses every sample line (comments skipped). Throws on a line it cannot read.
[[nodiscard]] std::vector<Sample> parse_exposition(const std::string& text);

class Scrape {
 public:
  explicit Scrape(const std::string& text) : samples_(parse_exposition(text)), text_(text) {}
  // The value of the one series with this name whose labels include `labels`.
  [[nodiscard]] std::optional<double> value(const std::string& name, const Labels& labels) const;
  // Every series with this name whose labels include `labels`.
  [[nodiscard]] std::vector<Sample> all(const std::string& name, const Labels& labels = {}) const;
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] const std::vector<Sample>& samples() const { return samples_; }

 private:
  std::vector<Sample> samples_;
  std::string text_;
};

}  // namespace pghealthd::test
