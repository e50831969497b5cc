#!/usr/bin/env bash
# pghealthd against its peer, prometheus-postgres-exporter, at N tables: scrape time, bytes and series per
# scrape, exporter CPU, PostgreSQL CPU per collection cycle (first and steady-state) and per minute at the
# default schedules, peak RSS, and the psql floor (a raw SELECT * of the three statistics views).
#
#   bench/run.sh [--append] [N ...]   default N = 100 1000 10000; writes bench/results.csv,
#                                     bench/RESULTS.md and bench/scrape_time_rss.png
#   bench/run.sh --report             only rewrite RESULTS.md and the plot from results.csv
#
#   --append   keep the rows of results.csv for the N not run now (e.g. `bench/run.sh --append 100000`
#              after the default run); rows of an N run again are replaced.
#
# Environment (defaults; a default run of 100 1000 10000 takes about 45 minutes, 13-14 of them per N):
#   SCRAPES=5           scrapes per exporter at each N, alternating pghealthd, peer, pghealthd, peer ...
#   PEER_MAX_N=10000    above this N only pghealthd is measured (creating the tables is the slow part),
#                       and the per-minute phases are skipped
#   FLOOR_RUNS=5        runs of the psql floor (median)
#   IDLE_WINDOW=35      seconds of the idle server measured before the steady-state phase
#   STEADY_INTERVAL=5   seconds between the steady-state phase's cycles ...
#   STEADY_CYCLES=7     ... and how many of them are measured (a window of 35-40 s)
#   OTHER_RUNS=3        runs measured of each other collector (each alone, every OTHER_INTERVAL=2 s); 0: skip
#   MINUTE_WINDOW=300   seconds of each of the two periods of pghealthd at its default schedules (300: one
#                       period of every schedule but bloat's hourly one); 0 skips both per-minute phases
#                       (pghealthd's and the peer's)
#   PGHEALTHD=PATH      the binary to measure; default: a Release build in build-bench/ (built if missing)
#   BENCH_TMP=/tmp      where the throwaway clusters go (must be reachable by the postgres user)
#
# For each N: a throwaway PostgreSQL (Unix socket only, autovacuum off) with N tables (id primary key +
# one secondary index each; every 10th in schema "Sales" with a quoted mixed-case name; every 4th with 100
# rows, every 8th with a third of them deleted). /proc/loadavg is read at the start and the end. Then, in
# this order:
#   1. the psql floor: SELECT * of pg_stat_user_tables, pg_statio_user_tables and pg_stat_user_indexes in one
#      psql (PGOPTIONS='-c jit=off', as pghealthd's sessions), FLOOR_RUNS times; and a psql connection alone.
#   2. the first cycle: pghealthd with every collector it knows at a 10m interval, from process start until
#      each has logged its run; then SCRAPES plain scrapes alternating with the peer's, one gzip scrape each
#      (the peer runs the queries of bench/queries.yaml on every scrape), peak RSS (VmHWM) of each phase.
#   3. the peer at a 15 s scrape interval: 4 scrapes in 60 s, PostgreSQL CPU over the 60 s.
#   4. the idle server (pghealthd and the peer stopped): PostgreSQL CPU over IDLE_WINDOW s; its rate is
#      subtracted from phases 3, 5, 6 and 7 (by bench/report.awk; results.csv keeps the raw readings).
#   5. the steady state: a new pghealthd with only stat_user_tables, statio_user_tables and
#      stat_user_indexes, every STEADY_INTERVAL s; PostgreSQL CPU from the end of its first cycle (each has
#      logged a run) to the end of cycle 1 + STEADY_CYCLES, divided by the cycles completed in between
#      (counted from the debug log's "collected ... collector=NAME" lines).
#   6. each other collector alone (xmin_horizon, vacuum_progress, freeze, sequences, bloat), every
#      OTHER_INTERVAL s: PostgreSQL CPU per run over OTHER_RUNS runs after its first.
#   7. the default schedules: pghealthd with the collectors' default intervals (bloat disabled: it runs
#      hourly, so its per-run cost from phase 6 is added as 1/60 per minute), vacuum, freeze, reindex and
#      tuning explicitly off, for two periods of MINUTE_WINDOW s: PostgreSQL CPU per minute over the second
#      (the steady cost, like the peer's minute, which phase 3 measures on a process already scraped),
#      and over the first, from process start, beside it. The vacuum and analyze counts of
#      pg_stat_user_tables are compared before and after (nothing may vacuum).
# CPU comes from /proc/PID/stat (utime+stime); PostgreSQL's CPU is the postmaster plus all its children,
# including the ones that exited meanwhile (the postmaster's cutime+cstime). Everything runs under
# `nice -n 10`, only on 127.0.0.1 and Unix sockets, and is stopped on exit.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
csv="$bench/results.csv"

if [ -z "${PGHEALTHD_BENCH_NICED:-}" ]; then
  export PGHEALTHD_BENCH_NICED=1
  PGHEALTHD_BENCH_COMMAND="bench/run.sh${*:+ $*}"
  for v in MINUTE_WINDOW OTHER_RUNS OTHER_INTERVAL STEADY_CYCLES STEADY_INTERVAL IDLE_WINDOW FLOOR_RUNS PEER_MAX_N SCRAPES; do
    if [ -n "${!v:-}" ]; then PGHEALTHD_BENCH_COMMAND="$v=${!v} $PGHEALTHD_BENCH_COMMAND"; fi
  done
  export PGHEALTHD_BENCH_COMMAND
  exec nice -n 10 "$0" "$@"
