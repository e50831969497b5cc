# Helpers shared by bench/run.sh, bench/many_databases.sh and bench/isolation.sh (sourced; they set $root,
# log and die).

hz=$(getconf CLK_TCK)

install_missing() { # Debian packages, installed when absent (as bench/run.sh)
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Sets PGHEALTHD: the given binary, or a Release build in build-bench-dbs/ (built once; delete it, or set
# PGHEALTHD, to measure newer code).
pghealthd_binary() {
  if [ -z "${PGHEALTHD:-}" ]; then
    PGHEALTHD="$root/build-bench-dbs/daemon/pghealthd"
    if [ ! -x "$PGHEALTHD" ]; then
      log "building pghealthd (Release) into build-bench-dbs/"
      "$root/scripts/install-deps"
      cmake -S "$root" -B "$root/build-bench-dbs" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPGHEALTHD_BUILD_TESTS=OFF >/dev/null
      ninja -C "$root/build-bench-dbs" -j1 pghealthd >/dev/null
    fi
  fi
  [ -x "$PGHEALTHD" ] || die "no pghealthd binary at $PGHEALTHD"
}

# Sets PGHEALTHD: the given binary, or a Release build in build-bench/ (built if missing).
bench_binary() {
  if [ -z "${PGHEALTHD:-}" ]; then
    PGHEALTHD="$root/build-bench/daemon/pghealthd"
    if [ ! -x "$PGHEALTHD" ]; then
      log "building pghealthd (Release) into build-bench/"
      cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPGHEALTHD_BUILD_TESTS=OFF >/dev/null
      ninja -C "$root/build-bench" pghealthd >/dev/null
    fi
  fi
  [ -x "$PGHEALTHD" ] || die "no pghealthd binary at $PGHEALTHD"
}

# Sets work: a directory for one run (NAME in its name) that the postgres user can reach. When the script
# exits, the pghealthd of $daemon_pid is stopped, the throwaway PostgreSQL in $work/pg too, and it is removed.
make_work() { # name
  work=$(mktemp -d "${BENCH_TMP:-/tmp}/pghealthd-$1.XXXXXX")
  chmod 755 "$work"
  daemon_pid=""
  trap remove_work EXIT
}
remove_work() {
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null || true
  "$root/scripts/pg-throwaway" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}

# CPU ticks (utime + stime) of one process; of PostgreSQL (postmaster and children, reaped ones included).
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
pg_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$postmaster" '
    { pid = $1; sub(/^.*\) /, "") }
    pid == pm || $2 == pm { t += $12 + $13 + $14 + $15 }
    END { print t + 0 }'
}
ticks_s() { awk -v a="$1" -v b="$2" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
hwm_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
now() { echo "$EPOCHREALTIME"; }
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port on 127.0.0.1"
}

# A throwaway PostgreSQL (autovacuum off) in $work/pg; sets pgdir, postmaster, pgversion and the PG* vars.
start_postgres() {
  pgdir="$work/pg"
  log "starting PostgreSQL in $pgdir"
  PG_AUTOVACUUM=off "$root/scripts/pg-throwaway" start "$pgdir" "$((50000 + RANDOM % 10000))"
  # shellcheck disable=SC1090,SC1091
  . "$pgdir/env"
  export PGHOST PGPORT PGUSER PGDATABASE=postgres
  postmaster=$(head -n1 "$pgdir/data/postmaster.pid")
  pgversion=$(psql -X -A -t -c 'SHOW server_version')
}

# N tables in database DB, the shape of bench/run.sh's: id primary key + one secondary index; every 4th
# with 100 rows, every 8th with a third of them deleted. Transactions of 500 tables. With EXTRA "index_health"
# (bench/collectors.sh), also a third index per table (on note; every 10th table a duplicate of its v index
# too, so redundancy is judged on real rows) and a sequence owned by each table's id, set within its range.
create_tables() { # db n [extra]
  awk -v n="$2" -v batch=500 -v extra="${3:-}" 'BEGIN {
    print "SET client_min_messages = warning;"
    for (i = 1; i <= n; i++) {
      if ((i - 1) % batch == 0) print "BEGIN;"
      t = sprintf("public.t_%06d", i)
      printf "CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text);\n", t
      printf "CREATE INDEX t_%06d_v_idx ON %s (v);\n", i, t
      if (i % 4 == 0) {
        printf "INSERT INTO %s SELECT g, g %% 10, md5(g::text) FROM generate_series(1, 100) g;\n", t
        if (i % 8 == 0) printf "DELETE FROM %s WHERE id %% 3 = 0;\n", t
      }
      if (extra == "index_health") {
        printf "CREATE INDEX t_%06d_note_idx ON %s (note);\n", i, t
        if (i % 10 == 0) printf "CREATE INDEX t_%06d_v_idx1 ON %s (v);\n", i, t
        printf "CREATE SEQUENCE t_%06d_seq OWNED BY %s.id;\n", i, t
        printf "SELECT setval(%ct_%06d_seq%c, %d);\n", 39, i, 39, i * 1000
      }
      if (i % batch == 0 || i == n) print "COMMIT;"
    }
  }' | psql -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null
}

