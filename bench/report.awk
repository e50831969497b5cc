# Turns bench/results.csv into bench/RESULTS.md (stdout) and the plot's data file (-v dat=PATH).
# Columns: n,exporter,kind,i,wall_s,bytes,series,exporter_cpu_s,exporter_user_s,exporter_sys_s,
#          postgres_cpu_s,rss_kib,note
BEGIN { FS = "," }
NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
{
  n = $1 + 0; e = $2; k = $3
  if (!(n in seen)) { seen[n] = 1; ns[++nn] = n }
  if (k == "meta") { meta[n, $4] = $NF; next }
  if (k == "rss_phase") { phase[n, e, $4] = $col["rss_kib"]; next }
  if (k == "collector_run") {
    if (!((n, $4) in crun_wall)) crun_names[n] = crun_names[n] " " $4
    crun_wall[n, $4] = $col["wall_s"]; crun_pg[n, $4] = $col["postgres_cpu_s"]; crun_note[n, $4] = $NF; next
  }
  if ($NF != "") note[n, e, k] = $NF
  for (c = 5; c < NF; c++) if ($c != "") { key = n SUBSEP e SUBSEP k SUBSEP c; cnt[key]++; val[key, cnt[key]] = $c + 0 }
}

function has(n, e, k, c) { return cnt[n, e, k, col[c]] > 0 }
function agg(n, e, k, c, fn,   key, m, i, j, a, t) {
  key = n SUBSEP e SUBSEP k SUBSEP col[c]; m = cnt[key]
  if (m == 0) return ""
  for (i = 1; i <= m; i++) a[i] = val[key, i]
  for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  if (fn == "max") return a[m]
  if (fn == "min") return a[1]
  return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
function ftime(s) {
  if (s == "") return "—"
  if (s < 0.01) return sprintf("%.2f ms", s * 1000)
  if (s < 1) return sprintf("%.1f ms", s * 1000)
  return sprintf("%.2f s", s)
}
function fcpu(s) { if (s == "") return "—"; if (s == 0) return "< 0.01 s"; return sprintf("%.2f s", s) }
function fbytes(b) {
  if (b == "") return "—"
  if (b >= 1e6) return sprintf("%.1f MB", b / 1e6)
  if (b >= 1e3) return sprintf("%.1f kB", b / 1e3)
  return sprintf("%d B", b)
}
function fint(x,   s, r) {
  if (x == "") return "—"
  s = sprintf("%d", x); r = ""
  while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  return s r
}
function split_cpu(n, e, k) {
  if (!has(n, e, k, "exporter_user_s")) return ""
  return sprintf(" (user %.2f + sys %.2f)", agg(n, e, k, "exporter_user_s"), agg(n, e, k, "exporter_sys_s"))
}
function fmib(k) { if (k == "") return "—"; return sprintf("%.1f MiB", k / 1024) }
# a / b as "1/x" or "x×"; CPU readings of 0 are below one tick (0.01 s)
function fratio(a, b, tick,   r, lt) {
  if (a == "" || b == "" || b == 0) return "—"
  lt = ""
  if (a == 0 && tick) { a = 0.01; lt = "< " }
  r = a / b
  if (r <= 0) return "0"
  if (r < 1) return sprintf("%s1/%s", lt, r < 0.1 ? sprintf("%.0f", 1 / r) : sprintf("%.1f", 1 / r))
  return sprintf("%s%.1f×", lt, r)
}
function verdict(r, target,   f) {
  if (r == "") return "not measured"
  if (r <= target) {
    f = (r > 0) ? target / r : 0
    return (r > 0) ? sprintf("**met**, %.1f× better than the target", f) : "**met**"
  }
  return sprintf("**missed**, %.1f× over the target", r / target)
}
function peerof(n) { return has(n, "peer", "scrape", "wall_s") }
function fcpu3(s) { if (s == "") return "—"; return sprintf("%.3f s", s) }
# The number after "key=" in a note.
function notenum(s, key) {
  if (match(s, "(^|[ ;])" key "=[0-9.]+")) { s = substr(s, RSTART, RLENGTH); sub(/.*=/, "", s); return s + 0 }
  return ""
}
# The idle server's PostgreSQL CPU per second (background processes), 0 when not measured.
function idle_rate(n,   w) {
  if (!has(n, "postgres", "idle", "wall_s")) return 0
  w = agg(n, "postgres", "idle", "wall_s")
  return w > 0 ? agg(n, "postgres", "idle", "postgres_cpu_s") / w : 0
}
# A window's PostgreSQL CPU with the idle server's over the same time taken away, never below 0.
function net(n, e, k,   v) {
  if (!has(n, e, k, "wall_s")) return ""
  v = agg(n, e, k, "postgres_cpu_s") - idle_rate(n) * agg(n, e, k, "wall_s")
  return v < 0 ? 0 : v
}
# PostgreSQL CPU per steady-state cycle (the three statistics collectors), idle subtracted.
# The steady-state phase's cycles, "" when it was not run.
function steady_cycles(n,   c) {
  c = notenum(note[n, "pghealthd", "steady"], "cycles")
  return (!has(n, "pghealthd", "steady", "wall_s") || c == "" || c <= 0) ? "" : c
}
function steady_cycle(n,   c) {
  c = steady_cycles(n)
  return c == "" ? "" : net(n, "pghealthd", "steady") / c
}
# PostgreSQL CPU per run of a collector measured alone, idle subtracted.
function other_run(n, c,   r, v) {
  if (!((n, c) in crun_wall)) return ""
  r = notenum(crun_note[n, c], "runs")
  if (r == "" || r <= 0) return ""
  v = crun_pg[n, c] - idle_rate(n) * crun_wall[n, c]
  return (v < 0 ? 0 : v) / r
}
# PostgreSQL CPU per minute of pghealthd at its default schedules (plus bloat's hourly run, when it was
# left out of the window), or of the peer scraped every 15 s; idle subtracted.
function ph_minute(n, kind,   v, b) {
  if (kind == "") kind = "minute"
  if (!has(n, "pghealthd", kind, "wall_s")) return ""
  v = net(n, "pghealthd", kind) * 60 / agg(n, "pghealthd", kind, "wall_s")
  if (index(note[n, "pghealthd", kind], "bloat disabled") && (b = other_run(n, "bloat")) != "") v += b / 60
  return v
}
# Which window pghealthd's "minute" row is: the second period (runs since 2026-12-06) or from process start.
function minute_window(n) {
  if (index(note[n, "pghealthd", "minute"], "second period")) return sprintf("the second %.0f-s period after process start", agg(n, "pghealthd", "minute", "wall_s"))
  return sprintf("%.0f s from process start", agg(n, "pghealthd", "minute", "wall_s"))
}
function peer_minute(n) {
  if (!has(n, "peer", "minute", "wall_s")) return ""
  return net(n, "peer", "minute") * 60 / agg(n, "peer", "minute", "wall_s")
}
# One of pghealthd's costs at N, for the growth table: "KIND COLUMN" of the csv, or "steady".
function cost(n, spec,   f) {
  if (spec == "steady") return steady_cycle(n)
  split(spec, f, " ")
  return agg(n, "pghealthd", f[1], f[2])
}
function load1(n, w,   f) { split(meta[n, w], f, " "); return f[1] }

END {
  for (i = 2; i <= nn; i++) { t = ns[i]; for (j = i - 1; j >= 1 && ns[j] > t; j--) ns[j + 1] = ns[j]; ns[j + 1] = t }
  last = ns[nn]
  load_warn = 1.5  # a 1-minute load average above this is said beside the verdicts
  print "# pghealthd vs prometheus-postgres-exporter: benchmark results"
  print ""
  print "Generated by `bench/run.sh` (raw numbers: `bench/results.csv`; plot: `bench/scrape_time_rss.png`)."
  print ""
  print "- **Machine:** " meta[last, "machine"]
  print "- **PostgreSQL:** " meta[last, "postgresql"] " (throwaway cluster, Unix socket, `fsync=off`, autovacuum off)"
  print "- **pghealthd:** " meta[last, "pghealthd"]
  for (i = nn; i >= 1; i--) if (meta[ns[i], "peer"] != "") { print "- **Peer:** " meta[ns[i], "peer"] " (Debian package `prometheus-postgres-exporter`), per-table queries of `bench/queries.yaml` via `--extend.query-path`, default metrics on"; break }
  print "- **Runs** (load average: 1, 5 and 15 minutes, from `/proc/loadavg` at the start and the end of each N's measurement):"
  for (i = 1; i <= nn; i++) {
    k2 = meta[ns[i], "date"] " / `" meta[ns[i], "command"] "`"
    ld = (meta[ns[i], "load_start"] != "") ? "N = " fint(ns[i]) ": " meta[ns[i], "load_start"] " → " meta[ns[i], "load_end"] : ""
    if (!(k2 in runs)) { runs[k2] = fint(ns[i]); loads[k2] = ld; order[++nr] = k2 }
    else { runs[k2] = runs[k2] ", " fint(ns[i]); if (ld != "") loads[k2] = loads[k2] (loads[k2] != "" ? "; " : "") ld }
  }
  for (i = 1; i <= nr; i++) print "  - N = " runs[order[i]] ": " order[i] (loads[order[i]] != "" ? "; load average " loads[order[i]] : "; load average not recorded")
  print ""

  # --- the method, with the parameters of the latest complete run ---------------------------------------
  mn = ""
  for (i = nn; i >= 1; i--) if (has(ns[i], "pghealthd", "steady", "wall_s")) { mn = ns[i]; break }
  old_rows = ""
  for (i = 1; i <= nn; i++) if (!has(ns[i], "pghealthd", "steady", "wall_s")) old_rows = old_rows (old_rows != "" ? ", " : "") fint(ns[i])
  print "**Method**, per N. A throwaway PostgreSQL gets N tables (`id` primary key + one secondary index each; every"
  print "10th in schema `\"Sales\"` with a quoted mixed-case name; every 4th with 100 rows, every 8th with a third"
  print "of them deleted), autovacuum off, and its catalogs analyzed once (runs after 2026-12-05 13:00 UTC; as autovacuum"
  print "would have on a live server, so the planner knows pg_class's size). Then, one after another:"
  print ""
  fr = (mn != "") ? cnt[mn, "psql", "psql_floor", col["wall_s"]] : 5
  print "1. **psql floor:** `psql -X -A -t -o /dev/null -c 'SELECT * FROM pg_stat_user_tables' -c '…"
  print "   pg_statio_user_tables' -c '… pg_stat_user_indexes'` with `PGOPTIONS='-c jit=off'` (pghealthd's sessions"
  printf "   set `jit = off` too), %d runs; the target compares with its PostgreSQL CPU (median), psql's connection\n", fr
  print "   included (a connection alone, `SELECT 1`, is shown beside it)."
  print "2. **First cycle:** pghealthd with every collector the binary knows at a 10-minute interval, from"
  print "   process start until each has logged its run; pghealthd's and PostgreSQL's CPU over it. Then scrapes"
  print "   alternate (pghealthd, peer, …), plain text (`curl -w %{time_total}`), then one with"
  print "   `Accept-Encoding: gzip` each: a pghealthd scrape measures serving alone, while for the peer one scrape"
  print "   is one collection cycle (it runs its queries on every scrape)."
  print "3. **The peer per minute:** 4 scrapes 15 s apart, PostgreSQL CPU over the 60 s."
  iw = (mn != "") ? sprintf("%.0f s", agg(mn, "postgres", "idle", "wall_s")) : "35 s"
  printf "4. **Idle server:** pghealthd and the peer stopped, nothing connected, %s: its PostgreSQL CPU per second\n", iw
  print "   (background processes) times each window's length is subtracted from the windows of 3, 5, 6 and 7."
  si = (mn != "") ? notenum(note[mn, "pghealthd", "steady"], "interval") : 5
  scyc = (mn != "") ? notenum(note[mn, "pghealthd", "steady"], "cycles") : 7
  printf "5. **Steady-state cycle:** a new pghealthd with only stat_user_tables, statio_user_tables and\n"
  printf "   stat_user_indexes, every %s s; PostgreSQL CPU from the end of its first cycle to the end of cycle %d\n", si, scyc + 1
  print "   (each end: the moment the last of the three logs `collected … collector=NAME`), minus the idle"
  print "   server's, divided by the cycles completed in between (the fewest runs any of the three logged). The"
  print "   target is judged on this cycle: a first cycle reads everything, later ones may read less."
  print "   pghealthd's own CPU per cycle over the same window, plus one plain scrape's, is the exporter CPU"
  print "   compared with one peer scrape (which reads the same three views): like with like. The first cycle's"
  print "   (every collector, the process start) is shown beside it."
  oi = (mn != "" && crun_names[mn] != "") ? notenum(crun_note[mn, substr(crun_names[mn], 2, index(substr(crun_names[mn], 2) " ", " ") - 1)], "interval") : 2
  printf "6. **Other collectors:** each alone, every %s s, PostgreSQL CPU per run over the runs after its first,\n", oi
  print "   minus the idle server's."
  mw = (mn != "" && has(mn, "pghealthd", "minute", "wall_s")) ? sprintf("%.0f s", agg(mn, "pghealthd", "minute", "wall_s")) : "300 s"
  print "7. **Default schedules:** pghealthd with the collectors' default intervals (stat_user_tables 30 s,"
  print "   statio_user_tables 60 s, stat_user_indexes 300 s, xmin_horizon 60 s, vacuum_progress 15 s, freeze"
  printf "   300 s, sequences 300 s), vacuum, freeze, reindex and tuning explicitly off, for two periods of %s.\n", mw
  print "   The per-minute figure is of the second period: the daemon's steady cost, as the peer's minute (3.) is"
  print "   of a process that served the scrapes before it. The first period, from process start (the connection,"
  print "   a new backend's catalog caches and the first runs, which read everything), is shown beside it. Each"
  print "   period holds one run of every 300-s schedule. PostgreSQL CPU minus the idle server's, per minute. The"
  print "   bloat collector runs hourly: it is disabled and its per-run cost (6.) is added as 1/60 per minute. The"
  print "   vacuum and analyze counts of `pg_stat_user_tables` are compared before and after: pghealthd did not"
  print "   vacuum or analyze the bench tables (a difference would be"
  print "   printed as a warning in that N's section). Not run above `PEER_MAX_N`."
  print ""
  print "CPU = utime+stime from `/proc/PID/stat` (0.01 s ticks), read 0.5 s after each scrape; PostgreSQL CPU ="
  print "the postmaster and all its children, exited ones included. Peak RSS = `VmHWM`. Everything ran under"
  print "`nice -n 10` on a shared machine: compare side by side, not against other days; a verdict measured at a"
  printf "1-minute load average above %.1f says so.", load_warn
  if (old_rows != "") printf "\n\nThe rows of N = %s come from runs before 2026-12-05, when these measurements began: they have no\nidle, steady-state, other-collector or per-minute phases, their floor ran 3 times with the server's\ndefault JIT, and their first cycle is of the collectors of that day (listed in its section).", old_rows
  print ""
  print ""

  # --- the targets ------------------------------------------------------------------------------------
  tn = ""
  if (10000 in seen && peerof(10000)) tn = 10000
  else for (i = nn; i >= 1; i--) if (peerof(ns[i])) { tn = ns[i]; break }
  if (tn != "") {
    ldmax = load1(tn, "load_start"); if (load1(tn, "load_end") > ldmax) ldmax = load1(tn, "load_end")
    under = (ldmax != "" && ldmax + 0 > load_warn) ? sprintf("; measured under load average %s", ldmax) : ""
    ph_scrape = agg(tn, "pghealthd", "scrape", "wall_s"); pe_scrape = agg(tn, "peer", "scrape", "wall_s")
    ph_cpu = agg(tn, "pghealthd", "cycle", "exporter_cpu_s") + agg(tn, "pghealthd", "scrape", "exporter_cpu_s")
    pe_cpu = agg(tn, "peer", "scrape", "exporter_cpu_s")
    ph_rss = agg(tn, "pghealthd", "peak_rss", "rss_kib"); pe_rss = agg(tn, "peer", "peak_rss", "rss_kib")
    pg_first = agg(tn, "pghealthd", "cycle", "postgres_cpu_s"); pg_steady = steady_cycle(tn)
    floor_cpu = agg(tn, "psql", "psql_floor", "postgres_cpu_s"); conn_cpu = agg(tn, "psql", "psql_connect", "postgres_cpu_s")
    m_ph = ph_minute(tn); m_pe = peer_minute(tn)
    r1 = pe_scrape > 0 ? ph_scrape / pe_scrape : ""
    r2 = pe_cpu > 0 ? ph_cpu / pe_cpu : ""
    r3 = pe_rss > 0 ? ph_rss / pe_rss : ""
    r4 = (floor_cpu > 0 && pg_steady != "") ? pg_steady / floor_cpu : ""
    r5 = (m_pe > 0 && m_ph != "") ? m_ph / m_pe : ""
    short = (m_ph != "" && agg(tn, "pghealthd", "minute", "wall_s") < 299) ? sprintf("; a window of %.0f s, less than one 300-s period: the first cycle weighs more", agg(tn, "pghealthd", "minute", "wall_s")) : ""
    printf "## The project's targets at %s tables\n\n", fint(tn)
    if (ldmax != "") printf "Load average (1 minute) at N = %s: %s at the start, %s at the end.\n\n", fint(tn), load1(tn, "load_start"), load1(tn, "load_end")
    else printf "Load average at N = %s: not recorded (a run before it was).\n\n", fint(tn)
    print "| ratio | pghealthd | peer / floor | ratio | target | verdict |"
    print "| --- | ---: | ---: | ---: | ---: | --- |"
    printf "| scrape time, pghealthd / peer (medians) | %s | %s | %s | ≤ 1/20 | %s%s |\n", ftime(ph_scrape), ftime(pe_scrape), fratio(ph_scrape, pe_scrape), verdict(r1, 1 / 20), under
    # Like with like: the peer's scrape reads the three views; pghealthd's steady-state cycle runs the three
    # collectors that read them, and a scrape serves it. The first cycle also runs the collectors the peer
    # has no counterpart for (bloat, freeze, sequences, ...) and the process start: shown for reference.
    steady_n = steady_cycles(tn)
    ph_steady_cpu = steady_n != "" ? agg(tn, "pghealthd", "steady", "exporter_cpu_s") / steady_n + agg(tn, "pghealthd", "scrape", "exporter_cpu_s") : ""
    r6 = (pe_cpu > 0 && ph_steady_cpu != "") ? ph_steady_cpu / pe_cpu : ""
    if (ph_steady_cpu != "") {
      printf "| exporter CPU, pghealthd (one steady-state cycle of the three statistics collectors + one scrape) / peer (one scrape, which reads the same three views) | %s | %s | %s | ≤ 1/10 | %s%s |\n", fcpu3(ph_steady_cpu), fcpu(pe_cpu), fratio(ph_steady_cpu, pe_cpu, 1), verdict(r6, 1 / 10), under
      printf "| (for reference) exporter CPU, pghealthd (first cycle of every collector, from process start, + one scrape) / peer (one scrape) | %s | %s | %s | | |\n", fcpu(ph_cpu), fcpu(pe_cpu), fratio(ph_cpu, pe_cpu, 1)
    } else
      printf "| exporter CPU, pghealthd (first cycle + one scrape) / peer (one scrape) | %s | %s | %s | ≤ 1/10 | %s%s |\n", fcpu(ph_cpu), fcpu(pe_cpu), fratio(ph_cpu, pe_cpu, 1), verdict(r2, 1 / 10), under
    printf "| peak RSS, pghealthd / peer | %s | %s | %s | ≤ 1/8 | %s |\n", fmib(ph_rss), fmib(pe_rss), fratio(ph_rss, pe_rss), verdict(r3, 1 / 8)
    printf "| PostgreSQL CPU per steady-state cycle (idle subtracted) / the psql floor's PostgreSQL CPU (median) | %s | %s | %s | ≤ 1/2 | %s%s |\n", fcpu3(pg_steady), fcpu(floor_cpu), fratio(pg_steady, floor_cpu), verdict(r4, 1 / 2), (r4 != "" ? under : "")
    if (crun_names[tn] != "") {
      split(substr(crun_names[tn], 2), cn, " "); line = ""
      for (j = 1; j in cn; j++) line = line (j > 1 ? ", " : "") sprintf("`%s` %s", cn[j], fcpu3(other_run(tn, cn[j])))
      printf "| (beside it) PostgreSQL CPU per run of the other collectors, each alone, idle subtracted | %s | | | | |\n", line
    }
    printf "| PostgreSQL CPU per minute (idle subtracted), pghealthd at its default schedules (%s) / peer scraped every 15 s | %s | %s | %s | ≤ 1/8 | %s%s |\n", (m_ph != "" ? minute_window(tn) : "not run"), fcpu3(m_ph), fcpu3(m_pe), fratio(m_ph, m_pe), verdict(r5, 1 / 8), (r5 != "" ? under short : "")
    # growth, end to end over the N >= 1,000 measured
    # Each cost from the smallest N >= 1,000 where it is measurable (a CPU cost of at least 5 ticks, 0.05 s)
    # to the largest N: log(cost ratio) / log(N ratio); the largest exponent is the verdict's.
    gw = ""; gwhat = ""; g2 = ""
    for (i = 1; i <= nn; i++) if (ns[i] >= 1000) g2 = ns[i]
    split("cycle wall_s|cycle exporter_cpu_s|cycle postgres_cpu_s|steady|scrape wall_s|scrape_gzip wall_s|peak_rss rss_kib", gspec, "|")
    split("first cycle, wall|first cycle, pghealthd CPU|first cycle, PostgreSQL CPU|steady-state cycle, PostgreSQL CPU|scrape time|gzip scrape time|peak RSS", glabel, "|")
    for (r = 1; g2 != "" && r in gspec; r++) {
      g1 = ""
      for (i = 1; i <= nn && g1 == ""; i++) {
        a = cost(ns[i], gspec[r])
        if (ns[i] >= 1000 && ns[i] < g2 && a > 0 && (gspec[r] !~ /cpu|steady/ || a >= 0.05)) g1 = ns[i]
      }
      b = cost(g2, gspec[r])
      if (g1 != "" && b > 0) {
        x = log(b / cost(g1, gspec[r])) / log(g2 / g1)
        if (gw == "" || x > gw) { gw = x; gwhat = sprintf("%s, N = %s → %s", glabel[r], fint(g1), fint(g2)) }
      }
    }
    if (gw != "") {
      gv = (gw <= 1.10) ? "**met**" : "**missed**"
      if (g2 < 100000) gv = gv sprintf(" (measured up to %s tables only)", fint(g2))
      printf "| growth of pghealthd's costs up to %s tables: the largest exponent, log(cost ratio) / log(N ratio) (%s) | %.2f | | | ≤ 1 (linear; up to 1.10 counts: ticks, a shared machine) | %s |\n", fint(g2), gwhat, gw, gv
    }
    printf "| (for reference) PostgreSQL CPU per first cycle (every collector, from process start) / the floor's PostgreSQL CPU | %s | %s | %s | | |\n", fcpu(pg_first), fcpu(floor_cpu), fratio(pg_first, floor_cpu, 1)
    if (pg_steady != "" && conn_cpu != "" && floor_cpu - conn_cpu > 0)
      printf "| (for reference) PostgreSQL CPU per steady-state cycle / the floor's without psql's connection (%s) | %s | %s | %s | | |\n", fcpu(conn_cpu), fcpu3(pg_steady), fcpu(floor_cpu - conn_cpu), fratio(pg_steady, floor_cpu - conn_cpu)
    print ""
  }

  # --- growth: cost per 1,000 tables, and the exponent between successive N (1 = linear) ----------------
  ng = 0
  for (i = 1; i <= nn; i++) if (ns[i] >= 1000) gn[++ng] = ns[i]
  if (ng >= 2) {
    print "## How pghealthd's costs grow with N"
    print ""
    print "Each cost divided by N/1,000, and in brackets the growth exponent from the previous N:"
    print "log(cost ratio) / log(N ratio), where 1.00 is linear and less is better than linear."
    print ""
    hdr = "| per 1,000 tables |"; sep = "| --- |"
    for (i = 1; i <= ng; i++) { hdr = hdr " N = " fint(gn[i]) " |"; sep = sep " ---: |" }
    print hdr; print sep
    split("cycle wall_s first collection cycle, wall|cycle exporter_cpu_s first collection cycle, pghealthd CPU|cycle postgres_cpu_s first collection cycle, PostgreSQL CPU|steady postgres_cpu_s steady-state cycle, PostgreSQL CPU|scrape wall_s scrape time (median)|scrape_gzip wall_s gzip scrape time|peak_rss rss_kib peak RSS", rows, "|")
    for (r = 1; r in rows; r++) {
      split(rows[r], f, " "); label = rows[r]; sub(/^[^ ]+ [^ ]+ /, "", label)
      spec = (f[1] == "steady") ? "steady" : f[1] " " f[2]
      line = "| " label " |"
      for (i = 1; i <= ng; i++) {
        v = cost(gn[i], spec)
        if (v == "") { line = line " — |"; continue }
        per = v / (gn[i] / 1000)
        cell = (f[2] == "rss_kib") ? fmib(per) : (f[2] == "wall_s" ? ftime(per) : sprintf("%.3f s", per))
        if (i > 1) {
          pv = cost(gn[i - 1], spec)
          if (pv > 0 && v > 0) cell = cell sprintf(" (%.2f)", log(v / pv) / log(gn[i] / gn[i - 1]))
        }
        line = line " " cell " |"
      }
      print line
    }
    print ""
  }

  # --- one table per N ---------------------------------------------------------------------------------
  for (i = 1; i <= nn; i++) {
    n = ns[i]; p = peerof(n)
    printf "## %s tables\n\n", fint(n)
    split(note[n, "postgres", "setup"], sp, ": ")
    split(sp[2], sc, " ")
    printf "%s tables, %s indexes, %s rows in `pg_class`; created in %s.", fint(sc[1]), fint(sc[2]), fint(sc[3]), ftime(agg(n, "postgres", "setup", "wall_s"))
    if (meta[n, "load_start"] != "") printf " Load average %s at the start, %s at the end.", meta[n, "load_start"], meta[n, "load_end"]
    print "\n"
    if (!p) print "The peer was not run at this N (above `PEER_MAX_N`): pghealthd alone, no per-minute phases.\n"
    print "| per N = " fint(n) " | pghealthd | peer | pghealthd / peer |"
    print "| --- | ---: | ---: | ---: |"
    a = agg(n, "pghealthd", "scrape", "wall_s"); b = p ? agg(n, "peer", "scrape", "wall_s") : ""
    printf "| scrape time, median of %d | %s | %s | %s |\n", cnt[n, "pghealthd", "scrape", col["wall_s"]], ftime(a), ftime(b), fratio(a, b)
    a = agg(n, "pghealthd", "scrape", "wall_s", "max"); b = p ? agg(n, "peer", "scrape", "wall_s", "max") : ""
    printf "| scrape time, max | %s | %s | %s |\n", ftime(a), ftime(b), fratio(a, b)
    a = agg(n, "pghealthd", "scrape", "bytes"); b = p ? agg(n, "peer", "scrape", "bytes") : ""
    printf "| bytes per scrape | %s | %s | %s |\n", fbytes(a), fbytes(b), fratio(a, b)
    a = agg(n, "pghealthd", "scrape", "series"); b = p ? agg(n, "peer", "scrape", "series") : ""
    printf "| series per scrape | %s | %s | %s |\n", fint(a), fint(b), fratio(a, b)
    a = agg(n, "pghealthd", "scrape_gzip", "wall_s"); b = p ? agg(n, "peer", "scrape_gzip", "wall_s") : ""
    a2 = agg(n, "pghealthd", "scrape_gzip", "bytes"); b2 = p ? agg(n, "peer", "scrape_gzip", "bytes") : ""
    printf "| gzip scrape (one each): time, bytes | %s, %s | %s, %s | %s |\n", ftime(a), fbytes(a2), ftime(b), fbytes(b2), fratio(a, b)
    a = agg(n, "pghealthd", "scrape", "exporter_cpu_s"); b = p ? agg(n, "peer", "scrape", "exporter_cpu_s") : ""
    printf "| exporter CPU per scrape, median | %s%s | %s%s | %s |\n", fcpu(a), split_cpu(n, "pghealthd", "scrape"), fcpu(b), (p ? split_cpu(n, "peer", "scrape") : ""), fratio(a, b, 1)
    a3 = agg(n, "pghealthd", "scrape_gzip", "exporter_cpu_s"); b3 = p ? agg(n, "peer", "scrape_gzip", "exporter_cpu_s") : ""
    printf "| exporter CPU per gzip scrape | %s | %s | %s |\n", fcpu(a3), fcpu(b3), fratio(a3, b3, 1)
    a = agg(n, "pghealthd", "cycle", "exporter_cpu_s")
    printf "| exporter CPU per first collection cycle (peer: = one scrape) | %s%s | %s | %s |\n", fcpu(a), split_cpu(n, "pghealthd", "cycle"), fcpu(b), fratio(a, b, 1)
    a = agg(n, "pghealthd", "cycle", "exporter_cpu_s") + agg(n, "pghealthd", "scrape", "exporter_cpu_s")
    printf "| exporter CPU per (first cycle + one scrape) | %s | %s | %s |\n", fcpu(a), fcpu(b), fratio(a, b, 1)
    pb = p ? agg(n, "peer", "scrape", "postgres_cpu_s") : ""
    a = agg(n, "pghealthd", "cycle", "postgres_cpu_s")
    printf "| PostgreSQL CPU per first collection cycle (every collector, from process start; peer: per scrape) | %s | %s | %s |\n", fcpu(a), fcpu(pb), fratio(a, pb, 1)
    a = steady_cycle(n)
    if (a != "") printf "| PostgreSQL CPU per steady-state cycle (the three statistics collectors, idle subtracted; peer: per scrape) | %s | %s | %s |\n", fcpu3(a), fcpu(pb), fratio(a, pb)
    a = agg(n, "pghealthd", "scrape", "postgres_cpu_s", "max")
    printf "| PostgreSQL CPU per scrape, max | %s | %s | |\n", fcpu(a), fcpu(p ? agg(n, "peer", "scrape", "postgres_cpu_s", "max") : "")
    a = ph_minute(n); b = peer_minute(n)
    if (a != "" || b != "") {
      printf "| PostgreSQL CPU per minute, idle subtracted (pghealthd: default schedules, %s; peer: a scrape every 15 s) | %s | %s | %s |\n", minute_window(n), fcpu3(a), fcpu3(b), fratio(a, b)
      if (has(n, "pghealthd", "minute_start", "wall_s"))
        printf "| (beside it) PostgreSQL CPU per minute over the first period, from process start (the first cycle and the connection included) | %s | | |\n", fcpu3(ph_minute(n, "minute_start"))
      a = has(n, "pghealthd", "minute", "wall_s") ? agg(n, "pghealthd", "minute", "exporter_cpu_s") * 60 / agg(n, "pghealthd", "minute", "wall_s") : ""
      b = has(n, "peer", "minute", "wall_s") ? agg(n, "peer", "minute", "exporter_cpu_s") * 60 / agg(n, "peer", "minute", "wall_s") : ""
      printf "| exporter CPU per minute (the same windows) | %s | %s | %s |\n", fcpu3(a), fcpu3(b), fratio(a, b)
    }
    a = agg(n, "pghealthd", "cycle", "wall_s"); b = p ? agg(n, "peer", "scrape", "wall_s") : ""
    printf "| first collection cycle, wall (pghealthd: from process start) | %s | %s | %s |\n", ftime(a), ftime(b), fratio(a, b)
    printf "| peak RSS of each phase: first cycle / %d plain scrapes / one gzip scrape | %s / %s / %s | %s / %s / %s | |\n", cnt[n, "pghealthd", "scrape", col["wall_s"]], fmib(phase[n, "pghealthd", "cycle"]), fmib(phase[n, "pghealthd", "scrapes"]), fmib(phase[n, "pghealthd", "gzip"]), (p ? "(idle: " fmib(phase[n, "peer", "start"]) ")" : "—"), (p ? fmib(phase[n, "peer", "scrapes"]) : "—"), (p ? fmib(phase[n, "peer", "gzip"]) : "—")
    a = agg(n, "pghealthd", "peak_rss", "rss_kib"); b = p ? agg(n, "peer", "peak_rss", "rss_kib") : ""
    printf "| peak RSS (VmHWM) at the end | %s | %s | %s |\n", fmib(a), fmib(b), fratio(a, b)
    if (has(n, "pghealthd", "steady", "rss_kib") || has(n, "pghealthd", "minute", "rss_kib"))
      printf "| peak RSS of the later processes: steady-state cycles (after the first) / default schedules (both periods) | %s / %s | %s | |\n", fmib(agg(n, "pghealthd", "steady", "rss_kib")), fmib(agg(n, "pghealthd", "minute", "rss_kib")), (has(n, "peer", "minute", "rss_kib") ? "(after its minute: " fmib(agg(n, "peer", "minute", "rss_kib")) ")" : "")
    fnote = index(note[n, "psql", "psql_floor"], "jit=off") ? "jit off" : "the server's default jit"
    printf "| psql floor (%s): PostgreSQL CPU (wall), median of %d | %s (%s) | | |\n", fnote, cnt[n, "psql", "psql_floor", col["wall_s"]], fcpu(agg(n, "psql", "psql_floor", "postgres_cpu_s")), ftime(agg(n, "psql", "psql_floor", "wall_s"))
    if (has(n, "psql", "psql_connect", "wall_s"))
      printf "| psql connection alone (`SELECT 1`): PostgreSQL CPU (wall), median of %d | %s (%s) | | |\n", cnt[n, "psql", "psql_connect", col["wall_s"]], fcpu(agg(n, "psql", "psql_connect", "postgres_cpu_s")), ftime(agg(n, "psql", "psql_connect", "wall_s"))
    if (has(n, "postgres", "idle", "wall_s"))
      printf "| idle server (nothing connected): PostgreSQL CPU per minute | %s | | |\n", fcpu3(idle_rate(n) * 60)
    print ""
    c = note[n, "pghealthd", "cycle"]; sub(/^from start; (load [0-9. ]+; )?/, "", c)
    if (c != "") { print "First cycle, each collector's run as logged: " c; print "" }
    if (has(n, "pghealthd", "steady", "wall_s")) {
      printf "Steady state: %d cycles in %.1f s, PostgreSQL %.2f s (the idle server's %.3f s over the window subtracted), pghealthd %.2f s; %s\n\n", notenum(note[n, "pghealthd", "steady"], "cycles"), agg(n, "pghealthd", "steady", "wall_s"), agg(n, "pghealthd", "steady", "postgres_cpu_s"), idle_rate(n) * agg(n, "pghealthd", "steady", "wall_s"), agg(n, "pghealthd", "steady", "exporter_cpu_s"), note[n, "pghealthd", "steady"]
    }
    if (crun_names[n] != "") {
      split(substr(crun_names[n], 2), cn, " ")
      line = ""
      for (j = 1; j in cn; j++) line = line (j > 1 ? ", " : "") sprintf("`%s` %s (%d runs)", cn[j], fcpu3(other_run(n, cn[j])), notenum(crun_note[n, cn[j]], "runs"))
      printf "The other collectors, PostgreSQL CPU per run (each alone, every %s s, idle subtracted): %s.\n\n", notenum(crun_note[n, cn[1]], "interval"), line
    }
    if (has(n, "pghealthd", "minute", "wall_s")) {
      b = other_run(n, "bloat")
      if (has(n, "pghealthd", "minute_start", "wall_s")) printf "Default schedules, first period: %s\n\n", note[n, "pghealthd", "minute_start"]
      printf "Default schedules: %s%s\n\n", note[n, "pghealthd", "minute"], (index(note[n, "pghealthd", "minute"], "bloat disabled") ? (b != "" ? sprintf(" Added for bloat: %.4f s per minute.", b / 60) : " Bloat's run was not measured (`OTHER_RUNS=0`): nothing added for it.") : "")
    }
    if (has(n, "peer", "minute", "wall_s")) printf "The peer's minute: %s.\n\n", note[n, "peer", "minute"]
    print "pghealthd's collectors (`pghealthd_collector_duration_seconds`): " note[n, "pghealthd", "collector_durations"]
    print ""
    print "Biggest metric families, pghealthd: " note[n, "pghealthd", "families"]
    if (p) { print ""; print "Biggest metric families, peer: " note[n, "peer", "families"] }
    print ""
    if (dat != "") printf "%d %s %s %s %s\n", n, agg(n, "pghealthd", "scrape", "wall_s"), (p ? agg(n, "peer", "scrape", "wall_s") : "NaN"), agg(n, "pghealthd", "peak_rss", "rss_kib") / 1024, (p ? agg(n, "peer", "peak_rss", "rss_kib") / 1024 : "NaN") >dat
  }
}
