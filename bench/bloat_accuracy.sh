#!/usr/bin/env bash
# How close pghealthd's bloat estimate (collectors.bloat, method="estimate") comes to pgstattuple, and what
# the bloat collector costs the server.
#
#   bench/bloat_accuracy.sh [ROWS] [N] [RUNS]   default 100000 rows per table; the cost at 10000 tables
#                                               (0: skip it), 3 runs of each, alternating; medians
#
# Accuracy: a throwaway PostgreSQL (autovacuum off) gets one table per shape and deleted share: shapes
# int, bigint, text of 8, 32 and 200 bytes, text of varying width (0 to 399 bytes), nullable columns, a
# table with fillfactor 70, a uuid key, a multi-column index, and a low-cardinality index (10 values); each
# filled with ROWS rows (indexes created first, so random keys split pages as an application's inserts
# do), then 0%, 20%, 50%, 80% or 95% of its rows deleted at random, then VACUUM ANALYZE. pghealthd runs
# against it with only the bloat collector (its own SQL, kBloatSql, and its own arithmetic) and its
# /metrics are read. The exact figures, for the same relations:
#   table: what its live rows occupy (table_len - approx_free_space - dead_tuple_len, page headers and
#          line pointers included) blown up by its fill factor is what it needs; the rest of table_len is
#          wasted: max(0, 1 - (1 - (approx_free_space + dead_tuple_len) / table_len) x 100 / fillfactor),
#          from pgstattuple_approx() (with fill factor 100: the free and dead share);
#   btree index: max(0, 1 - avg_leaf_density / fillfactor) from pgstatindex() (its leaf pages only; the
#          "whole" column also counts its empty and deleted pages as wasted, as the estimate does).
# The error is estimate - exact, in percentage points.
#
# Cost: another database gets N tables of bench/common.sh's create_tables (three indexes and a sequence
# each, as bench/collectors.sh); pghealthd starts with only the bloat collector (interval 10m: it runs
# once, at start) and the server's CPU over that run is read from /proc (postmaster and children, reaped
# ones included); a connection alone (every collector disabled) is measured too and subtracted. Beside
# it, the same SQL through psql (the text of kBloatSql, cut from daemon/collectors/bloat.cpp), with
# pghealthd's session settings (jit off) and with the server's defaults (jit on: what running the query by
# hand costs). Both before and after an ANALYZE of every table: pg_stats rows are what the query joins.
#
# Environment: PGHEALTHD=PATH (default: a Release build in build-bench/, built if missing), BENCH_TMP.
# Writes bench/results/bloat_accuracy.md, bench/results/bloat_accuracy.csv (one line per relation) and
# bench/results/bloat_cost.csv (one line per run), with the date, the machine, the load average and the
# command.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
log() { printf '[bloat %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$bench/common.sh"

command_line="bench/bloat_accuracy.sh${*:+ $*}"
run_niced "$0" "$@"

rows=${1:-100000}
n=${2:-10000}
runs=${3:-3}
bench_binary
install_missing postgresql-15 postgresql-client-15 curl

make_work bloat
trap 'exit 130' INT TERM

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start_postgres
psql -X -q -c 'CREATE EXTENSION pgstattuple'

# --- accuracy ---------------------------------------------------------------------------------------------
shapes=(int bigint text8 text32 text200 varwidth nullable ff70 uuid multi lowcard)
levels=(0 20 50 80 95)

# The SQL that creates, fills and thins out table b_SHAPE_PCT. random() is seeded per table, so the keys
# and the deleted rows are the same from run to run (gen_random_uuid() is not seeded).
shape_sql() { # shape pct
  local t="b_$1_$2"
  echo "SELECT setseed(0.42);"
  case $1 in
    int)
      echo "CREATE TABLE $t (id int PRIMARY KEY, v int NOT NULL); CREATE INDEX ${t}_v ON $t (v);"
      echo "INSERT INTO $t SELECT g, (random() * 2e9 - 1e9)::int FROM generate_series(1, $rows) g;" ;;
    bigint)
      echo "CREATE TABLE $t (id bigint PRIMARY KEY, a bigint NOT NULL, b bigint NOT NULL); CREATE INDEX ${t}_b ON $t (b);"
      echo "INSERT INTO $t SELECT g, g * 7, (random() * 9e18)::bigint FROM generate_series(1, $rows) g;" ;;
    text8)
      echo "CREATE TABLE $t (id int PRIMARY KEY, s text NOT NULL); CREATE INDEX ${t}_s ON $t (s);"
      echo "INSERT INTO $t SELECT g, left(md5(g::text), 8) FROM generate_series(1, $rows) g;" ;;
    text32)
      echo "CREATE TABLE $t (id int PRIMARY KEY, s text NOT NULL); CREATE INDEX ${t}_s ON $t (s);"
      echo "INSERT INTO $t SELECT g, md5(g::text) FROM generate_series(1, $rows) g;" ;;
    text200)
      echo "CREATE TABLE $t (id int PRIMARY KEY, s text NOT NULL); CREATE INDEX ${t}_s ON $t (s);"
      echo "INSERT INTO $t SELECT g, left(repeat(md5(g::text), 7), 200) FROM generate_series(1, $rows) g;" ;;
    varwidth)
      echo "CREATE TABLE $t (id int PRIMARY KEY, s text NOT NULL);"
      echo "INSERT INTO $t SELECT g, repeat('x', (g * 7919) % 400) FROM generate_series(1, $rows) g;" ;;
    nullable)
      echo "CREATE TABLE $t (id int PRIMARY KEY, a int, b text, c bigint, d timestamptz NOT NULL);"
      echo "CREATE INDEX ${t}_b ON $t (b);"
      echo "INSERT INTO $t SELECT g, CASE WHEN random() < 0.5 THEN g END, CASE WHEN random() < 0.3 THEN NULL ELSE md5(g::text) END,"
      echo "  CASE WHEN random() < 0.1 THEN NULL ELSE g END, now() FROM generate_series(1, $rows) g;" ;;
    ff70)
      echo "CREATE TABLE $t (id int PRIMARY KEY, v int NOT NULL, s text NOT NULL) WITH (fillfactor = 70);"
      echo "INSERT INTO $t SELECT g, g, md5(g::text) FROM generate_series(1, $rows) g;" ;;
    uuid)
      echo "CREATE TABLE $t (id uuid PRIMARY KEY, v int NOT NULL);"
      echo "INSERT INTO $t SELECT gen_random_uuid(), g FROM generate_series(1, $rows) g;" ;;
    multi)
      echo "CREATE TABLE $t (id int PRIMARY KEY, a int NOT NULL, b text NOT NULL, c date NOT NULL); CREATE INDEX ${t}_ab ON $t (a, b);"
      echo "INSERT INTO $t SELECT g, (random() * 1000)::int, left(md5(g::text), 16), date '2026-01-01' + g % 365 FROM generate_series(1, $rows) g;" ;;
    lowcard)
      echo "CREATE TABLE $t (id int PRIMARY KEY, status int NOT NULL); CREATE INDEX ${t}_status ON $t (status);"
      echo "INSERT INTO $t SELECT g, (random() * 9)::int FROM generate_series(1, $rows) g;" ;;
    *) die "unknown shape $1" ;;
  esac
  echo "SELECT setseed(0.$2 + 0.01); DELETE FROM $t WHERE random() < $2 / 100.0;"
}

