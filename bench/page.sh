#!/usr/bin/env bash
# The health page (GET /) and /status.json at N tables: the daemon CPU each request costs, its bytes, and
# the daemon's RSS with the page's state (each table's dead-ratio history, the maintenance log) held.
# Issue 17's targets: under 50 ms of daemon CPU per page and under 300 KB at 10,000 tables.
#
#   bench/page.sh [N] [REQUESTS]      default 10000 tables, 40 requests of each endpoint
#
# pghealthd watches a throwaway PostgreSQL (the tables of bench/run.sh: every 8th with a third of its rows
# deleted) with every collector, stat_user_tables every 10 s (so the dead-ratio history fills a minute a
# reading), and automatic vacuum in dry-run mode with min_dead_tuples 10, so the maintenance log fills with
# its 100 entries (dry runs and rate_limited skips) and every section has more rows than it lists. After
# HISTORY_SECONDS (default 200: four minutes of readings), REQUESTS sequential requests of each endpoint;
# the daemon's CPU (utime + stime, /proc) over them, less its idle rate over as long, divided by REQUESTS.
# Writes bench/results/page.md with the date, the machine, the load average and the command.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
log() { printf '[page %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$bench/common.sh"

run_niced "$0" "$@"

n=${1:-10000}
requests=${2:-40}
history_seconds=${HISTORY_SECONDS:-200}
bench_binary
install_missing postgresql-15 postgresql-client-15 curl jq

make_work page
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

start_postgres
log "creating $n tables"
create_tables postgres "$n"
psql -X -q -c "ANALYZE" >/dev/null

port=$(free_port)
cat >"$work/pghealthd.yaml" <<YAML
listen: "127.0.0.1:$port"
connection: {statement_timeout: 60s}
collectors:
  stat_user_tables: {interval: 10s}
targets:
  - name: bench
    conninfo: "host=$PGHOST port=$PGPORT user=postgres dbname=postgres application_name=pghealthd"
vacuum:
  enabled: true
  dry_run: true
  min_dead_tuples: 10
YAML
"$PGHEALTHD" --config "$work/pghealthd.yaml" 2>"$work/pghealthd.log" &
daemon_pid=$!
log "pghealthd pid $daemon_pid on port $port; collecting for ${history_seconds}s"
sleep "$history_seconds"
kill -0 "$daemon_pid" 2>/dev/null || die "pghealthd stopped: $(tail -3 "$work/pghealthd.log")"
url="http://127.0.0.1:$port"
curl -sf "$url/status.json" >"$work/status.json" || die "no /status.json"
log_rows=$(jq '[.databases[0].sections[] | select(.title == "Maintenance log") | .rows[]] | length' "$work/status.json")
points=$(jq '[.databases[0].sections[0].rows[0].dead_ratio_history[] | select(. != null)] | length' "$work/status.json")
sections=$(jq -r '[.databases[0].sections[] | "\(.title) \(.rows | length)"] | join(", ")' "$work/status.json")
log "sections: $sections; log rows $log_rows; history points of the first table $points"

# The daemon's idle rate (its collectors keep running) over as long as the requests take, then the requests.
measure() { # path -> "cpu_ms_per_request bytes wall_ms_median"
  local path=$1 t0 t1 w0 w1 i times=() idle_ticks busy_ticks wall
  curl -sf "$url$path" -o "$work/body"  # warm
  t0=$(proc_ticks "$daemon_pid"); w0=$(now)
  for ((i = 0; i < requests; i++)); do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' "$url$path")")
  done
  t1=$(proc_ticks "$daemon_pid"); w1=$(now)
  busy_ticks=$((t1 - t0))
  wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')
  t0=$(proc_ticks "$daemon_pid")
  sleep "$wall"
  idle_ticks=$(( $(proc_ticks "$daemon_pid") - t0 ))
  awk -v b="$busy_ticks" -v i="$idle_ticks" -v n="$requests" -v hz="$hz" -v bytes="$(stat -c %s "$work/body")" \
      -v med="$(printf '%s\n' "${times[@]}" | quantile 0.5)" \
      'BEGIN { printf "%.1f %d %.1f %.1f\n", (b - i) * 1000 / hz / n, bytes, med * 1000, i * 1000 / hz / n }'
}
read -r page_cpu page_bytes page_wall page_idle < <(measure /)
read -r json_cpu json_bytes json_wall json_idle < <(measure /status.json)
read -r metrics_cpu metrics_bytes metrics_wall metrics_idle < <(measure /metrics)
rss=$(rss_mib "$daemon_pid"); hwm=$(hwm_mib "$daemon_pid")
log "page: ${page_cpu} ms CPU, ${page_bytes} bytes, ${page_wall} ms; status.json: ${json_cpu} ms, ${json_bytes} bytes"

mkdir -p "$bench/results"
{
  echo "# The health page at $n tables ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Command: \`bench/page.sh $n $requests\` (HISTORY_SECONDS=$history_seconds)."
  echo "Machine: $(machine_line); load average at the start $load_start."
  echo "pghealthd: $(pghealthd_line); PostgreSQL $pgversion."
  echo
  echo "Daemon CPU per request is its utime + stime over $requests sequential requests, less its idle rate"
  echo "(collectors running) over as long; the wall time is curl's median. Issue 17's targets: under 50 ms of"
  echo "daemon CPU and under 300 KB for the page at 10,000 tables."
  echo
  echo "| endpoint | daemon CPU per request | bytes | wall (median) | verdict |"
  echo "| --- | ---: | ---: | ---: | --- |"
  verdict=$(awk -v c="$page_cpu" -v b="$page_bytes" 'BEGIN { print (c < 50 && b < 300000) ? "met (< 50 ms, < 300 KB)" : "MISSED" }')
  echo "| \`GET /\` | $page_cpu ms | $page_bytes | $page_wall ms | $verdict |"
  echo "| \`GET /status.json\` | $json_cpu ms | $json_bytes | $json_wall ms | |"
  echo "| \`GET /metrics\` (plain), for scale | $metrics_cpu ms | $metrics_bytes | $metrics_wall ms | |"
  echo
  echo "- Idle daemon CPU over as long, per request's share: $page_idle ms (page), $json_idle ms (JSON)."
  echo "- What the page held: $sections; the maintenance log's $log_rows rows; $points readings in the first"
  echo "  table's dead-ratio history (one a minute; a full hour draws 60, about 690 bytes of SVG a row)."
  echo "- Daemon RSS after the requests: $rss MiB (VmHWM $hwm MiB), every table's history and the log held."
} >"$bench/results/page.md"
cat "$bench/results/page.md"
