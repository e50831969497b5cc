// The health page (report/health_page.h): one self-contained HTML document, every name as text, worst
// first, nothing fetched from anywhere.
#include <catch2/catch.hpp>

#include <string>

#include "report/health_page.h"

using pghealthd::report::DatabaseReport;
using pghealthd::report::PageContext;
using pghealthd::report::render_html;
using pghealthd::report::Status;

namespace {

DatabaseReport hostile() {
  DatabaseReport r;
  r.target = "prod";
  r.datname = "shop";
  pghealthd::report::Section s;
  s.title = "Dead tuples";
  s.columns = {"table", "live", "dead", "dead %", "status"};
  s.rows.push_back({Status::kCritical,
                    {"<script>alert(1)</script>", "700", "300", "30.00%", "CRITICAL"},
                    "dead rows above 20%: vacuum it",
                    {}});
  s.rows.push_back({Status::kOk, {"it's \"quoted\" & Ünïcode", "10", "0", "0.00%", "OK"}, "clean", {}});
  s.footnotes.push_back("3 more rows not listed (0 of them need attention)");
  r.sections.push_back(s);
  return r;
}

}  // namespace

TEST_CASE("the health page escapes every name: a table called <script> is text", "[page]") {
  const auto html = render_html({hostile()}, {"0.1.0", 1.7e9, 30, ""});
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("it&#39;s &quot;quoted&quot; &amp; Ünïcode") != std::string::npos);
  CHECK(pghealthd::report::escape_html("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST_CASE("the health page says the worst status first, refreshes itself and fetches nothing", "[page]") {
  const auto html =
      render_html({hostile()}, {"0.1.0", 1.7e9, 30, "watching 1 database(s) of 1 target(s), 1 reachable"});
  CHECK(html.rfind("<!doctype html>", 0) == 0);
  CHECK(html.find("<p>watching 1 database(s) of 1 target(s), 1 reachable</p>") != std::string::npos);
  CHECK(html.find("<title>CRITICAL - pghealthd</title>") != std::string::npos);
  CHECK(html.find("<meta http-equiv=\"refresh\" content=\"30\">") != std::string::npos);
  CHECK(html.find("default-src 'none'") != std::string::npos);
  CHECK(html.find("2023-11-14 22:13:20 UTC") != std::string::npos);
  // The critical row before the clean one, its reason beside it, the footnote below.
  const auto critical = html.find("<tr class=\"CRITICAL\">"), ok = html.find("<tr class=\"OK\">");
  REQUIRE(critical != std::string::npos);
  CHECK(critical < ok);
  CHECK(html.find("dead rows above 20%: vacuum it") != std::string::npos);
  CHECK(html.find("3 more rows not listed") > ok);
  // No external source: no absolute URL, no protocol-relative one, no script, no link or img element.
  for (const char* s :
       {"http://", "https://", "src=\"//", "href=\"//", "<link", "<img", "<iframe", "@import"})
    CHECK(html.find(s) == std::string::npos);
}

TEST_CASE("the health page of a database that could not be read says why, and of none says so", "[page]") {
  DatabaseReport down;
  down.target = "t";
  down.datname = "gone";
  down.error = "connection refused <at> 127.0.0.1";
  const auto html = render_html({down}, {"0.1.0", 1.7e9, 30, ""});
  CHECK(html.find("<p class=\"error\">connection refused &lt;at&gt; 127.0.0.1</p>") != std::string::npos);
  CHECK(html.find("<title>CRITICAL - pghealthd</title>") != std::string::npos);
  CHECK(render_html({}, {"0.1.0", 1.7e9, 30, ""}).find("No database read yet.") != std::string::npos);
}

TEST_CASE(
    "the health page shows reachability, each collector's last success and error, and a sparkline of a "
    "table's dead ratio, all as inline markup",
    "[page]") {
  auto r = hostile();
  r.reachable = true;
  r.collectors = {{"stat_user_tables", 1.7e9 - 4, ""}, {"bloat", std::nullopt, "permission denied <x>"}};
  r.sections[0].rows[0].history.assign(60, std::nullopt);
  r.sections[0].rows[0].history[58] = 0.1f;
  r.sections[0].rows[0].history[59] = 0.3f;
  const auto html = render_html({r}, {"0.1.0", 1.7e9, 30, ""});
  CHECK(html.find("<p class=\"up\">reachable</p>") != std::string::npos);
  CHECK(html.find("<td>stat_user_tables</td><td>4s ago</td>") != std::string::npos);
  CHECK(html.find("<td>bloat</td><td>never</td><td class=\"error\">permission denied &lt;x&gt;</td>") !=
        std::string::npos);
  CHECK(html.find("<th>dead %, last hour</th>") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<polyline") != std::string::npos);
  CHECK(html.find("now 30.00%") != std::string::npos);
  // The OK row has no history: an empty cell, no drawing.
  CHECK(html.find("<svg", html.find("<svg") + 1) == std::string::npos);
}
