#include "report/sparkline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>

#include "report/health_report.h"

namespace pghealthd::report {
namespace {

// Room at the edges: the line's stroke (1 unit) and a lone reading's dot (radius 1.5) are drawn around the
// point, and would be cut in half at the top or bottom.
constexpr double kPadX = 1;
constexpr double kPadY = 1.5;

// A reading to draw: none for a gap, or a value no ratio takes (NaN); a negative one sits at 0.
std::optional<double> drawable(const std::optional<float>& r) {
  if (!r || !std::isfinite(*r)) return std::nullopt;
  return std::max(0.0, static_cast<double>(*r));
}

// One decimal, and none where it is 0 ("12" not "12.0"): at 60 points a line, the bytes add up on a page
// that shows a sparkline for every table.
void append_coordinate(std::string& out, double v) {
  char buf[32];
  const auto end = fmt::format_to_n(buf, sizeof buf, "{:.1f}", v).out;
  std::string_view s(buf, static_cast<std::size_t>(end - buf));
  if (s.ends_with(".0")) s.remove_suffix(2);
  if (s == "-0") s = "0";
  out += s;
}

}  // namespace

std::string sparkline_svg(const std::vector<std::optional<float>>& readings, double floor, int width,
                          int height) {
  std::optional<double> lowest, highest, latest;
  for (const auto& r : readings) {
    const auto v = drawable(r);
    if (!v) continue;
    lowest = std::min(lowest.value_or(*v), *v);
    highest = std::max(highest.value_or(*v), *v);
    latest = v;
  }
  if (!latest) return {};

  width = std::max(width, 4);
  height = std::max(height, 4);
  // 0 at the bottom and the highest reading, or `floor` if higher, at the top: a flat 0.1% is a line near
  // the bottom, not one across the middle. All zeros with no floor: a line at the bottom.
  double top = std::max(*highest, std::isfinite(floor) ? floor : 0.0);
  if (!(top > 0)) top = 1;
  const std::size_t n = readings.size();
  const auto x = [&](std::size_t i) {
    if (n == 1) return width / 2.0;
    return kPadX + static_cast<double>(i) * (width - 2 * kPadX) / static_cast<double>(n - 1);
  };
  const auto y = [&](double v) { return kPadY + (height - 2 * kPadY) * (1 - std::min(v, top) / top); };

  // The stroke on the root, inherited by every line, rather than repeated on each.
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" class=\"spark\" fill=\"none\" stroke=\"currentColor\">"
      "<title>dead rows over the last hour: {2} to {3}, {4} {5}</title>",
      width, height, percent(*lowest), percent(*highest), drawable(readings.back()) ? "now" : "latest",
      percent(*latest));
  for (std::size_t i = 0; i < n;) {
    if (!drawable(readings[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < n && drawable(readings[end])) ++end;
    if (end - i == 1) {
      // A line needs two points: a lone reading (the readings before and after it missing) is a dot.
      out += "<circle cx=\"";
      append_coordinate(out, x(i));
      out += "\" cy=\"";
      append_coordinate(out, y(*drawable(readings[i])));
      out += "\" r=\"1.5\" fill=\"currentColor\" stroke=\"none\"/>";
    } else {
      out += "<polyline points=\"";
      for (std::size_t k = i; k < end; ++k) {
        if (k > i) out += ' ';
        append_coordinate(out, x(k));
        out += ',';
        append_coordinate(out, y(*drawable(readings[k])));
      }
      out += "\"/>";
    }
    i = end;
  }
  out += "</svg>";
  return out;
}

}  // namespace pghealthd::report
