#!/usr/bin/env bash
# Isolation, measured: one database stalled behind a lock and one slow database on the same target as
# HEALTHY healthy ones. Do scrapes and the healthy databases' collections keep their latency and schedule?
#
#   bench/isolation.sh [BOUND ...]   default BOUND = 1 2 12 (max_connections below and above the number of
#                                    databases); writes bench/results/isolation.md and isolation.csv
#
# Environment:
#   HEALTHY=8 TABLES=200   healthy databases and their tables
#   SLOW_TABLES=10000      tables of the slow database
#   INTERVAL=5s RUN=60     every collector's interval, and seconds observed per scenario
#   PGHEALTHD=PATH         the binary; default: a Release build in build-bench-dbs/ (built if missing)
#   BENCH_TMP=/tmp
#
# The databases: h_01 ... h_NN (TABLES tables each), `stalled` (a copy of them) and `slow` (SLOW_TABLES
# tables: real work, ~10x longer collections). Scenarios, each with every bound:
#   baseline  the healthy databases, `stalled` (nothing held) and `slow`: the same databases, so the same
#             series in every scrape, as the other scenarios;
#   lock      a session in `stalled` holds ACCESS EXCLUSIVE on pg_catalog.pg_inherits
#             (as a VACUUM FULL or REINDEX of that catalog would): stat_user_tables reads it, so that
#             collector's query waits for the lock until the session's lock_timeout (default 1 s) ends it;
#             the other three collectors do not read it and succeed;
#   lock10s   the same with the target's lock_timeout raised to 10 s (statement_timeout 15 s);
#   catalog   the session holds pg_catalog.pg_namespace instead: every name lookup waits, including
#             pghealthd's session setup, so connecting to `stalled` hangs until connect_timeout (10 s),
#             then backoff.
# Measured over RUN seconds: /metrics scraped every 200 ms (curl time_total: p50, p99, max; and
# pghealthd_connection_waiters), every collection from pghealthd's debug log (duration; the spacing of
# successive stat_user_tables successes per healthy database, from its second run on (the gap after the
# immediate first run includes the phase shift), against INTERVAL),
# skipped runs, and the most backends of ours in pg_stat_activity (sampled every 50 ms).
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
out_md="$bench/results/isolation.md"
out_csv="$bench/results/isolation.csv"

if [ -z "${PGHEALTHD_BENCH_NICED:-}" ]; then
  export PGHEALTHD_BENCH_NICED=1
  export PGHEALTHD_BENCH_COMMAND="bench/isolation.sh${*:+ $*}"
  exec nice -n 10 "$0" "$@"
fi

bounds=()
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *[!0-9]*|""|0) echo "isolation.sh: not a connection bound: $a" >&2; exit 2 ;;
    *) bounds+=("$a") ;;
  esac