log "creating ${#shapes[@]} shapes x ${#levels[@]} deleted shares of $rows rows"
t0=$(now)
for s in "${shapes[@]}"; do
  for p in "${levels[@]}"; do shape_sql "$s" "$p"; done
done | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
# A session hands its row counts to the shared statistics when idle, at most once a second, and when it
# ends: an ANALYZE before they arrive would leave them counted as changes since it, and the estimate would
# (rightly) call the statistics stale. So VACUUM ANALYZE once every insert is counted.
stat_sum() { psql -X -A -t -c "SELECT coalesce(sum($1), 0) FROM pg_stat_user_tables WHERE relname LIKE 'b\_%'"; }
deadline=$((SECONDS + 60))
until [ "$(stat_sum n_tup_ins)" = "$((${#shapes[@]} * ${#levels[@]} * rows))" ]; do
  [ $SECONDS -lt $deadline ] || die "the inserts never reached pg_stat_user_tables"
  sleep 0.2
done
for s in "${shapes[@]}"; do
  for p in "${levels[@]}"; do echo "VACUUM ANALYZE b_${s}_$p;"; done
done | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
until [ "$(stat_sum n_mod_since_analyze)" = 0 ]; do
  [ $SECONDS -lt $deadline ] || die "rows still counted as modified after ANALYZE"
  sleep 0.2
