#!/usr/bin/env bash
# Many databases on one server: pghealthd watching DBS databases of TABLES tables each (default 50 x 200 =
# 10,000 tables) through one target, once per connection bound (connection.max_connections).
#
#   bench/many_databases.sh [BOUND ...]   default BOUND = 1 5 50; writes bench/results/many_databases.md
#                                         (and the raw numbers to bench/results/many_databases.csv)
#
# Environment:
#   DBS=50 TABLES=200   databases, and tables in each (copies of one template database)
#   STEADY=70           seconds of steady state observed after the first cycle (default intervals: 30 s for
#                       stat_user_tables, so 70 s covers two of its runs per database)
#   PGHEALTHD=PATH      the binary to measure; default: a Release build in build-bench-dbs/ (built if missing)
#   BENCH_TMP=/tmp      where the throwaway cluster goes (must be reachable by the postgres user)
#
# For each bound: pghealthd starts with the default collector intervals (30 s, 60 s, 300 s, 60 s) and
#  - the first cycle: from its start until every database's four collectors have logged a run (all of them
#    are due at once at start: the phase shift applies from the second run on);
#  - connections: the most backends with application_name pghealthd seen in pg_stat_activity (sampled
#    every 50 ms by one psql \watch session), during the first cycle and during the steady state, and the
#    sessions pghealthd opened (pg_stat_database.sessions) per minute of steady state: the cost of taking
#    turns;
#  - the steady state: how the collections spread (the most that started in any one second, from the log:
#    finish time minus duration), stat_user_tables durations, skipped runs, and the oldest last success;
#  - 5 scrapes (curl time_total, median and max), and peak RSS (VmHWM) and pghealthd CPU.
# Everything runs under `nice -n 10`, on a Unix socket and 127.0.0.1 only, and is stopped on exit.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
out_md="$bench/results/many_databases.md"
out_csv="$bench/results/many_databases.csv"

if [ -z "${PGHEALTHD_BENCH_NICED:-}" ]; then
  export PGHEALTHD_BENCH_NICED=1
  export PGHEALTHD_BENCH_COMMAND="bench/many_databases.sh${*:+ $*}"
  exec nice -n 10 "$0" "$@"
fi

bounds=()
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *[!0-9]*|""|0) echo "many_databases.sh: not a connection bound: $a" >&2; exit 2 ;;
    *) bounds+=("$a") ;;
  esac
