#!/usr/bin/env bash
# What each collector costs the server, one at a time, on one PostgreSQL with N tables: pghealthd is
# started with only that collector enabled (10m interval, so it runs once), and the server's CPU over
# that run is read from /proc (postmaster and children, reaped ones included, like bench/run.sh). A
# connection's own cost is measured too (a run with every collector disabled) and subtracted. Beside
# them, the psql floor of each statistics view (SELECT * through psql, same connection cost removed).
#
#   bench/collectors.sh [N] [RUNS]      default 10000 tables, 5 runs of each, alternating
#
# Environment: PGHEALTHD=PATH (default: a Release build in build-bench/, built if missing), BENCH_TMP.
# Writes bench/results/collectors.md (and .csv) with the date, the machine, the load average and the
# command.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
log() { printf '[collectors %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$bench/common.sh"

run_niced "$0" "$@"

n=${1:-10000}
runs=${2:-5}
bench_binary
install_missing postgresql-15 postgresql-client-15

make_work collectors

start_postgres
log "creating $n tables, three indexes and a sequence each"
create_tables postgres "$n" index_health

collectors=(stat_user_tables statio_user_tables stat_user_indexes xmin_horizon vacuum_progress freeze sequences)
csv="$bench/results/collectors.csv"
echo "what,i,seconds,postgres_cpu_s" >"$csv"

# pghealthd's configuration with only collector C enabled, at INTERVAL, listening on a free port.
only_config() { # collector interval
  local c
  echo "listen: \"127.0.0.1:$(free_port)\""
  echo "log_level: debug"
  echo "connection: {statement_timeout: 60s}"
  echo "collectors:"
  for c in "${collectors[@]}"; do
    if [ "$c" = "$1" ]; then echo "  $c: {interval: $2}"; else echo "  $c: {enabled: false}"; fi
  done
  echo "targets:"
  echo "  - name: bench"
  echo "    conninfo: \"host=$PGHOST port=$PGPORT user=postgres dbname=postgres application_name=pghealthd\""
}

# pghealthd with only collector $1 enabled ("none": a connection and nothing else), once.
one() { # collector i
  local p0 p1 yaml="$work/$1.yaml" line
  only_config "$1" 10m >"$yaml"
  p0=$(pg_ticks)
  "$PGHEALTHD" --config "$yaml" 2>"$work/$1.log" &
  daemon_pid=$!
  local deadline=$((SECONDS + 300)) pattern=" collected .*collector=$1 "
  [ "$1" = none ] && pattern="connected to database"
  until grep -q "$pattern" "$work/$1.log" 2>/dev/null; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/$1.log" >&2; die "pghealthd exited"; }
    [ $SECONDS -lt $deadline ] || die "$1 took more than 300 s"
    sleep 0.01
  done
  sleep 0.5
  p1=$(pg_ticks)
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
  sleep 0.5
  line=$(grep -o " collected .*collector=$1 .*seconds=[0-9.]*" "$work/$1.log" | sed 's/.*seconds=//' || true)
  echo "$1,$2,${line:-0},$(ticks_s "$p0" "$p1")" >>"$csv"
}

# The same collector's second run on the same connection (interval 2s): the server's caches (the
# relation cache a sequence's last value needs) are warm, as in a daemon that keeps its connections.
one_warm() { # collector i
  local p0 p1 yaml="$work/$1-warm.yaml"
  only_config "$1" 2s >"$yaml"
  "$PGHEALTHD" --config "$yaml" 2>"$work/$1-warm.log" &
  daemon_pid=$!
  local deadline=$((SECONDS + 300))
  until [ "$(grep -c " collected .*collector=$1 " "$work/$1-warm.log" 2>/dev/null)" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || die "$1 took more than 300 s"
    sleep 0.01
  done
  p0=$(pg_ticks)
  until [ "$(grep -c " collected .*collector=$1 " "$work/$1-warm.log" 2>/dev/null)" -ge 2 ]; do
    [ $SECONDS -lt $deadline ] || die "$1 took more than 300 s"
    sleep 0.01
  done
  p1=$(pg_ticks)
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
  local line
  line=$(grep -o " collected .*collector=$1 .*seconds=[0-9.]*" "$work/$1-warm.log" | sed -n 2p | sed 's/.*seconds=//' || true)
  echo "$1 warm,$2,${line:-0},$(ticks_s "$p0" "$p1")" >>"$csv"
}

floor() { # view i
  local p0 p1 t0 t1
  p0=$(pg_ticks); t0=$(now)
  psql -X -A -t -q -o /dev/null -c "SELECT * FROM $1"
  t1=$(now); sleep 0.3; p1=$(pg_ticks)
  echo "psql $1,$2,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'),$(ticks_s "$p0" "$p1")" >>"$csv"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
  log "run $i of $runs"
  one none "$i"
  for c in "${collectors[@]}"; do one "$c" "$i"; done
  for c in stat_user_indexes sequences; do one_warm "$c" "$i"; done
  for v in pg_stat_user_tables pg_statio_user_tables pg_stat_user_indexes; do floor "$v" "$i"; done
  p0=$(pg_ticks); psql -X -q -c 'SELECT 1' >/dev/null; sleep 0.3; p1=$(pg_ticks)
  echo "psql connection,$i,,$(ticks_s "$p0" "$p1")" >>"$csv"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

median() { # what column
  awk -F, -v w="$1" -v c="$2" '$1 == w && $c != "" { print $c }' "$csv" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
base=$(median none 4)
psql_base=$(median "psql connection" 4)
out="$bench/results/collectors.md"
{
  echo "# What each collector costs the server"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line)"
  echo "- command: \`bench/collectors.sh $n $runs\`; $(pghealthd_line)"
  echo "- PostgreSQL $pgversion, $n tables, $((n * 3 + n / 10)) indexes, $n sequences; $runs runs of each, alternating; medians"
  echo "- load average (1, 5, 15 min): $load_start at the start, $load_end at the end"
  echo "- a connection alone costs the server ${base} s (pghealthd's, with its session settings) and ${psql_base} s"
  echo "  (psql's); the rows below have it subtracted (CPU is counted in 10 ms ticks)"
  echo
  echo "| what | duration (s) | PostgreSQL CPU per run (s) |"
  echo "| --- | ---: | ---: |"
  for c in "${collectors[@]}"; do
    echo "| pghealthd collector \`$c\` | $(median "$c" 3) | $(awk -v a="$(median "$c" 4)" -v b="$base" 'BEGIN { printf "%.2f", a - b }') |"
  done
  for c in stat_user_indexes sequences; do
    echo "| pghealthd collector \`$c\`, its second run on the same connection | $(median "$c warm" 3) | $(median "$c warm" 4) |"
  done
  for v in pg_stat_user_tables pg_statio_user_tables pg_stat_user_indexes; do
    echo "| psql \`SELECT * FROM $v\` | $(median "psql $v" 3) | $(awk -v a="$(median "psql $v" 4)" -v b="$psql_base" 'BEGIN { printf "%.2f", a - b }') |"
  done
} >"$out"
cat "$out"
