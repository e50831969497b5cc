#!/usr/bin/env bash
# Prints the PromQL expression of every query of every panel of the dashboards, one per line, with
# Grafana's variables replaced so that Prometheus itself can run it:
#   $__rate_interval -> 1m
#   $instance $target $datname $schemaname $relname (also as ${name} or ${name:format}) -> .*
# so `target=~"$target"` becomes `target=~".*"` (every dashboard matches its variables with =~).
# Panels inside rows are included. A line still holding a Grafana variable is an error: this script
# must learn the variable first.
#
# Usage: panel-queries.sh [--titles] [DASHBOARD.json ...]   (default: both pghealthd dashboards)
#   --titles  print "uid<TAB>panel title<TAB>refId<TAB>expression" instead of the bare expression
set -euo pipefail

command -v jq >/dev/null 2>&1 || { echo "panel-queries.sh: jq not found (apt-get install -y jq)" >&2; exit 127; }

here=$(cd "$(dirname "$0")" && pwd)
titles=false
if [ "${1:-}" = "--titles" ]; then titles=true; shift; fi
if [ $# -eq 0 ]; then set -- "$here/pghealthd-overview.json" "$here/pghealthd-table.json"; fi

out=$(jq -r --argjson titles "$titles" '
  def substitute:
    gsub("\\s*\\n\\s*"; " ")
    | gsub("\\$\\{?__rate_interval\\}?"; "1m")
    | gsub("\\$(instance|target|datname|schemaname|relname)\\b"; ".*")
    | gsub("\\$\\{(instance|target|datname|schemaname|relname)(:[A-Za-z]+)?\\}"; ".*");
  .uid as $uid
  | .panels[]? | recurse(.panels[]?)
  | .title as $title
  | .targets[]?
  | (.expr // "" | substitute) as $expr
  | if $titles then [$uid, $title, .refId, $expr] | join("\t") else $expr end
' "$@")

if leftover=$(printf '%s\n' "$out" | grep -E '\$(\{|[A-Za-z_])'); then
  printf 'panel-queries.sh: unsubstituted Grafana variable in:\n%s\n' "$leftover" >&2
  exit 1
fi
printf '%s\n' "$out"