done
log "created in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"

# pghealthd with only the bloat collector (10m: it runs once, at start), or none ("none": a connection
# and nothing else), on database DBNAME; listening on PORT.
bloat_config() { # port dbname interval|none
  echo "listen: \"127.0.0.1:$1\""
  echo "log_level: debug"
  echo "connection: {statement_timeout: 300s}"
  echo "collectors:"
  local c
  for c in stat_user_tables statio_user_tables stat_user_indexes xmin_horizon vacuum_progress freeze sequences; do
    echo "  $c: {enabled: false}"
  done
  if [ "$3" = none ]; then echo "  bloat: {enabled: false}"; else echo "  bloat: {interval: $3}"; fi
  echo "targets:"
  echo "  - name: bench"
  echo "    conninfo: \"host=$PGHOST port=$PGPORT user=postgres dbname=$2 application_name=pghealthd\""
}

# Starts pghealthd on DBNAME and waits for its bloat collector's first run (or, with "none", for its
# connection); sets port and daemon_pid. The caller stops it.
start_daemon() { # dbname interval|none logfile
  port=$(free_port)
  bloat_config "$port" "$1" "$2" >"$work/pghealthd.yaml"
  "$PGHEALTHD" --config "$work/pghealthd.yaml" 2>"$3" &
  daemon_pid=$!
  local deadline=$((SECONDS + 600)) pattern=" collected .*collector=bloat "
  [ "$2" = none ] && pattern="connected to database"
  until grep -q "$pattern" "$3" 2>/dev/null; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$3" >&2; die "pghealthd exited"; }
    [ $SECONDS -lt $deadline ] || die "the bloat collector took more than 600 s"
    sleep 0.01
  done
}
stop_daemon() {
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
}

log "reading pghealthd's estimates"
start_daemon postgres 10m "$work/accuracy.log"
curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
stop_daemon
grep -q '^pghealthd_table_bloat_ratio{' "$work/metrics.txt" || die "no pghealthd_table_bloat_ratio in /metrics"
# "kind name ratio" per estimated relation (i: an index, by its name; t: a table), then the unestimated.
sed -n -e 's/^pghealthd_table_bloat_ratio{.*relname="\([^"]*\)".*method="estimate".*} \(.*\)$/t \1 \2/p' \
  -e 's/^pghealthd_index_bloat_ratio{.*indexrelname="\([^"]*\)".*method="estimate".*} \(.*\)$/i \1 \2/p' \
  "$work/metrics.txt" >"$work/estimates.txt"
unestimated=$(grep '^pghealthd_bloat_unestimated{' "$work/metrics.txt" | sed 's/.*reason="\([^"]*\)".*} \(.*\)/\1=\2/' | paste -sd' ' -)

log "reading pgstattuple_approx and pgstatindex"
psql -X -A -t -F, -v ON_ERROR_STOP=1 >"$work/exact.txt" <<'SQL'
-- t,table,table,size,ratio,,  and  i,index,table,size,ratio,whole,freed_pages
WITH t AS (
  SELECT c.oid, c.relname,
         coalesce((SELECT o.option_value::int FROM pg_options_to_table(c.reloptions) o
                    WHERE o.option_name = 'fillfactor'), 100) AS ff
    FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'b\_%')
