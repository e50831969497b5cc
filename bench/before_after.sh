#!/usr/bin/env bash
# Two pghealthd binaries side by side in one run, on one PostgreSQL with N tables: scrape time, bytes and
# exporter CPU per scrape (plain and gzip), and peak RSS, as ratios after/before. For a change that should
# not move the scrape path (a refactoring), this says whether it did, beyond the noise.
#
#   BEFORE=path/to/old/pghealthd AFTER=path/to/new/pghealthd bench/before_after.sh [N] [SCRAPES]
#
# N defaults to 10000 tables (bench/run.sh's shape: id primary key + one index each), SCRAPES to 20 per
# binary and encoding, alternating before, after, before, after ... so drift and load hit both alike.
# Both run with every collector at a 10m interval: their one collection cycle happens at start, and each
# scrape measures serving only. Writes bench/results/before_after.md (and .csv) with the date, the
# machine, the load average and the command.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
log() { printf '[before_after %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$bench/common.sh"

n=${1:-10000}
scrapes=${2:-20}
[ -x "${BEFORE:-}" ] || die "set BEFORE to the old pghealthd binary"
[ -x "${AFTER:-}" ] || die "set AFTER to the new pghealthd binary"
install_missing curl postgresql-15 postgresql-client-15

work=$(mktemp -d "${BENCH_TMP:-/tmp}/pghealthd-ba.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/pg-throwaway" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start_postgres
log "creating $n tables"
create_tables postgres "$n"

start_daemon() { # name binary -> sets port_<name>, pid_<name>
  local name=$1 bin=$2 port
  port=$(free_port)
  cat >"$work/$name.yaml" <<YAML
listen: "127.0.0.1:$port"
log_level: warn
targets:
  - name: bench
    conninfo: "host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
collectors:
  stat_user_tables: { interval: 10m }
  statio_user_tables: { interval: 10m }
  stat_user_indexes: { interval: 10m }
  xmin_horizon: { interval: 10m }
YAML
  "$bin" --config "$work/$name.yaml" >"$work/$name.log" 2>&1 &
  pids+=($!)
  printf -v "pid_$name" '%s' "$!"
  printf -v "port_$name" '%s' "$port"
}
start_daemon before "$BEFORE"
start_daemon after "$AFTER"

# Both have collected once when every collector of both reports success.
collected() { # port
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^pghealthd_collector_success\{/ { n++; ok += $NF } END { exit !(n >= 4 && ok == n) }'
}
deadline=$((SECONDS + 600))
until collected "$port_before" && collected "$port_after"; do
  [ $SECONDS -lt $deadline ] || die "no complete collection within 600 s"
  kill -0 "$pid_before" && kill -0 "$pid_after" || die "a daemon exited: see $work/*.log"
  sleep 1
done
sleep 2

csv="$bench/results/before_after.csv"
echo "binary,encoding,i,seconds,bytes,cpu_seconds" >"$csv"
one() { # name encoding i
  local pid port opts=() c0 c1 out
  pid=$(eval echo "\$pid_$1"); port=$(eval echo "\$port_$1")
  [ "$2" = gzip ] && opts=(-H 'Accept-Encoding: gzip')
  c0=$(proc_ticks "$pid")
  out=$(curl -sS --max-time 120 "${opts[@]}" -o /dev/null -w '%{time_total} %{size_download}' "http://127.0.0.1:$port/metrics")
  sleep 0.3  # freeing after the answer lands in this scrape's CPU
  c1=$(proc_ticks "$pid")
  set -- "$1" "$2" "$3" $out
  echo "$1,$2,$3,$4,$5,$(ticks_s "$c0" "$c1")" >>"$csv"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$scrapes"); do
  for enc in plain gzip; do
    one before "$enc" "$i"
    one after "$enc" "$i"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rss_before=$(hwm_mib "$pid_before"); rss_after=$(hwm_mib "$pid_after")

median() { # binary encoding column
  awk -F, -v b="$1" -v e="$2" -v c="$3" '$1 == b && $2 == e { print $c }' "$csv" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# CPU is counted in clock ticks (10 ms): a per-scrape median would be 0 or 1 tick, so CPU is the mean over
# every scrape of that binary and encoding.
mean() { # binary encoding column
  awk -F, -v b="$1" -v e="$2" -v c="$3" '$1 == b && $2 == e { t += $c; n++ } END { printf "%.4f\n", n ? t / n : 0 }' "$csv"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "n/a" }'; }

out="$bench/results/before_after.md"
{
  echo "# Before/after: two pghealthd binaries side by side"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)"
  echo "- command: \`BEFORE=$BEFORE AFTER=$AFTER bench/before_after.sh $n $scrapes\`"
  echo "- PostgreSQL $pgversion, $n tables; $scrapes scrapes per binary and encoding, alternating"
  echo "- load average (1, 5, 15 min): $load_before at the start of the scrapes, $load_after at the end"
  echo
  echo "| measure | before | after | after / before |"
  echo "| --- | ---: | ---: | ---: |"
  for enc in plain gzip; do
    b=$(median before "$enc" 4); a=$(median after "$enc" 4)
    echo "| scrape time, median (s), $enc | $b | $a | $(ratio "$b" "$a") |"
    b=$(mean before "$enc" 6); a=$(mean after "$enc" 6)
    echo "| exporter CPU per scrape, mean (s), $enc | $b | $a | $(ratio "$b" "$a") |"
    b=$(median before "$enc" 5); a=$(median after "$enc" 5)
    echo "| bytes, $enc | ${b%.*} | ${a%.*} | $(ratio "$b" "$a") |"
  done
  echo "| peak RSS (MiB) | $rss_before | $rss_after | $(ratio "$rss_before" "$rss_after") |"
} >"$out"
cat "$out"
