#!/usr/bin/env bash
# One collection cycle of two pghealthd binaries, side by side on one PostgreSQL with N tables, beside the
# psql floor (SELECT * of the three views): how long a cycle takes and what it costs the server.
#
#   BEFORE=path/to/old/pghealthd AFTER=path/to/new/pghealthd bench/cycle.sh [N] [RUNS]
#
# N defaults to 100000 tables (bench/run.sh's shape), RUNS to 3. Each run starts each binary afresh
# (alternating before, after, floor, ...), with every collector at a 10m interval, and waits until all its
# collectors have logged their run (COLLECTORS=6; 5 for a binary older than the freeze collector). Per run and binary:
#   - wall: from process start until the last collector's answer is processed;
#   - cycle: from the first collector's query to the last one's answer (the daemon's own log);
#   - pghealthd CPU (utime + stime) and PostgreSQL CPU (postmaster and children, reaped ones included)
#     over the cycle, CPU against CPU for the floor as well;
#   - the most backends pghealthd held at once (pg_stat_activity, sampled every 50 ms).
# Writes bench/results/cycle.md (and .csv) with the date, the machine, the load average and the command.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
log() { printf '[cycle %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$bench/common.sh"

run_niced "$0" "$@"

n=${1:-100000}
runs=${2:-3}
[ -x "${BEFORE:-}" ] || die "set BEFORE to the old pghealthd binary"
[ -x "${AFTER:-}" ] || die "set AFTER to the new pghealthd binary"
install_missing postgresql-15 postgresql-client-15

work=$(mktemp -d "${BENCH_TMP:-/tmp}/pghealthd-cycle.XXXXXX")
chmod 755 "$work"
daemon_pid=""
cleanup() {
  stop_sampler
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  "$root/scripts/pg-throwaway" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start_postgres
log "creating $n tables"
t0=$(now)
create_tables postgres "$n"
log "created in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
start_sampler "$work/backends"

csv="$bench/results/cycle.csv"
echo "binary,i,wall_s,cycle_s,pghealthd_cpu_s,postgres_cpu_s,backends" >"$csv"

floor() { # i
  local p0 p1 t0 t1
  p0=$(pg_ticks); t0=$(now)
  psql -X -A -t -q -o /dev/null -c 'SELECT * FROM pg_stat_user_tables' \
    -c 'SELECT * FROM pg_statio_user_tables' -c 'SELECT * FROM pg_stat_user_indexes'
  t1=$(now); sleep 0.3; p1=$(pg_ticks)
  echo "floor,$1,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'),,,$(ticks_s "$p0" "$p1")," >>"$csv"
}

one() { # name binary i
  local port p0 p1 t0 t1 c cycle most
  port=$(free_port)
  once_config "$port" postgres >"$work/$1.yaml"
  p0=$(pg_ticks); t0=$(now)
  "$2" --config "$work/$1.yaml" 2>"$work/$1.log" &
  daemon_pid=$!
  local deadline=$((SECONDS + 600))
  until [ "$(collected_kinds "$work/$1.log")" -ge "${COLLECTORS:-$once_collectors}" ]; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/$1.log" >&2; die "$1 exited"; }
    grep -q 'collector failed' "$work/$1.log" && { cat "$work/$1.log" >&2; die "a collector of $1 failed"; }
    [ $SECONDS -lt $deadline ] || die "$1's first cycle took more than 600 s"
    sleep 0.01
  done
  t1=$(now)
  sleep 0.5
  p1=$(pg_ticks)
  c=$(ticks_s 0 "$(proc_ticks "$daemon_pid")")
  cycle=$(collections "$work/$1.log" | awk 'NR == 1 || $1 < s { s = $1 } $2 > e { e = $2 } END { printf "%.3f", e - s }')
  most=$(most_backends "$work/backends" "$t0" "$t1")
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
  echo "$1,$3,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'),$cycle,$c,$(ticks_s "$p0" "$p1"),$most" >>"$csv"
  log "$1 run $3: $(tail -n1 "$csv")"
  sleep 1  # the backends' exit lands before the next measurement
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
  one before "$BEFORE" "$i"
  one after "$AFTER" "$i"
  floor "$i"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

median() { # binary column
  awk -F, -v b="$1" -v c="$2" '$1 == b && $c != "" { print $c }' "$csv" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { # before after: "1/x" when after is smaller, "x×" when larger
  awk -v a="$1" -v b="$2" 'BEGIN { if (a <= 0 || b == "-" || b <= 0) print "n/a"; else if (b <= a) printf "1/%.2f", a / b; else printf "%.2f×", b / a }'
}

out="$bench/results/cycle.md"
{
  echo "# One collection cycle: two pghealthd binaries and the psql floor, side by side"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line)"
  echo "- command: \`BEFORE=$BEFORE AFTER=$AFTER bench/cycle.sh $n $runs\`"
  echo "- PostgreSQL $pgversion, $n tables, $((n * 2)) indexes; $runs runs each, alternating; medians"
  echo "- load average (1, 5, 15 min): $load_start at the start of the runs, $load_end at the end"
  echo
  echo "| measure (median of $runs) | before | after | after / before | floor | after / floor |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for m in "wall from process start (s):3" "cycle, first query to last answer (s):4" "pghealthd CPU (s):5" "PostgreSQL CPU (s):6" "most backends at once:7"; do
    col=${m##*:}; label=${m%:*}
    b=$(median before "$col"); a=$(median after "$col"); f=$(median floor "$col")
    fr=""; [ "$f" != "-" ] && fr=$(ratio "$f" "$a")
    echo "| $label | $b | $a | $(ratio "$b" "$a") | $f | $fr |"
  done
  echo
  echo "(The floor's wall time is psql's three queries; its PostgreSQL CPU includes psql's connection.)"
} >"$out"
cat "$out"
