#include "support/exposition.h"

#include <limits>
#include <sstream>
#include <stdexcept>

namespace pghealthd::test {

std::vector<Sample> parse_exposition(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (i < line.size() && line[i] != '=') key += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') throw std::runtime_error("bad label in: " + line);
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            const char e = line[++i];
            value += e == 'n' ? '\n' : e;
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        s.labels[key] = value;
      }
      ++i;  // closing brace
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const std::string v = line.substr(i);
    if (v.find(' ') != std::string::npos) throw std::runtime_error("sample with a timestamp: " + line);
    s.value = v == "NaN" ? std::numeric_limits<double>::quiet_NaN() : std::stod(v);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {
bool includes(const Labels& have, const Labels& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}
}  // namespace

std::optional<double> Scrape::value(const std::string& name, const Labels& labels) const {
  std::optional<double> found;
  for (const auto& s : samples_) {
    if (s.name != name || !includes(s.labels, labels)) continue;
    if (found) throw std::runtime_error("more than one series matches " + name);
    found = s.value;
  }
  return found;
}

std::vector<Sample> Scrape::all(const std::string& name, const Labels& labels) const {
  std::vector<Sample> out;
  for (const auto& s : samples_)
    if (s.name == name && includes(s.labels, labels)) out.push_back(s);
  return out;
}

}  // namespace pghealthd::test