SELECT 't', t.relname, t.relname, a.table_len,
       round(greatest(0, 1 - (1 - (a.approx_free_space + a.dead_tuple_len)::numeric / nullif(a.table_len, 0))
                             * 100 / t.ff), 4), NULL::numeric, NULL::bigint
  FROM t, LATERAL pgstattuple_approx(t.oid) a
UNION ALL
SELECT 'i', ic.relname, tc.relname, s.index_size,
       round(greatest(0, 1 - s.avg_leaf_density / ff.ff)::numeric, 4),
       round(((s.leaf_pages * greatest(0, 1 - s.avg_leaf_density / ff.ff) + s.empty_pages + s.deleted_pages)
              / nullif(s.index_size / 8192.0, 0))::numeric, 4),
       s.empty_pages + s.deleted_pages
  FROM pg_index x
  JOIN pg_class ic ON ic.oid = x.indexrelid
  JOIN pg_class tc ON tc.oid = x.indrelid
  JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
 CROSS JOIN LATERAL (SELECT coalesce((SELECT o.option_value::int FROM pg_options_to_table(ic.reloptions) o
                                       WHERE o.option_name = 'fillfactor'), 90) AS ff) ff
 CROSS JOIN LATERAL pgstatindex(ic.oid::regclass) s
 WHERE tc.relnamespace = 'public'::regnamespace AND tc.relname LIKE 'b\_%'
 ORDER BY 1 DESC, 3, 2;
SQL

csv="$bench/results/bloat_accuracy.csv"
echo "kind,relation,table,shape,deleted_pct,size_bytes,estimate,exact,error_pp,exact_whole,freed_pages" >"$csv"
awk -F, -v OFS=, '
  NR == FNR { split($0, w, " "); est[w[1] "," w[2]] = w[3]; next }
  {
    kind = $1 == "t" ? "table" : "index"
    n = split($3, p, "_"); shape = p[2]; for (i = 3; i < n; i++) shape = shape "_" p[i]; pct = p[n]
    key = $1 "," $2
    e = key in est ? sprintf("%.4f", est[key]) : ""
    err = e == "" ? "" : sprintf("%.1f", 100 * (est[key] - $5))
    print kind, $2, $3, shape, pct, $4, e, $5, err, $6, $7
  }' "$work/estimates.txt" "$work/exact.txt" >>"$csv"

# --- cost -------------------------------------------------------------------------------------------------
cost_csv="$bench/results/bloat_cost.csv"
echo "what,statistics,i,seconds,postgres_cpu_s,rows" >"$cost_csv"
bloat_sql="$work/bloat.sql"
sed -n '/kBloatSql = R"SQL(/,/^)SQL";/p' "$root/daemon/collectors/bloat.cpp" | sed '1d;$d' >"$bloat_sql"
grep -q 'pg_stats' "$bloat_sql" || die "could not cut kBloatSql out of daemon/collectors/bloat.cpp"