done
[ ${#bounds[@]} -gt 0 ] || bounds=(1 2 12)
HEALTHY=${HEALTHY:-8}
TABLES=${TABLES:-200}
SLOW_TABLES=${SLOW_TABLES:-10000}
INTERVAL=${INTERVAL:-5s}
RUN=${RUN:-60}
BENCH_TMP=${BENCH_TMP:-/tmp}
interval_s=${INTERVAL%s}
case "$interval_s" in *[!0-9]*|"") echo "isolation.sh: INTERVAL must be whole seconds, like 5s" >&2; exit 2 ;; esac

log() { printf '[isolation %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=bench/common.sh
. "$bench/common.sh"
install_missing postgresql-15 postgresql-client-15 curl
pghealthd_binary

teardown() {
  stop_sampler
  [ -n "${scraper_pid:-}" ] && kill "$scraper_pid" 2>/dev/null || true
  [ -n "${ph_pid:-}" ] && kill "$ph_pid" 2>/dev/null || true
  [ -n "${lock_pid:-}" ] && kill "$lock_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${pgdir:-}" ]; then "$root/scripts/pg-throwaway" stop "$pgdir" || true; fi
  if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}
trap teardown EXIT
trap 'exit 130' INT TERM

work=$(mktemp -d "$BENCH_TMP/pghealthd-isolation.XXXXXX")
chmod 755 "$work"
start_postgres
log "creating $HEALTHY healthy databases and 'stalled' ($TABLES tables each), and 'slow' ($SLOW_TABLES tables)"
psql -X -q -c 'CREATE DATABASE tmpl'
create_tables tmpl "$TABLES"
healthy=()
for i in $(seq "$HEALTHY"); do
  healthy+=("$(printf 'h_%02d' "$i")")
  psql -X -q -c "CREATE DATABASE ${healthy[-1]} TEMPLATE tmpl"
done
psql -X -q -c "CREATE DATABASE stalled TEMPLATE tmpl"
psql -X -q -c "CREATE DATABASE slow"
create_tables slow "$SLOW_TABLES"
psql -X -q -c CHECKPOINT

echo "bound,scenario,databases,scrapes,scrape_p50_ms,scrape_p99_ms,scrape_max_ms,healthy_runs_min,healthy_dur_p50_ms,healthy_dur_p99_ms,healthy_dur_max_ms,spacing_p50_s,spacing_p99_s,spacing_max_s,healthy_skipped,stalled_stu_ms,stalled_up,slow_stu_p50_ms,waiters_mean,waiters_max,backends_max" >"$work/rows.csv"

# Holds a lock in `stalled` for the whole scenario: one transaction, its session named bench-lock.
hold_lock() { # catalog table
  PGAPPNAME=bench-lock psql -X -q -d stalled -c "BEGIN; LOCK TABLE pg_catalog.$1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(100000);" >/dev/null 2>&1 &
  lock_pid=$!
  local deadline=$((SECONDS + 30))
  until [ "$(psql -X -A -t -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'bench-lock' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]; do
    [ $SECONDS -lt $deadline ] || die "could not take the lock on $1"
    sleep 0.1
  done
}
release_lock() {
  psql -X -q -A -t -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bench-lock'" >/dev/null
  kill "$lock_pid" 2>/dev/null || true; wait "$lock_pid" 2>/dev/null || true; lock_pid=""
}

# Scrapes every 200 ms: "epoch time_total waiters" lines.
scrape_loop() { # port file
  while :; do
    local t out
    t=$(now)
    out=$(curl -sS --max-time 30 -o "$work/scrape.body" -w '%{time_total}' "http://127.0.0.1:$1/metrics" 2>/dev/null) || out=-
    echo "$t $out $(awk '/^pghealthd_connection_waiters\{/ { s += $NF } END { print s + 0 }' "$work/scrape.body" 2>/dev/null)" >>"$2"
    sleep 0.2
  done
}

run_scenario() { # bound scenario
  local m=$1 sc=$2 port lock_timeout=1s
  port=$(free_port)
  local dbs=("${healthy[@]}" stalled slow)
  case "$sc" in
    baseline) ;;
    lock) hold_lock pg_inherits ;;
    lock10s) lock_timeout=10s; hold_lock pg_inherits ;;
    catalog) hold_lock pg_namespace ;;
    *) die "unknown scenario $sc" ;;
  esac
  local dblist
  dblist=$(IFS=,; echo "${dbs[*]}" | sed 's/,/, /g')
  cat >"$work/pghealthd.yaml" <<YAML
listen: "127.0.0.1:$port"
log_level: debug
connection:
  max_connections: $m
  lock_timeout: $lock_timeout
  statement_timeout: 15s
collectors:
  stat_user_tables: {interval: $INTERVAL}
  statio_user_tables: {interval: $INTERVAL}
  stat_user_indexes: {interval: $INTERVAL}
  xmin_horizon: {interval: $INTERVAL}
targets:
  - name: iso
    conninfo: "host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
    databases: [$dblist]
