#!/usr/bin/env bash
# Rewrites bench/RESULTS.md and bench/scrape_time_rss.png from bench/results.csv (bench/run.sh calls it).
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
csv="$bench/results.csv"
[ -f "$csv" ] || { echo "report.sh: no $csv: run bench/run.sh first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk -v dat="$tmp/plot.dat" -f "$bench/report.awk" "$csv" >"$tmp/RESULTS.md"
# Hand-written observations about the latest run, if any, go at the end.
if [ -f "$bench/observations.md" ]; then
  { echo; cat "$bench/observations.md"; } >>"$tmp/RESULTS.md"
fi
mv "$tmp/RESULTS.md" "$bench/RESULTS.md"

command -v gnuplot >/dev/null || { echo "report.sh: gnuplot missing (apt-get install gnuplot-nox): no plot" >&2; exit 0; }
gnuplot <<GP
set terminal pngcairo size 1200,500 font ",11"
set output "$bench/scrape_time_rss.png"
set datafile missing "NaN"
set multiplot layout 1,2 title "pghealthd vs prometheus-postgres-exporter (per-table queries), by number of tables"
set logscale xy
set offsets graph 0.05, graph 0.05, 0, 0
set grid
set key bottom right
set xlabel "tables (N)"
set ylabel "scrape time, median (s)"
set format y "%g"
plot "$tmp/plot.dat" using 1:2 with linespoints lw 2 pt 7 title "pghealthd", \
     "" using 1:3 with linespoints lw 2 pt 5 title "prometheus-postgres-exporter"
set ylabel "peak RSS (MiB)"
plot "$tmp/plot.dat" using 1:4 with linespoints lw 2 pt 7 title "pghealthd", \
     "" using 1:5 with linespoints lw 2 pt 5 title "prometheus-postgres-exporter"
unset multiplot
GP
