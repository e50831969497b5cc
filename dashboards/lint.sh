#!/usr/bin/env bash
# Static checks of the Grafana dashboards, without Grafana or Prometheus:
#   - both JSON files parse, carry their fixed uid and schemaVersion 39, and have the variables the
#     panels use (datasource, instance, target, datname; schemaname and relname on the table dashboard);
#   - panel ids are unique (rows' panels included), panels do not overlap, types are row/timeseries/table/stat;
#   - every panel and query uses the ${datasource} variable; every query has a unique refId and a
#     non-empty expr; every range selector is [$__rate_interval];
#   - every metric named exists in daemon/metrics/catalog.h;
#   - panel-queries.sh prints one non-empty line per query, and promtool parses every line as PromQL.
# Usage: lint.sh     Exits non-zero on the first dashboard with a problem, printing every problem found.
set -euo pipefail

command -v jq >/dev/null 2>&1 || { echo "lint.sh: jq not found (apt-get install -y jq)" >&2; exit 127; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
catalog="$root/daemon/metrics/catalog.h"
failed=0
fail() { echo "lint.sh: $*" >&2; failed=1; }

# Metric names the daemon exports (histograms also expose _bucket, _sum and _count).
known=$(grep -o '"pghealthd_[a-z_]*"' "$catalog" | tr -d '"' | sort -u)
known=$(printf '%s\n' "$known" | sed -e 'p' -e 's/$/_bucket/p' -e 's/_bucket$/_sum/p' -e 's/_sum$/_count/' | sort -u)

check_dashboard() {  # file uid required-variables...
  local file=$1 uid=$2
  shift 2
  local name
  name=$(basename "$file")
  if ! jq empty "$file" 2>/dev/null; then
    fail "$name: not valid JSON: $(jq empty "$file" 2>&1 | head -1)"
    return
  fi
  local problems
  problems=$(jq -r --arg uid "$uid" --args '
    def allpanels: [.panels[]? | recurse(.panels[]?)];
    def overlap(a; b): a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h;
    (if .uid != $uid then "uid is \(.uid | tojson), want \($uid | tojson)" else empty end),
    (if .schemaVersion != 39 then "schemaVersion is \(.schemaVersion | tojson), want 39" else empty end),
    ([.templating.list[]?.name] as $vars
      | $ARGS.positional[] | select(. as $v | $vars | index($v) | not) | "variable \(.) is missing"),
    (.templating.list[]? | select(.name == "datasource")
      | if .type != "datasource" or .query != "prometheus" then "variable datasource must be a prometheus datasource variable" else empty end),
    (.templating.list[]? | select(.name != "datasource")
      | if .type != "query" or (.query | type) != "string" or (.query | startswith("label_values(") | not)
        then "variable \(.name) must be a label_values query" else empty end,
        if .datasource.uid != "${datasource}" then "variable \(.name): datasource must be ${datasource}" else empty end),
    (allpanels | length) as $n
    | (if $n == 0 then "no panels" else empty end),
    (allpanels | map(.id) | (if any(.[]; type != "number") then "a panel has no numeric id" else empty end),
      (group_by(.) | map(select(length > 1) | "panel id \(.[0]) is used \(length) times") | .[])),
    (allpanels | [.[] | select(.gridPos == null)] | .[] | "panel \(.id) \(.title | tojson) has no gridPos"),
    (allpanels | [.[] | select(.gridPos != null)] as $p
      | range(0; $p | length) as $i | range($i + 1; $p | length) as $j
      | select(overlap($p[$i].gridPos; $p[$j].gridPos))
      | "panels \($p[$i].id) and \($p[$j].id) overlap"),
    (allpanels[] | select(.type != "row") as $p
      | (if ($p.type | IN("timeseries", "table", "stat") | not) then "panel \($p.id): type \($p.type | tojson) is not timeseries, table or stat" else empty end),
        (if $p.datasource.uid != "${datasource}" then "panel \($p.id) \($p.title | tojson): datasource must be ${datasource}" else empty end),
        (if (($p.title // "") == "") then "panel \($p.id) has no title" else empty end),
        (if (($p.targets // []) | length) == 0 then "panel \($p.id) \($p.title | tojson) has no queries" else empty end),
        ([$p.targets[]?.refId] | group_by(.) | map(select(length > 1) | "panel \($p.id): refId \(.[0]) is used twice") | .[]),
        ($p.targets[]? as $t
          | (if (($t.refId // "") | type != "string" or . == "") then "panel \($p.id) \($p.title | tojson): a query has no refId" else empty end),
            (if (($t.expr // "") | type != "string" or test("^\\s*$")) then "panel \($p.id) \($p.title | tojson) query \($t.refId): empty expr" else empty end),
            (if ($t.datasource != null and $t.datasource.uid != "${datasource}") then "panel \($p.id) query \($t.refId): datasource must be ${datasource}" else empty end),
            (($t.expr // "") | [scan("\\[[^\\]]*\\]")] | map(select(. != "[$__rate_interval]")) | .[]
              | "panel \($p.id) \($p.title | tojson) query \($t.refId): range \(.) is not [$__rate_interval]"))),
    (allpanels[] | select(.type == "row") | if .panels == null or .collapsed == null then "row \(.id) needs panels and collapsed" else empty end)
  ' "$@" <"$file")
  if [ -n "$problems" ]; then
    while IFS= read -r p; do fail "$name: $p"; done <<<"$problems"
  fi

  local metric
  for metric in $(jq -r '.panels[]? | recurse(.panels[]?) | .targets[]?.expr // empty' "$file" | grep -o 'pghealthd_[a-z_]*' | sort -u); do
    grep -qx "$metric" <<<"$known" || fail "$name: metric $metric is not in daemon/metrics/catalog.h"
  done

  local targets lines queries
  targets=$(jq '[.panels[]? | recurse(.panels[]?) | .targets[]?] | length' "$file")
  if ! queries=$("$here/panel-queries.sh" "$file"); then
    fail "$name: panel-queries.sh failed"
    return
  fi
  lines=$(printf '%s\n' "$queries" | grep -c . || true)
  [ "$lines" = "$targets" ] || fail "$name: panel-queries.sh printed $lines non-empty lines for $targets queries"
  if printf '%s\n' "$queries" | grep -qn '^\s*$'; then fail "$name: panel-queries.sh printed an empty expression"; fi
  echo "lint.sh: $name: $(jq '[.panels[]? | recurse(.panels[]?)] | length' "$file") panels, $targets queries"
}

check_dashboard "$here/pghealthd-overview.json" pghealthd-overview datasource instance target datname
check_dashboard "$here/pghealthd-table.json" pghealthd-table datasource instance target datname schemaname relname

# promtool parses every substituted query (as recording rules: it checks PromQL offline).
if [ "$failed" != 0 ]; then
  :  # the queries are not all there to parse
elif command -v promtool >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$here/panel-queries.sh" | jq -R -s '{groups: [{name: "dashboards", rules:
      [split("\n")[] | select(length > 0)] | to_entries | map({record: "dashboard:query_\(.key + 1)", expr: .value})}]}' \
      >"$tmp/queries.rules.json"
  if out=$(promtool check rules "$tmp/queries.rules.json" 2>&1); then
    echo "lint.sh: promtool parses all $(grep -c . <<<"$("$here/panel-queries.sh")") queries"
  else
    fail "promtool rejects a query:"
    printf '%s\n' "$out" >&2
  fi
else
  fail "promtool not found (scripts/install-deps installs it with the prometheus package)"
fi

[ "$failed" = 0 ] && echo "lint.sh: ok"
exit "$failed"