# pghealthd's client backends, sampled every 50 ms by one psql session into FILE as "epoch count"
# lines; sets sampler_pid.
ours="application_name = 'pghealthd' AND backend_type = 'client backend'"
start_sampler() { # file
  echo "SELECT extract(epoch FROM clock_timestamp())::numeric(16,3), count(*) FILTER (WHERE $ours) FROM pg_stat_activity \\watch 0.05" |
    psql -X -A -t -F' ' >"$1" 2>/dev/null &
  sampler_pid=$!
}
stop_sampler() {
  if [ -n "${sampler_pid:-}" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
  sampler_pid=""
}
most_backends() { # file from to
  awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b && $2 > m { m = $2 } END { print m + 0 }' "$1"
}

# The log's "collected" lines as "start_epoch end_epoch datname collector seconds" (start = end - seconds).
# Log times look like 2026-12-02T00:10:00.123+0000.
collections() {
  grep ' collected target=' "$1" | TZ=UTC awk '
    {
      split($1, dt, "T"); split(dt[1], d, "-")
      tz = substr(dt[2], length(dt[2]) - 4); tm = substr(dt[2], 1, length(dt[2]) - 5)
      split(tm, t, ":")
      off = (substr(tz, 2, 2) * 3600 + substr(tz, 4, 2) * 60) * (substr(tz, 1, 1) == "-" ? -1 : 1)
      end = mktime(d[1] " " d[2] " " d[3] " " t[1] " " t[2] " 0") + t[3] - off
      for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      printf "%.3f %.3f %s %s %s\n", end - f["seconds"], end, f["datname"], f["collector"], f["seconds"]
    }'
}

# The q-quantile (nearest rank) of the numbers on stdin; "-" when there are none.
quantile() {
  sort -g | awk -v q="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(q * (NR - 1) + 0.5) + 1; print v[i] }'
}
ms() { awk -v s="$1" 'BEGIN { if (s == "-" || s == "") print "-"; else printf "%.1f", s * 1000 }'; }

machine_line() {
  echo "$(nproc) CPUs (nproc); $(free -g | awk '/^Mem:/ {print $2}') GiB RAM (free -g); Linux $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME"); load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (a machine shared with other work)"
}
pghealthd_line() {
  echo "$("$PGHEALTHD" --version 2>&1 | head -n1); binary ${PGHEALTHD#"$root/"} built $(date -u -r "$PGHEALTHD" '+%Y-%m-%d %H:%M UTC'); work tree at git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}

# Re-runs the calling script under `nice -n 10`, once: call as `run_niced "$0" "$@"` (execs the first time).
run_niced() {
  [ -n "${PGHEALTHD_BENCH_NICED:-}" ] && return 0
  export PGHEALTHD_BENCH_NICED=1
  exec nice -n 10 "$@"
}

# Whether a pghealthd binary accepts a piece of configuration (YAML lines beside listen and targets): it
# rejects unknown keys, so this tells which collectors and sections a binary has. Connects to nothing.
pghealthd_accepts() { # binary yaml
  local f
  f=$(mktemp)
  printf 'listen: "127.0.0.1:1"\n%s\ntargets: [{name: probe, conninfo: "host=/nonexistent"}]\n' "$2" >"$f"
  if "$1" --check-config --config "$f" >/dev/null 2>&1; then rm -f "$f"; return 0; fi
  rm -f "$f"; return 1
}
# Every collector pghealthd has had, in the order of config/pghealthd.yaml; known_collectors BINARY prints
# those the binary knows, one a line.
all_collectors=(stat_user_tables statio_user_tables stat_user_indexes xmin_horizon vacuum_progress freeze sequences bloat)
known_collectors() { # binary
  local c
  for c in "${all_collectors[@]}"; do
    if pghealthd_accepts "$1" "collectors: {$c: {enabled: true}}"; then echo "$c"; fi
  done
}

# pghealthd's configuration with every collector at a 10m interval, so that it collects once, at start:
# listening on PORT, watching database DBNAME of the throwaway PostgreSQL (start_postgres). The collectors
# are those of the array once_kinds when the caller sets it (bench/run.sh: all the binary knows, so that
# none runs at its default interval beside them), else the seven below.
once_config() { # port dbname
  local c kinds=(stat_user_tables statio_user_tables stat_user_indexes xmin_horizon vacuum_progress freeze sequences)
  if [ -n "${once_kinds+x}" ]; then kinds=("${once_kinds[@]}"); fi
  cat <<YAML
listen: "127.0.0.1:$1"
log_level: debug
connection:
  statement_timeout: 60s
collectors:
YAML
  for c in "${kinds[@]}"; do echo "  $c: {interval: 10m}"; done
  cat <<YAML
targets:
  - name: bench
    conninfo: "host=$PGHOST port=$PGPORT user=postgres dbname=$2 application_name=pghealthd"
YAML
}
once_collectors=7  # in once_config without once_kinds

# How many collectors have logged a run in pghealthd's log FILE, each counted once (they may finish in
# any order: the slowest starts first and the others run beside it on spare connections).
collected_kinds() { # file
  { grep -o ' collected .*collector=[a-z_]*' "$1" 2>/dev/null || true; } | sed 's/.*collector=//' | sort -u | wc -l
}