YAML
  "$PGHEALTHD" --check-config --config "$work/pghealthd.yaml" >/dev/null
  local tag="$m.$sc"
  start_sampler "$work/backends.$tag"
  local t0 t1
  t0=$(now)
  "$PGHEALTHD" --config "$work/pghealthd.yaml" 2>"$work/pghealthd.$tag.log" &
  ph_pid=$!
  local deadline=$((SECONDS + 30))
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; do
    kill -0 "$ph_pid" 2>/dev/null || { tail -n 20 "$work/pghealthd.$tag.log" >&2; die "pghealthd exited"; }
    [ $SECONDS -lt $deadline ] || die "pghealthd does not answer"
    sleep 0.05
  done
  : >"$work/scrapes.$tag"
  scrape_loop "$port" "$work/scrapes.$tag" &
  scraper_pid=$!
  sleep "$RUN"
  t1=$(now)
  kill "$scraper_pid" 2>/dev/null || true; wait "$scraper_pid" 2>/dev/null || true; scraper_pid=""
  curl -sS --max-time 30 -o "$work/scrape.end.$tag" "http://127.0.0.1:$port/metrics"
  kill "$ph_pid"; wait "$ph_pid" 2>/dev/null || true; ph_pid=""
  stop_sampler
  if [ "$sc" != baseline ]; then release_lock; fi

  collections "$work/pghealthd.$tag.log" >"$work/collections.$tag"
  local c="$work/collections.$tag" s="$work/scrapes.$tag" e="$work/scrape.end.$tag"
  local n p50 p99 pmax
  n=$(awk '$2 != "-"' "$s" | wc -l)
  p50=$(awk '$2 != "-" { print $2 }' "$s" | quantile 0.5)
  p99=$(awk '$2 != "-" { print $2 }' "$s" | quantile 0.99)
  pmax=$(awk '$2 != "-" { print $2 }' "$s" | quantile 1)
  # Healthy databases: runs and durations of every collector; spacing of stat_user_tables successes.
  local runs_min hd50 hd99 hdmax sp50 sp99 spmax
  runs_min=$(awk '$3 ~ /^h_/ && $4 == "stat_user_tables" { n[$3]++ } END { m = -1; for (d in n) if (m < 0 || n[d] < m) m = n[d]; print (m < 0 ? 0 : m) }' "$c")
  hd50=$(awk '$3 ~ /^h_/ { print $5 }' "$c" | quantile 0.5)
  hd99=$(awk '$3 ~ /^h_/ { print $5 }' "$c" | quantile 0.99)
  hdmax=$(awk '$3 ~ /^h_/ { print $5 }' "$c" | quantile 1)
  awk '$3 ~ /^h_/ && $4 == "stat_user_tables" { k = $3; if (seen[k] >= 2) print $2 - last[k]; seen[k]++; last[k] = $2 }' "$c" >"$work/spacing.$tag"
  sp50=$(quantile 0.5 <"$work/spacing.$tag")
  sp99=$(quantile 0.99 <"$work/spacing.$tag")
  spmax=$(quantile 1 <"$work/spacing.$tag")
  local skipped stalled_ms stalled_up slow50 w_mean w_max bmax
  skipped=$(awk '/^pghealthd_collector_skipped_total/ && /datname="h_/ { s += $NF } END { print s + 0 }' "$e")
  stalled_ms=$(awk '/^pghealthd_collector_duration_seconds/ && /datname="stalled"/ && /collector="stat_user_tables"/ { printf "%.0f", $NF * 1000 }' "$e")
  stalled_up=$(awk '/^pghealthd_up\{/ && /datname="stalled"/ { print $NF }' "$e")
  slow50=$(awk '$3 == "slow" && $4 == "stat_user_tables" { print $5 }' "$c" | quantile 0.5)
  w_mean=$(awk '$2 != "-" { s += $3; n++ } END { printf "%.2f", n ? s / n : 0 }' "$s")
  w_max=$(awk '$2 != "-" && $3 > m { m = $3 } END { print m + 0 }' "$s")
  bmax=$(most_backends "$work/backends.$tag" "$t0" "$t1")
  local row
  row="$m,$sc,${#dbs[@]},$n,$(ms "$p50"),$(ms "$p99"),$(ms "$pmax"),$runs_min,$(ms "$hd50"),$(ms "$hd99"),$(ms "$hdmax"),$sp50,$sp99,$spmax,$skipped,${stalled_ms:--},${stalled_up:--},$(ms "$slow50"),$w_mean,$w_max,$bmax"
  echo "$row" >>"$work/rows.csv"
  log "bound $m $sc: $row"
}

for m in "${bounds[@]}"; do
  for sc in baseline lock lock10s catalog; do run_scenario "$m" "$sc"; done
done

# --- report -----------------------------------------------------------------------------------------------
mkdir -p "$bench/results"
cp "$work/rows.csv" "$out_csv"
{
  echo "# Isolation: a stalled and a slow database beside $HEALTHY healthy ones"
  echo
  echo "Generated by \`$PGHEALTHD_BENCH_COMMAND\` (HEALTHY=$HEALTHY TABLES=$TABLES SLOW_TABLES=$SLOW_TABLES INTERVAL=$INTERVAL RUN=$RUN); raw numbers: \`bench/results/isolation.csv\`."
  echo
  echo "- **Date:** $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- **Machine:** $(machine_line)"
  echo "- **PostgreSQL:** $pgversion (throwaway cluster, Unix socket, fsync off, autovacuum off)"
  echo "- **pghealthd:** $(pghealthd_line)"
  echo "- **Setup:** one target; every collector every $INTERVAL; statement_timeout 15 s, lock_timeout 1 s (10 s in lock10s), connect_timeout 10 s; $RUN s observed per scenario from the daemon's start (its first, immediate cycle included)"
  echo
  echo "Scenarios (all with the same $((HEALTHY + 2)) databases: h_01…, \`stalled\` and \`slow\`, so every scrape has the same series): **baseline** = nothing held; **lock** = a session holds ACCESS EXCLUSIVE on \`pg_catalog.pg_inherits\` in \`stalled\`, so its stat_user_tables query waits for lock_timeout; **lock10s** = the same with lock_timeout 10 s; **catalog** = the lock is on \`pg_catalog.pg_namespace\`: even pghealthd's session setup waits, so connecting to \`stalled\` hangs until connect_timeout."
  echo
  echo "| max_connections | scenario | databases | scrapes | scrape p50 / p99 / max (ms) | healthy: fewest stat_user_tables runs of a database | healthy: collection p50 / p99 / max (ms) | healthy: spacing of successive stat_user_tables successes p50 / p99 / max (s; interval $INTERVAL) | healthy: runs skipped | stalled: stat_user_tables last duration (ms), up | slow: stat_user_tables p50 (ms) | connection waiters mean / max | backends of ours, most |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %s / %s / %s | %s | %s / %s / %s | %s / %s / %s | %s | %s, %s | %s | %s / %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21 }' "$work/rows.csv"
  echo
  if [ -f "$bench/results/isolation.notes.md" ]; then cat "$bench/results/isolation.notes.md"; fi
} >"$out_md"
log "wrote $out_md"
