#!/usr/bin/env bash
# The health page (GET /) in a real browser: headless Chromium loads the page pghealthd serves for the
# README's demo (scripts/demo: a throwaway PostgreSQL, autovacuum off, a workload leaving dead rows, automatic
# vacuum on) and the DOM it renders must show the bloated tables first with their ratios, the automatic vacuum
# in the maintenance log, a hostile table name as text, and nothing the page would fetch from elsewhere. A
# screenshot is written to the artifact directory.
#
#   tests/browser/health_page.sh PGHEALTHD_BINARY ARTIFACT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1
artifacts=$2
mkdir -p "$artifacts"
out=$(mktemp -d /tmp/pghealthd-browser-XXXXXX)
chmod 755 "$out"
demo_pid=
cleanup() {
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

PGHEALTHD_BIN=$bin "$root/scripts/demo" --no-build --seconds 300 >"$out/demo.log" 2>&1 &
demo_pid=$!
url= work=
for _ in $(seq 300); do
  url=$(grep -o "http://127.0.0.1:[0-9]*/metrics" "$out/demo.log" | head -1 | sed 's|/metrics$||' || true)
  work=$(sed -n 's/^== starting a throwaway PostgreSQL (autovacuum off) in \(.*\)\/pg$/\1/p' "$out/demo.log" | head -1)
  [ -n "$url" ] && [ -n "$work" ] && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$out/demo.log" >&2; fail "the demo stopped"; }
  sleep 0.2
done
[ -n "$url" ] || { cat "$out/demo.log" >&2; fail "the demo printed no address"; }
echo "demo at $url (cluster in $work)"

# A table whose name is markup, quotes and non-ASCII, with dead rows enough to be listed first.
hostile='<script>alert(1)</script> "Ünïcode" it'"'"'s'
(set -a; . "$work/pg/env"; set +a
 psql -X -q -v ON_ERROR_STOP=1 -d app \
   -c "CREATE TABLE \"<script>alert(1)</script> \"\"Ünïcode\"\" it's\" (id int, pad text)" \
   -c "INSERT INTO \"<script>alert(1)</script> \"\"Ünïcode\"\" it's\" SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g" \
   -c "DELETE FROM \"<script>alert(1)</script> \"\"Ünïcode\"\" it's\" WHERE id % 10 < 3") >/dev/null

# Until the daemon has vacuumed a table by itself and read the hostile table.
ready=
for _ in $(seq 120); do
  if curl -sf "$url/status.json" >"$out/status.json" &&
     jq -e --arg h "$hostile" '.databases[0].sections as $s
       | ([$s[] | select(.title == "Maintenance log") | .rows[] | select(.cells[2] == "vacuum" and .cells[3] == "success")] | length > 0)
       and ([$s[] | select(.title == "Dead tuples") | .rows[] | select(.cells[0] == $h)] | length > 0)' \
       "$out/status.json" >/dev/null; then ready=1; break; fi
  sleep 1
done
[ -n "$ready" ] || { cat "$out/status.json" >&2; fail "no automatic vacuum logged, or the hostile table not read, in 2 minutes"; }

chrome() {
  timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$out/profile" \
    --window-size=1280,1700 "$@" 2>>"$out/chromium.log"
}
section_rows() {  # the rows of the section titled $1, one per line, tags kept
  tr -d '\n' <"$out/dom.html" | sed 's|<tr|\n<tr|g; s|</table>|</table>\n|g; s|<h3>|\n<h3>|g' |
    awk -v t="<h3>$1" 'index($0, "<h3>") == 1 { on = index($0, t) == 1 } on && /^<tr class=/'
}
cell() { sed 's|</td>|\n|g' | sed -n "$1{s|.*<td[^>]*>||;p}"; }

# What the browser built, read as a DBA reads the page; prints why not when it is not what it should be.
check_page() {
  local attention first ratio
  attention=$(section_rows "Tables that need attention")
  [ -n "$attention" ] || { echo "no table needs attention on the page"; return 1; }
  first=$(echo "$attention" | head -1)
  echo "$first" | grep -q '^<tr class="\(CRITICAL\|WARNING\)">' || { echo "the first table is not the worst: $first"; return 1; }
  ratio=$(echo "$first" | cell 2)
  echo "$ratio" | grep -Eq '^[0-9]+\.[0-9]{2}%$' || { echo "the first table's dead ratio is not shown: '$ratio'"; return 1; }
  # Worst first: no WARNING row above a CRITICAL one.
  echo "$attention" | grep -o '^<tr class="[A-Z]*"' | awk '/WARNING/ { w = 1 } /CRITICAL/ && w { exit 1 }' ||
    { echo "a warning is listed above a critical table"; return 1; }
  echo "$first" | grep -q '<svg' || { echo "the first table has no sparkline of its dead ratio"; return 1; }
  section_rows "Maintenance log" | grep -q '<td>vacuum</td><td>success</td>' ||
    { echo "the maintenance log does not show the automatic vacuum"; return 1; }
  section_rows "Dead tuples" | grep -qF "<td>&lt;script&gt;alert(1)&lt;/script&gt; \"Ünïcode\" it's</td>" ||
    { echo "the hostile table name is not shown as text"; return 1; }
  if grep -qi '<script' "$out/dom.html"; then echo "the DOM has a script element"; return 1; fi
  grep -q 'class="up">reachable<' "$out/dom.html" || { echo "the page does not say the database is reachable"; return 1; }
  echo "first table: $(echo "$first" | cell 1) at $ratio dead"
}

# The workload keeps adding dead rows and the daemon keeps vacuuming them: a table just vacuumed has none to
# show, so the page is read again (every 5 s, the demo's collection interval) until a bloated table is listed.
why=
for attempt in 1 2 3 4 5 6; do
  chrome --dump-dom "$url/" >"$out/dom.html" || { cat "$out/chromium.log" >&2; fail "chromium could not load the page"; }
  if why=$(check_page); then echo "$why"; why=; break; fi
  echo "attempt $attempt: $why"
  sleep 5
done
cp "$out/dom.html" "$artifacts/health-page.dom.html"
[ -z "$why" ] || fail "$why"
chrome --screenshot="$artifacts/health-page.png" "$url/" >/dev/null || fail "chromium could not take a screenshot"

# Nothing that would leave the host: every link and source is this server's own path, no CSS url() or
# @import, and only the SVG namespace names another host (a name, never fetched).
curl -sf "$url/" >"$out/page.html"
grep -Eio '(src|href|action|srcset|poster|data)="[^"]*"' "$out/page.html" | grep -Ev '="/' &&
  fail "the page refers to something outside this server"
grep -Eiq 'url\(|@import' "$out/page.html" && fail "the page's CSS fetches something"
grep -Eo 'https?://[^" ]*' "$out/page.html" | grep -vx 'http://www.w3.org/2000/svg' &&
  fail "the page names an external URL"
grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$out/page.html" || fail "no Content-Security-Policy"

size=$(stat -c %s "$artifacts/health-page.png")
[ "$size" -gt 20000 ] || fail "the screenshot is $size bytes: nothing rendered?"
echo "PASS: page $(stat -c %s "$out/page.html") bytes; screenshot $artifacts/health-page.png ($size bytes)"
