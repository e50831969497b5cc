// The health report as one self-contained HTML page (GET /, issue 17): what `pghealthd check` says of each
// database, worst first, for a DBA's browser on the database host. No script, font, stylesheet or image
// comes from anywhere: inline CSS (and inline SVG), so it works on an air-gapped host, and a
// Content-Security-Policy that forbids every other source. Every name is escaped: a table called
// `<script>` is text. Pure: built from reports and `now`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/health_report.h"

namespace pghealthd::report {

struct PageContext {
  std::string version;       // pghealthd's, in the title bar
  double now_unix = 0;       // when the page was built (UTC in the page)
  int refresh_seconds = 30;  // the page reloads itself this often
  std::string watching;      // "watching 3 database(s) of 1 target(s), 3 reachable"
};

// `s` as HTML text or a double-quoted attribute value: & < > " ' escaped.
[[nodiscard]] std::string escape_html(std::string_view s);

[[nodiscard]] std::string render_html(const std::vector<DatabaseReport>& reports, const PageContext& context);

}  // namespace pghealthd::report