done
[ ${#bounds[@]} -gt 0 ] || bounds=(1 5 50)
export DBS=${DBS:-50}
TABLES=${TABLES:-200}
STEADY=${STEADY:-70}
BENCH_TMP=${BENCH_TMP:-/tmp}

log() { printf '[many-dbs %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=bench/common.sh
. "$bench/common.sh"
install_missing postgresql-15 postgresql-client-15 curl
pghealthd_binary

teardown() {
  [ -n "${sampler_pid:-}" ] && kill "$sampler_pid" 2>/dev/null || true
  [ -n "${ph_pid:-}" ] && kill "$ph_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${pgdir:-}" ]; then "$root/scripts/pg-throwaway" stop "$pgdir" || true; fi
  if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}
trap teardown EXIT
trap 'exit 130' INT TERM

# --- the server: one template database copied DBS times ----------------------------------------------------
work=$(mktemp -d "$BENCH_TMP/pghealthd-many-dbs.XXXXXX")
chmod 755 "$work"
start_postgres
log "creating the template: $TABLES tables"
psql -X -q -c 'CREATE DATABASE tmpl'
create_tables tmpl "$TABLES"
dbnames=()
t0=$(now)
for i in $(seq "$DBS"); do
  dbnames+=("$(printf 'db_%02d' "$i")")
  psql -X -q -c "CREATE DATABASE ${dbnames[-1]} TEMPLATE tmpl"
done
log "created $DBS databases in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
psql -X -q -c CHECKPOINT
dblist=$(IFS=,; echo "${dbnames[*]}" | sed 's/,/, /g')
sessions() { psql -X -A -t -c "SELECT sum(sessions) FROM pg_stat_database WHERE datname LIKE 'db\\_%'"; }

echo "bound,first_cycle_s,first_cycle_backends_max,steady_backends_max,sessions_per_min,burst_first,burst_steady,active_seconds_steady,stu_p50_ms,stu_max_ms,skipped,oldest_success_s,scrape_p50_ms,scrape_max_ms,bytes,series,hwm_cycle_mib,hwm_end_mib,rss_end_mib,cpu_cycle_s,cpu_steady_s,pg_cpu_cycle_s,pg_cpu_steady_s" >"$work/rows.csv"

run_bound() {
  local m=$1 port
  port=$(free_port)
  cat >"$work/pghealthd.yaml" <<YAML
listen: "127.0.0.1:$port"
log_level: debug
connection:
  max_connections: $m
  statement_timeout: 60s
collectors:
  stat_user_tables: {interval: 30s}
  statio_user_tables: {interval: 60s}
  stat_user_indexes: {interval: 300s}
  xmin_horizon: {interval: 60s}
targets:
  - name: bench
    conninfo: "host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
    databases: [$dblist]
YAML
  "$PGHEALTHD" --check-config --config "$work/pghealthd.yaml" >/dev/null

  start_sampler "$work/backends.$m"
  sleep 0.5
  local s0 p0 t_start t_cycle
  s0=$(sessions)
  p0=$(pg_ticks); t_start=$(now)
  "$PGHEALTHD" --config "$work/pghealthd.yaml" 2>"$work/pghealthd.$m.log" &
  ph_pid=$!
  local want=$((DBS * 4)) deadline=$((SECONDS + 900))
  until [ "$(collections "$work/pghealthd.$m.log" | awk '{print $3, $4}' | sort -u | wc -l)" -ge "$want" ]; do
    kill -0 "$ph_pid" 2>/dev/null || { tail -n 20 "$work/pghealthd.$m.log" >&2; die "pghealthd exited"; }
    if grep -q 'collector failed' "$work/pghealthd.$m.log"; then grep 'collector failed' "$work/pghealthd.$m.log" | head -n 5 >&2; die "a collector failed"; fi
    [ $SECONDS -lt $deadline ] || die "the first cycle took more than 900 s"
    sleep 0.05
  done
  t_cycle=$(now)
  local cpu_cycle p_cycle hwm_cycle first_cycle
  cpu_cycle=$(proc_ticks "$ph_pid"); p_cycle=$(pg_ticks); hwm_cycle=$(hwm_mib "$ph_pid")
  first_cycle=$(awk -v a="$t_start" -v b="$t_cycle" 'BEGIN { printf "%.2f", b - a }')
  log "bound $m: first cycle ${first_cycle}s"

  # Scrapes.
  local i times=() bytes=0 series=0 out
  for i in 1 2 3 4 5; do
    out=$(curl -sS --max-time 60 -o "$work/scrape" -w '%{time_total} %{size_download}' "http://127.0.0.1:$port/metrics")
    times+=("${out% *}"); bytes=${out#* }
  done
  series=$(grep -vc '^#' "$work/scrape" || true)
  local scrape_p50 scrape_max
  scrape_p50=$(printf '%s\n' "${times[@]}" | quantile 0.5)
  scrape_max=$(printf '%s\n' "${times[@]}" | quantile 1)

  # Steady state.
  local s1 t_steady0 c_steady0 p_steady0
  s1=$(sessions); t_steady0=$(now); c_steady0=$(proc_ticks "$ph_pid"); p_steady0=$(pg_ticks)
  sleep "$STEADY"
  local s2 t_steady1 c_steady1 p_steady1
  s2=$(sessions); t_steady1=$(now); c_steady1=$(proc_ticks "$ph_pid"); p_steady1=$(pg_ticks)
  curl -sS --max-time 60 -o "$work/scrape.end" "http://127.0.0.1:$port/metrics"
  local hwm_end rss_end
  hwm_end=$(hwm_mib "$ph_pid"); rss_end=$(rss_mib "$ph_pid")
  kill "$ph_pid"; wait "$ph_pid" 2>/dev/null || true; ph_pid=""
  stop_sampler

  collections "$work/pghealthd.$m.log" >"$work/collections.$m"
  local b_cycle b_steady burst_first burst_steady active stu_p50 stu_max skipped oldest sess_min
  b_cycle=$(most_backends "$work/backends.$m" "$t_start" "$t_cycle")
  b_steady=$(most_backends "$work/backends.$m" "$t_steady0" "$t_steady1")
  # Collections started per second of wall time: the first cycle (all due at once) and the steady state.
  burst_first=$(awk -v a="$t_start" -v b="$t_cycle" '$1 >= a && $1 <= b { n[int($1)]++ } END { for (s in n) if (n[s] > m) m = n[s]; print m + 0 }' "$work/collections.$m")
  burst_steady=$(awk -v a="$t_steady0" -v b="$t_steady1" '$1 >= a && $1 <= b { n[int($1)]++ } END { for (s in n) if (n[s] > m) m = n[s]; print m + 0 }' "$work/collections.$m")
  active=$(awk -v a="$t_steady0" -v b="$t_steady1" '$1 >= a && $1 <= b { n[int($1)]++ } END { print length(n) }' "$work/collections.$m")
  stu_p50=$(awk -v a="$t_steady0" '$1 >= a && $4 == "stat_user_tables" { print $5 }' "$work/collections.$m" | quantile 0.5)
  stu_max=$(awk -v a="$t_steady0" '$1 >= a && $4 == "stat_user_tables" { print $5 }' "$work/collections.$m" | quantile 1)
  skipped=$(awk '/^pghealthd_collector_skipped_total/ { s += $NF } END { print s + 0 }' "$work/scrape.end")
  oldest=$(awk -v now="$t_steady1" '/^pghealthd_collector_last_success_timestamp_seconds.*collector="stat_user_tables"/ { if (now - $NF > m) m = now - $NF } END { printf "%.1f", m }' "$work/scrape.end")
  sess_min=$(awk -v a="$s1" -v b="$s2" -v t0="$t_steady0" -v t1="$t_steady1" 'BEGIN { printf "%.1f", (b - a) * 60 / (t1 - t0) }')
  local row
  row="$m,$first_cycle,$b_cycle,$b_steady,$sess_min,$burst_first,$burst_steady,$active,$(ms "$stu_p50"),$(ms "$stu_max"),$skipped,$oldest,$(ms "$scrape_p50"),$(ms "$scrape_max"),$bytes,$series,$hwm_cycle,$hwm_end,$rss_end,$(ticks_s 0 "$cpu_cycle"),$(ticks_s "$c_steady0" "$c_steady1"),$(ticks_s "$p0" "$p_cycle"),$(ticks_s "$p_steady0" "$p_steady1")"
  echo "$row" >>"$work/rows.csv"
  log "bound $m: $row"
}

for m in "${bounds[@]}"; do run_bound "$m"; done

# --- report -----------------------------------------------------------------------------------------------
mkdir -p "$bench/results"
cp "$work/rows.csv" "$out_csv"
{
  echo "# Many databases: $DBS databases x $TABLES tables on one server"
  echo
  echo "Generated by \`$PGHEALTHD_BENCH_COMMAND\` (DBS=$DBS TABLES=$TABLES STEADY=$STEADY); raw numbers: \`bench/results/many_databases.csv\`."
  echo
  echo "- **Date:** $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- **Machine:** $(machine_line)"
  echo "- **PostgreSQL:** $pgversion (throwaway cluster, Unix socket, fsync off, autovacuum off, max_connections 200)"
  echo "- **pghealthd:** $(pghealthd_line)"
  echo "- **Collectors:** the default intervals (stat_user_tables 30 s, statio_user_tables 60 s, stat_user_indexes 300 s, xmin_horizon 60 s); one target listing the $DBS databases; statement_timeout 60 s"
  echo
  echo "| max_connections | $(cut -d, -f1 "$work/rows.csv" | tail -n +2 | paste -sd'|' | sed 's/|/ | /g') |"
  echo "| --- |$(tail -n +2 "$work/rows.csv" | sed 's/.*/ ---: |/' | tr -d '\n')"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next } { for (i = 2; i <= NF; i++) v[i] = v[i] " | " $i } END {
    split("first cycle: start until all " ENVIRON["DBS"] " x 4 collections done (s)|backends of ours, most seen during the first cycle|backends of ours, most seen in the steady state|sessions opened per minute, steady state|collections started in the busiest second, first cycle|collections started in the busiest second, steady state|seconds with any collection starting, steady state|stat_user_tables duration p50, steady (ms)|stat_user_tables duration max, steady (ms)|runs skipped (all collectors)|oldest stat_user_tables success at the end (s ago)|scrape time, median of 5 (ms)|scrape time, max of 5 (ms)|bytes per scrape|series per scrape|peak RSS after the first cycle (MiB)|peak RSS at the end (MiB)|RSS at the end (MiB)|pghealthd CPU, start to end of first cycle (s)|pghealthd CPU, steady state (s)|PostgreSQL CPU, first cycle (s)|PostgreSQL CPU, steady state (s)", label, "|")
    for (i = 2; i <= NF; i++) print "| " label[i - 1] v[i] " |"
  }' "$work/rows.csv"
  echo
  if [ -f "$bench/results/many_databases.notes.md" ]; then cat "$bench/results/many_databases.notes.md"; fi
} >"$out_md"
log "wrote $out_md"