# One run of pghealthd's bloat collector ("none": a connection alone) on database cost.
cost_daemon() { # bloat|none statistics i
  local p0 p1 secs="" rowcount=""
  p0=$(pg_ticks)
  if [ "$1" = none ]; then start_daemon cost none "$work/cost.log"; else start_daemon cost 10m "$work/cost.log"; fi
  sleep 0.5
  p1=$(pg_ticks)
  stop_daemon
  sleep 0.5
  if [ "$1" = bloat ]; then
    secs=$(grep -o ' collected .*collector=bloat .*seconds=[0-9.]*' "$work/cost.log" | sed 's/.*seconds=//' | head -n1)
    rowcount=$(grep -o ' collected .*collector=bloat rows=[0-9]*' "$work/cost.log" | sed 's/.*rows=//' | head -n1)
  fi
  echo "pghealthd $1,$2,$3,$secs,$(ticks_s "$p0" "$p1"),$rowcount" >>"$cost_csv"
}
# The same SQL through psql, with the server's default settings ("psql kBloatSql") and with pghealthd's
# session settings ("psql kBloatSql jit off": jit off, statistics read as one snapshot); and psql's
# connection alone.
cost_psql() { # statistics i
  local p0 p1 t0 t1 count what options
  for what in "psql kBloatSql" "psql kBloatSql jit off"; do
    options=""
    [ "$what" = "psql kBloatSql jit off" ] && options="-c jit=off -c stats_fetch_consistency=snapshot"
    p0=$(pg_ticks); t0=$(now)
    count=$(PGOPTIONS="$options" psql -X -A -t -q -d cost -f "$bloat_sql" | wc -l)
    t1=$(now); sleep 0.3; p1=$(pg_ticks)
    echo "$what,$1,$2,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'),$(ticks_s "$p0" "$p1"),$count" >>"$cost_csv"
  done
  p0=$(pg_ticks); psql -X -q -d cost -c 'SELECT 1' >/dev/null; sleep 0.3; p1=$(pg_ticks)
  echo "psql connection,$1,$2,,$(ticks_s "$p0" "$p1")," >>"$cost_csv"
}

if [ "$n" -gt 0 ]; then
  psql -X -q -c 'CREATE DATABASE cost'
  log "creating $n tables, three indexes and a sequence each, in database cost"
  create_tables cost "$n" index_health
  for statistics in never_analyzed analyzed; do
    if [ "$statistics" = analyzed ]; then
      log "analyzing them"
      psql -X -q -d cost -c 'ANALYZE'
    fi
    for i in $(seq "$runs"); do
      log "cost, $statistics, run $i of $runs"
      cost_daemon none "$statistics" "$i"
      cost_daemon bloat "$statistics" "$i"
      cost_psql "$statistics" "$i"
    done
  done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------------------------------
median() { # what statistics column
  awk -F, -v w="$1" -v s="$2" -v c="$3" '$1 == w && $2 == s && $c != "" { print $c }' "$cost_csv" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a - b }'; }

# Mean and worst absolute error, and the mean signed error, of one kind (table or index), over the rows
# whose relation matches REGEX (by shape).
summary_row() { # kind label shape-regex
  awk -F, -v k="$1" -v label="$2" -v re="$3" '
    NR > 1 && $1 == k && $4 ~ re && $9 != "" {
      n++; a = $9 < 0 ? -$9 : $9; sum += a; bias += $9
      if (a > worst) { worst = a; which = $2 " (" $9 ")" }
    }
    NR > 1 && $1 == k && $4 ~ re && $9 == "" { missing++ }
    END {
      if (n == 0) { printf "| %s | 0 | - | - | - | %d |\n", label, missing; exit }
      printf "| %s | %d | %.1f | %.1f | %.1f, %s | %d |\n", label, n, sum / n, bias / n, worst, which, missing
    }' "$csv"
}