fi

append=0
report_only=0
ns=()
for a in "$@"; do
  case "$a" in
    --append) append=1 ;;
    --report) report_only=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *[!0-9]*|"") echo "run.sh: not a table count: $a" >&2; exit 2 ;;
    *) ns+=("$a") ;;
  esac
done
[ ${#ns[@]} -gt 0 ] || ns=(100 1000 10000)
if [ "$report_only" = 1 ]; then exec "$bench/report.sh"; fi

SCRAPES=${SCRAPES:-5}
PEER_MAX_N=${PEER_MAX_N:-10000}
FLOOR_RUNS=${FLOOR_RUNS:-5}
IDLE_WINDOW=${IDLE_WINDOW:-35}
STEADY_INTERVAL=${STEADY_INTERVAL:-5}
STEADY_CYCLES=${STEADY_CYCLES:-7}
OTHER_RUNS=${OTHER_RUNS:-3}
OTHER_INTERVAL=${OTHER_INTERVAL:-2}
MINUTE_WINDOW=${MINUTE_WINDOW:-300}
PEER_INTERVAL=15  # the peer's scrape interval in its per-minute phase: 60 / 15 = 4 scrapes
for v in SCRAPES PEER_MAX_N FLOOR_RUNS IDLE_WINDOW STEADY_INTERVAL STEADY_CYCLES OTHER_RUNS OTHER_INTERVAL MINUTE_WINDOW; do
  case "${!v}" in *[!0-9]*|"") echo "run.sh: $v is not a whole number: ${!v}" >&2; exit 2 ;; esac
done
[ "$STEADY_INTERVAL" -ge 1 ] && [ "$STEADY_CYCLES" -ge 1 ] && [ "$FLOOR_RUNS" -ge 1 ] && [ "$IDLE_WINDOW" -ge 1 ] && [ "$OTHER_INTERVAL" -ge 1 ] ||
  { echo "run.sh: STEADY_INTERVAL, STEADY_CYCLES, FLOOR_RUNS, IDLE_WINDOW and OTHER_INTERVAL must be at least 1" >&2; exit 2; }
BENCH_TMP=${BENCH_TMP:-/tmp}
peer_bin=prometheus-postgres-exporter

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- dependencies -------------------------------------------------------------------------------------
source "$bench/common.sh"  # install_missing, shared with many_databases.sh and isolation.sh
install_missing postgresql-15 postgresql-client-15 curl prometheus-postgres-exporter gnuplot-nox

if [ -z "${PGHEALTHD:-}" ]; then
  PGHEALTHD="$root/build-bench/daemon/pghealthd"
  if [ ! -x "$PGHEALTHD" ]; then # built once; delete build-bench/ (or set PGHEALTHD) to measure newer code
    log "building pghealthd (Release) into build-bench/"
    "$root/scripts/install-deps"
    cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPGHEALTHD_BUILD_TESTS=OFF >/dev/null
    ninja -C "$root/build-bench" -j1 pghealthd >/dev/null
    echo "Release, from the work tree at git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- daemon 2>/dev/null || echo ' with uncommitted changes in daemon/')" \
      >"$root/build-bench/pghealthd.built-from"
  fi
fi
[ -x "$PGHEALTHD" ] || die "no pghealthd binary at $PGHEALTHD"
built_from() { # what the binary was built from, as far as we know
  local stamp
  stamp="$(dirname "$(dirname "$PGHEALTHD")")/pghealthd.built-from"
  if [ -f "$stamp" ] && [ ! "$PGHEALTHD" -nt "$stamp" ]; then cat "$stamp"
  else echo "build not made by bench/run.sh; the work tree is now at git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"; fi
}

# What the binary knows (it rejects unknown keys): its collectors, and which maintenance sections to turn
# off explicitly in the per-minute phase (all are off by default; a binary without a section cannot act).
mapfile -t known < <(known_collectors "$PGHEALTHD")
[ ${#known[@]} -gt 0 ] || die "$PGHEALTHD accepts none of the collectors ${all_collectors[*]}"
once_kinds=("${known[@]}")
maintenance_off=()
for m in "vacuum: {enabled: false}" "freeze: {enabled: false}" "reindex: {enabled: false}" "tuning: {apply: false}"; do
  if pghealthd_accepts "$PGHEALTHD" "$m"; then maintenance_off+=("$m"); fi
done
knows() { local c; for c in "${known[@]}"; do [ "$c" = "$1" ] && return 0; done; return 1; }

# --- measuring ------------------------------------------------------------------------------------------
# CPU ticks of one process: "utime stime"; fields counted after the ")" that ends the command name.
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
# "total user sys" seconds between two proc_ticks readings
cpu_delta() { awk -v a="$1" -v b="$2" -v hz="$hz" 'BEGIN { split(a, x, " "); split(b, y, " "); u = (y[1] - x[1]) / hz; s = (y[2] - x[2]) / hz; printf "%.2f %.2f %.2f", u + s, u, s }'; }
# CPU ticks of PostgreSQL: the postmaster (own + reaped children) and every live child (own + reaped).
pg_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$postmaster" '
    { pid = $1; sub(/^.*\) /, "") }
    pid == pm || $2 == pm { t += $12 + $13 + $14 + $15 }
    END { print t + 0 }'
}
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# Resets VmHWM to the current RSS, so the next reading is the peak of one phase (Linux >= 4.0).
hwm_reset() { echo 5 >"/proc/$1/clear_refs"; }
secs() { awk -v a="$1" -v b="$2" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
# now() and free_port() come from bench/common.sh.

# One CSV row: n,exporter,kind,i,wall_s,bytes,series,exporter_cpu_s,exporter_user_s,exporter_sys_s,
# postgres_cpu_s,rss_kib,note (commas in the note become semicolons)
row() {
  local note=${13:-}
  note=${note//,/;}
  echo "$1,$2,$3,$4,${5:-},${6:-},${7:-},${8:-},${9:-},${10:-},${11:-},${12:-},$note" >>"$newcsv"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# Sleeps until the epoch time T (from now()).
sleep_until() { local d; d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }'); sleep "$d"; }
# How many runs collector NAME has logged in pghealthd's log FILE.
runs_of() { # file name
  local c
  c=$(grep -c " collected .*collector=$2 " "$1" 2>/dev/null || true)
  echo "${c:-0}"
}
# Waits until each named collector has logged at least COUNT runs (pghealthd $ph_pid, log FILE).
wait_runs() { # file count name...
  local file=$1 count=$2 deadline=$((SECONDS + 900)) c done
  shift 2
  while :; do
    done=1
    for c in "$@"; do [ "$(runs_of "$file" "$c")" -ge "$count" ] || { done=0; break; }; done
    [ "$done" = 1 ] && return 0
    kill -0 "$ph_pid" 2>/dev/null || { cat "$file" >&2; die "pghealthd exited"; }
    if grep -q 'collector failed' "$file"; then cat "$file" >&2; die "a collector failed"; fi
    [ $SECONDS -lt $deadline ] || die "pghealthd: no $count runs of $* within 900 s"
    sleep 0.05
  done
}
# pghealthd's configuration, listening on PORT, watching database bench: each NAME=INTERVAL collector is
# enabled at that interval, NAME=default keeps its default, every other collector the binary knows is
# disabled. With maintenance: vacuum, freeze, reindex and tuning explicitly off.
ph_config() { # port [maintenance] NAME=INTERVAL...
  local port=$1 c s v lines=() maint=0
  shift
  if [ "${1:-}" = maintenance ]; then maint=1; shift; fi
  for c in "${known[@]}"; do
    v=off
    for s in "$@"; do [ "${s%%=*}" = "$c" ] && v=${s#*=}; done
    case "$v" in
      default) ;;
      off) lines+=("  $c: {enabled: false}") ;;
      *) lines+=("  $c: {interval: $v}") ;;
    esac
  done
  echo "listen: \"127.0.0.1:$port\""
  echo "log_level: debug"
  echo "connection: {statement_timeout: 60s}"
  if [ ${#lines[@]} -gt 0 ]; then echo "collectors:"; printf '%s\n' "${lines[@]}"; fi
  if [ "$maint" = 1 ] && [ ${#maintenance_off[@]} -gt 0 ]; then printf '%s\n' "${maintenance_off[@]}"; fi
  echo "targets:"
  echo "  - name: bench"
  echo "    conninfo: \"host=$PGHOST port=$PGPORT user=postgres dbname=bench application_name=pghealthd\""
}
start_ph() { # config log
  "$PGHEALTHD" --check-config --config "$1" >/dev/null
  "$PGHEALTHD" --config "$1" 2>"$2" &
  ph_pid=$!
}
# "NAME=RUNS (median S s) ..." of the named collectors in a log.
runs_note() { # file name...
  local f=$1 c
  shift
  for c in "$@"; do
    printf '%s=%s (median %s s) ' "$c" "$(runs_of "$f" "$c")" \
      "$({ grep -o " collected .*collector=$c .*seconds=[0-9.]*" "$f" || true; } | sed 's/.*seconds=//' | quantile 0.5)"
  done
}
# Vacuums and analyzes of the bench tables so far, by anyone.
maintenance_count() {
  psql -X -A -t -c 'SELECT coalesce(sum(vacuum_count + autovacuum_count + analyze_count + autoanalyze_count), 0) FROM pg_stat_user_tables'
}

# --- processes and cleanup -------------------------------------------------------------------------------
work="" pgdir="" ph_pid="" peer_pid="" postmaster=""
stop_pid() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
teardown() {
  stop_pid "$peer_pid"; peer_pid=""
  stop_pid "$ph_pid"; ph_pid=""
  if [ -n "$pgdir" ]; then "$root/scripts/pg-throwaway" stop "$pgdir" || true; pgdir=""; fi
  if [ -n "$work" ]; then rm -rf "$work"; work=""; fi
}
rundir=$(mktemp -d)
newcsv="$rundir/new.csv"
trap 'teardown; rm -rf "$rundir"' EXIT
trap 'exit 130' INT TERM

# --- the schema -----------------------------------------------------------------------------------------
# N tables in transactions of 500 (each table takes ~5 locks: heap, two indexes, TOAST heap and index).
gen_sql() {
  awk -v n="$1" -v batch=500 'BEGIN {
    print "SET client_min_messages = warning;"
    print "CREATE SCHEMA \"Sales\";"
    for (i = 1; i <= n; i++) {
      if ((i - 1) % batch == 0) print "BEGIN;"
      if (i % 10 == 0) { t = sprintf("\"Sales\".\"OrderLine_%06d\"", i); x = sprintf("\"OrderLine_%06d_V_idx\"", i) }
      else             { t = sprintf("public.t_%06d", i);              x = sprintf("t_%06d_v_idx", i) }
      printf "CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text);\n", t
      printf "CREATE INDEX %s ON %s (v);\n", x, t
      if (i % 4 == 0) {
        printf "INSERT INTO %s SELECT g, g %% 10, md5(g::text) FROM generate_series(1, 100) g;\n", t
        if (i % 8 == 0) printf "DELETE FROM %s WHERE id %% 3 = 0;\n", t
        if (i % 16 == 0) printf "SELECT note FROM %s WHERE id = 7;\n", t
      }
      if (i % batch == 0 || i == n) print "COMMIT;"
    }
  }'
}

# --- one N ----------------------------------------------------------------------------------------------
wait_http() { # url seconds pid
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null --max-time 2 "$1"; do
    kill -0 "$3" 2>/dev/null || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

scrape() { # n exporter pid url i [gzip]
  local n=$1 name=$2 pid=$3 url=$4 i=$5 kind=scrape c0 p0 c1 p1 out file
  file="$work/scrape.$name"
  local opts=()
  if [ "${6:-}" = gzip ]; then kind=scrape_gzip; opts=(-H 'Accept-Encoding: gzip'); fi
  c0=$(proc_ticks "$pid"); p0=$(pg_ticks)
  out=$(curl -sS --max-time 300 "${opts[@]}" -o "$file" -w '%{time_total} %{size_download} %{http_code}' "$url")
  sleep 0.5 # let deferred work (Go's GC, freeing) land in this scrape's CPU
  c1=$(proc_ticks "$pid"); p1=$(pg_ticks)
  local cpu
  cpu=$(cpu_delta "$c0" "$c1")
  set -- "$n" "$name" "$i" $out $cpu
  [ "$6" = 200 ] || die "$name answered HTTP $6 on scrape $i"
  local series=""
  if [ "$kind" = scrape ]; then series=$(grep -v '^#' "$file" | grep -c . || true); fi
  row "$n" "$name" "$kind" "$i" "$4" "$5" "$series" "$7" "$8" "$9" "$(secs "$p0" "$p1")"
  log "N=$n $name $kind $i: ${4}s ${5} bytes ${series:+$series series }cpu ${7}s (user $8 sys $9) postgres $(secs "$p0" "$p1")s"
}

# The peer scraped every PEER_INTERVAL s for 60 s (from its first scrape): PostgreSQL CPU over the minute.
peer_minute() { # n url
  local n=$1 p0 p1 t0 t1 c0 c1 j code scrapes=$((60 / PEER_INTERVAL))
  c0=$(proc_ticks "$peer_pid"); p0=$(pg_ticks); t0=$(now)
  for j in $(seq 0 $((scrapes - 1))); do
    sleep_until "$(awk -v t="$t0" -v d="$((j * PEER_INTERVAL))" 'BEGIN { printf "%.6f", t + d }')"
    code=$(curl -sS --max-time "$PEER_INTERVAL" -o /dev/null -w '%{http_code}' "$2")
    [ "$code" = 200 ] || die "peer answered HTTP $code in its per-minute phase"
  done
  sleep_until "$(awk -v t="$t0" 'BEGIN { printf "%.6f", t + 60 }')"
  p1=$(pg_ticks); t1=$(now); c1=$(proc_ticks "$peer_pid")
  set -- "$n" $(cpu_delta "$c0" "$c1")
  row "$n" peer minute 1 "$(elapsed "$t0" "$t1")" "" "" "$2" "$3" "$4" "$(secs "$p0" "$p1")" "$(hwm_kib "$peer_pid")" "scrapes=$scrapes interval=${PEER_INTERVAL}s; load $(loadavg)"
  log "N=$n peer, $scrapes scrapes in $(elapsed "$t0" "$t1")s: postgres $(secs "$p0" "$p1")s, peer cpu ${2}s"
}

# pghealthd with the three statistics collectors every STEADY_INTERVAL s: PostgreSQL CPU from the end of
# its first cycle to the end of cycle 1 + STEADY_CYCLES (both ends read as the last of the three logs its
# run), and the cycles completed in between: the fewest runs any of the three logged in the window.
steady() { # n
  local n=$1 port p0 p1 t0 t1 c0 c1 k cycles="" ks=(stat_user_tables statio_user_tables stat_user_indexes) r0=() r1=()
  port=$(free_port)
  ph_config "$port" "${ks[@]/%/=${STEADY_INTERVAL}s}" >"$work/steady.yaml"
  start_ph "$work/steady.yaml" "$work/steady.log"
  wait_runs "$work/steady.log" 1 "${ks[@]}"
  p0=$(pg_ticks); t0=$(now); c0=$(proc_ticks "$ph_pid")
  for k in "${ks[@]}"; do r0+=("$(runs_of "$work/steady.log" "$k")"); done
  hwm_reset "$ph_pid"
  wait_runs "$work/steady.log" $((1 + STEADY_CYCLES)) "${ks[@]}"
  p1=$(pg_ticks); t1=$(now); c1=$(proc_ticks "$ph_pid")
  for k in "${ks[@]}"; do r1+=("$(runs_of "$work/steady.log" "$k")"); done
  local hwm
  hwm=$(hwm_kib "$ph_pid")
  stop_pid "$ph_pid"; ph_pid=""
  for k in 0 1 2; do
    if [ -z "$cycles" ] || [ $((r1[k] - r0[k])) -lt "$cycles" ]; then cycles=$((r1[k] - r0[k])); fi
  done
  set -- $(cpu_delta "$c0" "$c1")
  row "$n" pghealthd steady 1 "$(elapsed "$t0" "$t1")" "" "" "$1" "$2" "$3" "$(secs "$p0" "$p1")" "$hwm" \
    "cycles=$cycles interval=${STEADY_INTERVAL}s; load $(loadavg); runs in the log at the window's start ${r0[*]} and end ${r1[*]}; $(runs_note "$work/steady.log" "${ks[@]}")"
  log "N=$n pghealthd steady state: $cycles cycles in $(elapsed "$t0" "$t1")s, postgres $(secs "$p0" "$p1")s (before the idle rate is subtracted), pghealthd cpu ${1}s"
  sleep 1
}

# One other collector alone, every OTHER_INTERVAL s: PostgreSQL CPU over OTHER_RUNS runs after its first.
other_collector() { # n name
  local n=$1 c=$2 port p0 p1 t0 t1 c0 c1 a b
  port=$(free_port)
  ph_config "$port" "$c=${OTHER_INTERVAL}s" >"$work/$c.yaml"
  start_ph "$work/$c.yaml" "$work/$c.log"
  wait_runs "$work/$c.log" 1 "$c"
  p0=$(pg_ticks); t0=$(now); c0=$(proc_ticks "$ph_pid"); a=$(runs_of "$work/$c.log" "$c")
  wait_runs "$work/$c.log" $((1 + OTHER_RUNS)) "$c"
  p1=$(pg_ticks); t1=$(now); c1=$(proc_ticks "$ph_pid"); b=$(runs_of "$work/$c.log" "$c")
  stop_pid "$ph_pid"; ph_pid=""
  set -- $(cpu_delta "$c0" "$c1")
  row "$n" pghealthd collector_run "$c" "$(elapsed "$t0" "$t1")" "" "" "$1" "$2" "$3" "$(secs "$p0" "$p1")" "" \
    "runs=$((b - a)) interval=${OTHER_INTERVAL}s; $(runs_note "$work/$c.log" "$c")"
  log "N=$n pghealthd $c alone: $((b - a)) runs in $(elapsed "$t0" "$t1")s, postgres $(secs "$p0" "$p1")s"
  sleep 0.5
}

# pghealthd at its default schedules, maintenance off, for two periods of MINUTE_WINDOW s from process start.
# The second period is the measured minute ("minute"): the daemon's steady cost, as the peer's minute is
# measured on a process that has been scraped before (its connection open, its caches warm). The first
# ("minute_start") holds the process start: the connection, a new backend's catalog caches and the first
# runs that read everything; it is kept beside it. The schedules run at fixed times from their origin
# (just after process start), so [start + W - 1, start + 2W - 1] holds exactly one run of each W-s schedule
# and one period of the shorter ones. Bloat is disabled here (its default interval is an hour: one run would
# weigh 12 times its share in 300 s); the report adds its per-run cost from other_collector, / 60 per minute.
default_schedules() { # n
  local n=$1 port p0 pw p1 t0 tw t1 cw c1 m0 m1 hwm c defaults=() note="" warm
  for c in "${known[@]}"; do [ "$c" = bloat ] || defaults+=("$c=default"); done
  port=$(free_port)
  ph_config "$port" maintenance "${defaults[@]}" >"$work/minute.yaml"
  m0=$(maintenance_count)
  p0=$(pg_ticks); t0=$(now)
  start_ph "$work/minute.yaml" "$work/minute.log"
  wait_alive_until() { # time
    while [ "$(awk -v t="$1" -v n="$(now)" 'BEGIN { print (n < t - 1) }')" = 1 ]; do
      kill -0 "$ph_pid" 2>/dev/null || { cat "$work/minute.log" >&2; die "pghealthd exited"; }
      sleep 1
    done
    sleep_until "$1"
  }
  wait_alive_until "$(awk -v t="$t0" -v w="$MINUTE_WINDOW" 'BEGIN { printf "%.6f", t + w - 1 }')"
  pw=$(pg_ticks); tw=$(now); cw=$(proc_ticks "$ph_pid")
  warm=$(stat -c %s "$work/minute.log")
  wait_alive_until "$(awk -v t="$t0" -v w="$MINUTE_WINDOW" 'BEGIN { printf "%.6f", t + 2 * w - 1 }')"
  p1=$(pg_ticks); t1=$(now); c1=$(proc_ticks "$ph_pid")
  head -c "$warm" "$work/minute.log" >"$work/minute.start.log"
  tail -c "+$((warm + 1))" "$work/minute.log" >"$work/minute.window.log"
  hwm=$(hwm_kib "$ph_pid")
  stop_pid "$ph_pid"; ph_pid=""
  if grep -q 'collector failed' "$work/minute.log"; then cat "$work/minute.log" >&2; die "a collector failed"; fi
  sleep 1 # the statistics of the backends' last transactions land
  m1=$(maintenance_count)
  [ "$m0" = "$m1" ] || note="WARNING: the vacuum and analyze counts of the bench tables went from $m0 to $m1; "
  knows bloat && note="${note}bloat disabled (hourly by default: its run from collector_run bloat counts 1/60 per minute); "
  local off
  off="maintenance off ($(printf '%s ' "${maintenance_off[@]}" | sed 's/ $//')); vacuums+analyzes of the bench tables $m0 before and $m1 after"
  set -- $(cpu_delta "0 0" "$cw")
  row "$n" pghealthd minute_start 1 "$(elapsed "$t0" "$tw")" "" "" "$1" "$2" "$3" "$(secs "$p0" "$pw")" "" \
    "${note}first period: from process start; $off; load $(loadavg); $(runs_note "$work/minute.start.log" "${defaults[@]%=default}")"
  set -- $(cpu_delta "$cw" "$c1")
  row "$n" pghealthd minute 1 "$(elapsed "$tw" "$t1")" "" "" "$1" "$2" "$3" "$(secs "$pw" "$p1")" "$hwm" \
    "${note}second period: from $(elapsed "$t0" "$tw" | cut -d. -f1) s after process start; $off; load $(loadavg); $(runs_note "$work/minute.window.log" "${defaults[@]%=default}")"
  log "N=$n pghealthd default schedules: postgres $(secs "$p0" "$pw")s in the first ${MINUTE_WINDOW}s (from start), $(secs "$pw" "$p1")s in the second; pghealthd cpu $(cpu_delta "$cw" "$c1" | cut -d' ' -f1)s in the second; maintenance count $m0 -> $m1"
}

run_one() {
  local n=$1 peer=1 t0 t1 p0 p1 load_start
  [ "$n" -le "$PEER_MAX_N" ] || peer=0
  load_start=$(loadavg)
  work=$(mktemp -d "$BENCH_TMP/pghealthd-bench.XXXXXX")
  chmod 755 "$work"
  pgdir="$work/pg"
  log "N=$n: starting PostgreSQL in $pgdir"
  PG_AUTOVACUUM=off "$root/scripts/pg-throwaway" start "$pgdir" "$((50000 + RANDOM % 10000))"
  # shellcheck disable=SC1091
  . "$pgdir/env"
  export PGHOST PGPORT PGUSER
  postmaster=$(head -n1 "$pgdir/data/postmaster.pid")
  PGDATABASE=postgres psql -X -q -c 'CREATE DATABASE bench'
  export PGDATABASE=bench
  local pgversion
  pgversion=$(psql -X -A -t -c 'SHOW server_version')

  log "N=$n: creating $n tables"
  gen_sql "$n" >"$work/setup.sql"
  t0=$(now)
  psql -X -q -v ON_ERROR_STOP=1 -f "$work/setup.sql" >/dev/null
  t1=$(now)
  # The catalogs analyzed, as autovacuum (off here, to keep the bench tables' statistics still) would have
  # done on a live server after thousands of tables were created: the planner then knows pg_class holds
  # tens of thousands of rows, and plans the views and pghealthd's queries alike with hash joins.
  psql -X -q -c 'ANALYZE pg_catalog.pg_class, pg_catalog.pg_index, pg_catalog.pg_namespace, pg_catalog.pg_attribute, pg_catalog.pg_constraint, pg_catalog.pg_inherits, pg_catalog.pg_statistic, pg_catalog.pg_type'
  psql -X -q -c CHECKPOINT
  local counts
  counts=$(psql -X -A -t -F' ' -c "SELECT (SELECT count(*) FROM pg_stat_user_tables), (SELECT count(*) FROM pg_stat_user_indexes), (SELECT count(*) FROM pg_class)")
  row "$n" postgres setup 1 "$(elapsed "$t0" "$t1")" "" "" "" "" "" "" "" "tables indexes pg_class rows: $counts"
  log "N=$n: created in $(elapsed "$t0" "$t1")s (tables indexes pg_class: $counts)"
  sleep 2

  # The psql floor: the three views read raw, client and connection included, with JIT off as in
  # pghealthd's sessions; and a psql connection alone, to show how much of the floor it is.
  local i
  for i in $(seq "$FLOOR_RUNS"); do
    p0=$(pg_ticks); t0=$(now)
    PGOPTIONS='-c jit=off' psql -X -A -t -q -o /dev/null -c 'SELECT * FROM pg_stat_user_tables' \
      -c 'SELECT * FROM pg_statio_user_tables' -c 'SELECT * FROM pg_stat_user_indexes'
    t1=$(now); sleep 0.3; p1=$(pg_ticks)
    row "$n" psql psql_floor "$i" "$(elapsed "$t0" "$t1")" "" "" "" "" "" "$(secs "$p0" "$p1")" "" "jit=off"
    log "N=$n psql floor $i: $(elapsed "$t0" "$t1")s postgres $(secs "$p0" "$p1")s"
  done
  for i in $(seq "$FLOOR_RUNS"); do
    p0=$(pg_ticks); t0=$(now)
    PGOPTIONS='-c jit=off' psql -X -A -t -q -o /dev/null -c 'SELECT 1'
    t1=$(now); sleep 0.3; p1=$(pg_ticks)
    row "$n" psql psql_connect "$i" "$(elapsed "$t0" "$t1")" "" "" "" "" "" "$(secs "$p0" "$p1")" "" "SELECT 1"
  done

  # pghealthd: one collection cycle, measured from its start.
  local php
  php=$(free_port)
  once_config "$php" bench >"$work/pghealthd.yaml"
  "$PGHEALTHD" --check-config --config "$work/pghealthd.yaml" >/dev/null
  p0=$(pg_ticks); t0=$(now)
  "$PGHEALTHD" --config "$work/pghealthd.yaml" 2>"$work/pghealthd.log" &
  ph_pid=$!
  local deadline=$((SECONDS + 600))
  until [ "$(collected_kinds "$work/pghealthd.log")" -ge "${#once_kinds[@]}" ]; do
    kill -0 "$ph_pid" 2>/dev/null || { cat "$work/pghealthd.log" >&2; die "pghealthd exited"; }
    if grep -q 'collector failed' "$work/pghealthd.log"; then cat "$work/pghealthd.log" >&2; die "a collector failed"; fi
    [ $SECONDS -lt $deadline ] || die "pghealthd's first cycle took more than 600 s"
    sleep 0.01
  done
  t1=$(now)
  sleep 0.5
  p1=$(pg_ticks)
  local ph_cycle_cpu ph_hwm_cycle
  ph_cycle_cpu=$(cpu_delta "0 0" "$(proc_ticks "$ph_pid")")
  ph_hwm_cycle=$(hwm_kib "$ph_pid")
  local runs
  runs=$(grep -o 'collector=[a-z_]* rows=[0-9]* seconds=[0-9.]*' "$work/pghealthd.log" | tr '\n' ' ')
  set -- $ph_cycle_cpu
  row "$n" pghealthd cycle 1 "$(elapsed "$t0" "$t1")" "" "" "$1" "$2" "$3" "$(secs "$p0" "$p1")" "$ph_hwm_cycle" "from start; load $(loadavg); $runs"
  row "$n" pghealthd rss_phase cycle "" "" "" "" "" "" "" "$ph_hwm_cycle"
  log "N=$n pghealthd cycle: $(elapsed "$t0" "$t1")s cpu ${1}s (user $2 sys $3) postgres $(secs "$p0" "$p1")s hwm ${ph_hwm_cycle}KiB ($runs)"
  wait_http "http://127.0.0.1:$php/healthz" 30 "$ph_pid" || die "pghealthd does not answer"

  local pp=""
  if [ "$peer" = 1 ]; then
    pp=$(free_port)
    DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=postgres dbname=bench sslmode=disable application_name=postgres_exporter" \
      "$peer_bin" --web.listen-address="127.0.0.1:$pp" --extend.query-path="$bench/queries.yaml" \
      --log.level=warn 2>"$work/peer.log" &
    peer_pid=$!
    wait_http "http://127.0.0.1:$pp/" 30 "$peer_pid" || { cat "$work/peer.log" >&2; die "the peer does not answer"; }
    sleep 1
    row "$n" peer rss_phase start "" "" "" "" "" "" "" "$(hwm_kib "$peer_pid")"
    hwm_reset "$peer_pid"
  fi
  hwm_reset "$ph_pid"

  for i in $(seq "$SCRAPES"); do
    scrape "$n" pghealthd "$ph_pid" "http://127.0.0.1:$php/metrics" "$i"
    if [ "$peer" = 1 ]; then scrape "$n" peer "$peer_pid" "http://127.0.0.1:$pp/metrics" "$i"; fi
  done
  # The collectors' own account of the cycle, from the last plain scrape.
  local durations
  durations=$(awk '/^pghealthd_collector_duration_seconds/ { match($0, /collector="[a-z_]*"/); printf "%s=%s ", substr($0, RSTART + 11, RLENGTH - 12), $NF }' "$work/scrape.pghealthd")
  row "$n" pghealthd collector_durations 1 "" "" "" "" "" "" "" "" "$durations"
  # Where the bytes go: the five biggest families of each exposition.
  local e
  for e in pghealthd peer; do
    [ -f "$work/scrape.$e" ] || continue
    row "$n" "$e" families 1 "" "" "" "" "" "" "" "" "$(awk '!/^#/ { f = $0; sub(/[{ ].*/, "", f); b[f] += length($0) + 1; c[f]++ }
      END { for (f in b) printf "%d %s %d\n", b[f], f, c[f] }' "$work/scrape.$e" | sort -rn | head -n5 | awk '{printf "%s`%s` %d series / %.0f kB", (NR > 1 ? "; " : ""), $2, $3, $1 / 1e3}')"
  done
  # Peak RSS of each phase (VmHWM, reset between phases); the process's peak is the largest.
  local ph_hwm_scrapes peer_hwm_scrapes="" ph_hwm_gzip peer_hwm_gzip=""
  ph_hwm_scrapes=$(hwm_kib "$ph_pid"); hwm_reset "$ph_pid"
  row "$n" pghealthd rss_phase scrapes "" "" "" "" "" "" "" "$ph_hwm_scrapes"
  if [ "$peer" = 1 ]; then
    peer_hwm_scrapes=$(hwm_kib "$peer_pid"); hwm_reset "$peer_pid"
    row "$n" peer rss_phase scrapes "" "" "" "" "" "" "" "$peer_hwm_scrapes"
  fi
  # Prometheus asks for gzip: one compressed scrape each.
  scrape "$n" pghealthd "$ph_pid" "http://127.0.0.1:$php/metrics" 1 gzip
  if [ "$peer" = 1 ]; then scrape "$n" peer "$peer_pid" "http://127.0.0.1:$pp/metrics" 1 gzip; fi
  ph_hwm_gzip=$(hwm_kib "$ph_pid")
  row "$n" pghealthd rss_phase gzip "" "" "" "" "" "" "" "$ph_hwm_gzip"
  local ph_peak peer_peak=""
  ph_peak=$(printf '%s\n' "$ph_hwm_cycle" "$ph_hwm_scrapes" "$ph_hwm_gzip" | sort -n | tail -n1)
  row "$n" pghealthd peak_rss 1 "" "" "" "" "" "" "" "$ph_peak"
  if [ "$peer" = 1 ]; then
    peer_hwm_gzip=$(hwm_kib "$peer_pid")
    row "$n" peer rss_phase gzip "" "" "" "" "" "" "" "$peer_hwm_gzip"
    peer_peak=$(printf '%s\n' "$peer_hwm_scrapes" "$peer_hwm_gzip" | sort -n | tail -n1)
    row "$n" peer peak_rss 1 "" "" "" "" "" "" "" "$peer_peak"
  fi
  log "N=$n peak RSS: pghealthd $ph_peak KiB (cycle $ph_hwm_cycle, plain scrapes $ph_hwm_scrapes, gzip $ph_hwm_gzip)${peer_peak:+, peer $peer_peak KiB (plain scrapes $peer_hwm_scrapes, gzip $peer_hwm_gzip)}"

  stop_pid "$ph_pid"; ph_pid=""

  local peerversion=""
  if [ "$peer" = 1 ]; then
    peerversion=$("$peer_bin" --version 2>&1 | head -n1)
    if [ "$MINUTE_WINDOW" -gt 0 ]; then peer_minute "$n" "http://127.0.0.1:$pp/metrics"; fi
    stop_pid "$peer_pid"; peer_pid=""
  fi
  sleep 1 # the backends of the stopped processes exit

  # The idle server, then pghealthd's steady state, its other collectors and its default schedules.
  p0=$(pg_ticks); t0=$(now)
  sleep "$IDLE_WINDOW"
  p1=$(pg_ticks); t1=$(now)
  row "$n" postgres idle 1 "$(elapsed "$t0" "$t1")" "" "" "" "" "" "$(secs "$p0" "$p1")" "" "nothing connected; load $(loadavg)"
  log "N=$n idle server: postgres $(secs "$p0" "$p1")s in $(elapsed "$t0" "$t1")s"
  steady "$n"
  if [ "$OTHER_RUNS" -gt 0 ]; then
    local c
    for c in xmin_horizon vacuum_progress freeze sequences bloat; do
      if knows "$c"; then other_collector "$n" "$c"; fi
    done
  fi
  if [ "$MINUTE_WINDOW" -gt 0 ] && [ "$peer" = 1 ]; then default_schedules "$n"; fi

  row "$n" - meta date "" "" "" "" "" "" "" "" "$(date -u '+%Y-%m-%d %H:%M UTC')"
  row "$n" - meta command "" "" "" "" "" "" "" "" "$PGHEALTHD_BENCH_COMMAND"
  row "$n" - meta machine "" "" "" "" "" "" "" "" "$(nproc) CPUs; $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; Linux $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
  row "$n" - meta postgresql "" "" "" "" "" "" "" "" "$pgversion"
  row "$n" - meta pghealthd "" "" "" "" "" "" "" "" "$("$PGHEALTHD" --version 2>&1 | head -n1); binary ${PGHEALTHD#"$root/"} built $(date -u -r "$PGHEALTHD" '+%Y-%m-%d %H:%M UTC') ($(built_from))"
  if [ -n "$peerversion" ]; then row "$n" - meta peer "" "" "" "" "" "" "" "" "$peerversion"; fi
  row "$n" - meta load_start "" "" "" "" "" "" "" "" "$load_start"
  row "$n" - meta load_end "" "" "" "" "" "" "" "" "$(loadavg)"
  log "N=$n load average (1 5 15 min): $load_start at the start, $(loadavg) at the end"
  teardown
}

for n in "${ns[@]}"; do run_one "$n"; done

# Merge: the rows of this run replace those of the same N.
header="n,exporter,kind,i,wall_s,bytes,series,exporter_cpu_s,exporter_user_s,exporter_sys_s,postgres_cpu_s,rss_kib,note"
{
  echo "$header"
  {
    if [ "$append" = 1 ] && [ -f "$csv" ]; then
      awk -F, -v ns=" ${ns[*]} " 'NR > 1 && index(ns, " " $1 " ") == 0' "$csv"
    fi
    cat "$newcsv"
  } | sort -t, -k1,1n -s
} >"$rundir/merged.csv"
mv "$rundir/merged.csv" "$csv"
log "wrote $csv"
"$bench/report.sh"
