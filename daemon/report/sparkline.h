// The health page's per-table sparklines (GET /), drawn from model::DeadRatioHistory::series. Pure: readings
// in, SVG text out.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pghealthd::report {

// A dead-ratio sparkline as inline SVG (the health page allows no image or script from anywhere): one
// polyline per unbroken run of readings (a gap in the readings is a gap in the line), y from 0 at the bottom
// to the larger of the highest reading and `floor` at the top, so a flat 0.1% line does not look alarming.
// Empty string when there is no reading at all. Its <title> says what it shows in words
// ("dead rows over the last hour: 0.00% to 7.31%, now 7.31%").
[[nodiscard]] std::string sparkline_svg(const std::vector<std::optional<float>>& readings,
                                        double floor = 0.05, int width = 120, int height = 24);

}  // namespace pghealthd::report