out="$bench/results/bloat_accuracy.md"
{
  echo "# Bloat estimate against pgstattuple, and the bloat collector's cost"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line)"
  echo "- command: \`$command_line\`; $(pghealthd_line)"
  echo "- PostgreSQL $pgversion (throwaway cluster, autovacuum off, \`fsync=off\`); $rows rows per table before the deletes"
  echo "- load average (1, 5, 15 min): $load_start at the start, $load_end at the end"
  echo "- pghealthd's own unestimated counts on the accuracy database: $unestimated"
  echo
  echo "Method: see the header of \`bench/bloat_accuracy.sh\`. Estimate: pghealthd's \`pghealthd_table_bloat_ratio\`"
  echo "and \`pghealthd_index_bloat_ratio\` (method=\"estimate\") from its /metrics. Exact: a table's"
  echo "\`1 - (1 - (approx_free_space + dead_tuple_len) / table_len) x 100 / fillfactor\` (\`pgstattuple_approx\`: the"
  echo "free and dead share when the fill factor is 100; what the live rows occupy, at their fill factor, is needed); a btree"
  echo "index's \`1 - avg_leaf_density / fillfactor\` (\`pgstatindex\`, leaf pages only), and in column \"whole\" the"
  echo "same with its empty and deleted pages counted as wasted too. Error = estimate - exact, in percentage"
  echo "points (pp); mean and worst are of its absolute value, bias is its mean."
  echo
  echo "## Summary"
  echo
  echo "| relations | n | mean error (pp) | bias (pp) | worst error (pp), where | without an estimate |"
  echo "| --- | ---: | ---: | ---: | --- | ---: |"
  summary_row table "tables, all shapes" '.'
  summary_row index "btree indexes, all shapes" '.'
  summary_row index "btree indexes, all but lowcard" '^(int|bigint|text8|text32|text200|varwidth|nullable|ff70|uuid|multi)$'
  echo
  echo "By shape:"
  echo
  echo "| relations | n | mean error (pp) | bias (pp) | worst error (pp), where | without an estimate |"
  echo "| --- | ---: | ---: | ---: | --- | ---: |"
  for s in "${shapes[@]}"; do summary_row table "tables $s" "^$s\$"; done
  for s in "${shapes[@]}"; do
    grep -q "^index,[^,]*,[^,]*,$s," "$csv" && summary_row index "indexes $s" "^$s\$"
  done
  echo
  if [ "$n" -gt 0 ]; then
    base=$(median "pghealthd none" never_analyzed 5)
    psql_base=$(median "psql connection" never_analyzed 5)
    echo "## Cost at $n tables"
    echo
    echo "$n tables with $((n * 3 + n / 10)) indexes and $n sequences (\`create_tables\` of bench/common.sh, as"
    echo "bench/collectors.sh), $runs runs of each, alternating; medians. A connection alone costs the server"
    echo "$base s (pghealthd's) and $psql_base s (psql's); the CPU below has it subtracted (10 ms ticks)."
    echo
    echo "| what | statistics | rows | duration (s) | PostgreSQL CPU per run (s) |"
    echo "| --- | --- | ---: | ---: | ---: |"
    for statistics in never_analyzed analyzed; do
      echo "| pghealthd collector \`bloat\` | $statistics | $(median "pghealthd bloat" $statistics 6) | $(median "pghealthd bloat" $statistics 4) | $(minus "$(median "pghealthd bloat" $statistics 5)" "$(median "pghealthd none" $statistics 5)") |"
      echo "| psql, the text of \`kBloatSql\`, pghealthd's session settings (jit off) | $statistics | $(median "psql kBloatSql jit off" $statistics 6) | $(median "psql kBloatSql jit off" $statistics 4) | $(minus "$(median "psql kBloatSql jit off" $statistics 5)" "$(median "psql connection" $statistics 5)") |"
      echo "| psql, the text of \`kBloatSql\`, the server's defaults (jit on) | $statistics | $(median "psql kBloatSql" $statistics 6) | $(median "psql kBloatSql" $statistics 4) | $(minus "$(median "psql kBloatSql" $statistics 5)" "$(median "psql connection" $statistics 5)") |"
    done
    echo
  fi
  if [ -f "$bench/results/bloat_accuracy.notes.md" ]; then cat "$bench/results/bloat_accuracy.notes.md"; echo; fi
  echo "## Every relation"
  echo
  echo "| relation | shape | deleted | size | estimate | exact | error (pp) | whole | empty + deleted pages |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F, 'NR > 1 {
    size = $6 >= 1048576 ? sprintf("%.1f MiB", $6 / 1048576) : sprintf("%.0f KiB", $6 / 1024)
    printf "| %s%s | %s | %s%% | %s | %s | %s | %s | %s | %s |\n",
      $1 == "index" ? "index " : "", $2, $4, $5, size, $7 == "" ? "none" : sprintf("%.1f%%", 100 * $7),
      sprintf("%.1f%%", 100 * $8), $9 == "" ? "-" : $9, $10 == "" ? "-" : sprintf("%.1f%%", 100 * $10), $11 == "" ? "-" : $11
  }' "$csv"
} >"$out"
cat "$out"
