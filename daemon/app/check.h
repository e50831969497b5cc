// `pghealthd check`: collects once from every database of the configuration and prints the health report
// (report/health_report.h), for a DBA at a shell or a monitoring plugin. Exit code 0 OK, 1 warning,
// 2 critical, like Nagios-style plugins.
#pragma once

#include "config/config.h"
#include "report/health_report.h"

namespace pghealthd::app {

[[nodiscard]] int run_check(const config::Config& cfg, bool json);

// The report's thresholds where the configuration sets them (vacuum, indexes, advice): `check` and the
// daemon's /status.json judge alike.
[[nodiscard]] report::Thresholds report_thresholds(const config::Config& cfg);

}  // namespace pghealthd::app
