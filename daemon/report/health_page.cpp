#include "report/health_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "report/sparkline.h"

namespace pghealthd::report {
namespace {

// Small, readable and printable; status colours that stay apart for the colour-blind (with the status
// word always written beside them).
constexpr std::string_view kStyle = R"CSS(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#1d2430;background:#fbfbfc}
header{border-bottom:1px solid #d8dce3;margin-bottom:12px}
h1{font-size:20px;margin:14px 0 4px}h2{font-size:17px;margin:22px 0 6px}h3{font-size:14px;margin:16px 0 4px}
.meta,.foot{color:#5b6472;font-size:12px}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;color:#fff}
.badge.OK{background:#2e7d32}.badge.WARNING{background:#b26a00}.badge.CRITICAL{background:#b3261e}
tr.WARNING td:first-child{box-shadow:inset 3px 0 #b26a00}tr.CRITICAL td:first-child{box-shadow:inset 3px 0 #b3261e}
.error{color:#b3261e;font-weight:600}
.up{color:#2e7d32;font-weight:600}
svg.spark{vertical-align:middle;color:#5b6472}tr.WARNING svg.spark{color:#b26a00}tr.CRITICAL svg.spark{color:#b3261e}
table.collectors{width:auto}table.collectors td,table.collectors th{padding:1px 8px;font-size:12px}
)CSS";

std::string utc(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

bool numeric(std::string_view cell) {
  if (cell.empty()) return false;
  for (char c : cell)
    if (!((c >= '0' && c <= '9') || c == '.' || c == '%' || c == '-' || c == ',')) return false;
  return cell != "-";
}

std::string badge(Status s) {
  const std::string n(name(s));
  return "<span class=\"badge " + n + "\">" + n + "</span>";
}

void render_section(std::string& out, const Section& s) {
  std::size_t attention = 0;
  for (const auto& r : s.rows) attention += r.status != Status::kOk;
  out += "<h3>" + escape_html(s.title);
  if (attention)
    out += fmt::format(" <span class=\"meta\">({} listed {})</span>", attention,
                       s.chronological ? "proved nothing or failed" : "need attention");
  out += "</h3>\n";
  if (!s.rows.empty()) {
    const bool history =
        std::any_of(s.rows.begin(), s.rows.end(), [](const Row& r) { return !r.history.empty(); });
    out += "<table><thead><tr>";
    for (const auto& c : s.columns) out += "<th>" + escape_html(c) + "</th>";
    if (history) out += "<th>dead %, last hour</th>";
    out += "<th>why</th></tr></thead><tbody>\n";
    for (const auto& r : s.rows) {
      out += "<tr class=\"" + std::string(name(r.status)) + "\">";
      for (const auto& c : r.cells)
        out += (numeric(c) ? "<td class=\"n\">" : "<td>") + escape_html(c) + "</td>";
      if (history) out += "<td>" + sparkline_svg(r.history) + "</td>";
      out += "<td>" + escape_html(r.note) + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  } else {
    out += "<p class=\"meta\">nothing to list</p>\n";
  }
  for (const auto& f : s.footnotes) out += "<p class=\"foot\">" + escape_html(f) + "</p>\n";
}

}  // namespace

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_html(const std::vector<DatabaseReport>& reports, const PageContext& context) {
  const Status worst = overall(reports);
  std::string out;
  out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">\n", context.refresh_seconds);
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + std::string(name(worst)) + " - pghealthd</title>\n<style>";
  out += kStyle;
  out += "</style></head><body>\n<header><h1>pghealthd " + badge(worst) + "</h1>\n";
  if (!context.watching.empty()) out += "<p>" + escape_html(context.watching) + "</p>\n";
  out += "<p class=\"meta\">pghealthd " + escape_html(context.version) + " · " + utc(context.now_unix) +
         fmt::format(" · refreshes every {} s", context.refresh_seconds) +
         " · <a href=\"/status.json\">JSON</a> · <a href=\"/metrics\">metrics</a> · <a "
         "href=\"/advice\">advice</a></p>"
         "</header>\n";
  if (reports.empty()) out += "<p>No database read yet.</p>\n";
  for (const auto& r : reports) {
    out += "<section><h2>" + escape_html(r.target) + " / " + escape_html(r.datname) + " " +
           badge(database_status(r)) + "</h2>\n";
    if (r.reachable && *r.reachable) out += "<p class=\"up\">reachable</p>\n";
    if (!r.error.empty())
      out += "<p class=\"error\">" + escape_html(r.error) + "</p>\n";
    else if (r.reachable && !*r.reachable)
      out += "<p class=\"error\">not reached yet</p>\n";
    if (!r.collectors.empty()) {
      out +=
          "<table class=\"collectors\"><thead><tr><th>collector</th><th>last success</th><th>last error</th>"
          "</tr></thead><tbody>\n";
      for (const auto& c : r.collectors)
        out += "<tr><td>" + escape_html(c.name) + "</td><td>" + age(c.last_success_unix, context.now_unix) +
               "</td><td" + (c.error.empty() ? ">" : " class=\"error\">") + escape_html(c.error) +
               "</td></tr>\n";
      out += "</tbody></table>\n";
    }
    for (const auto& s : r.sections) render_section(out, s);
    out += "</section>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace pghealthd::report
