#include "collectors/stat_user_tables.h"

namespace pghealthd::collectors {

namespace {

// The query, with a marker where the columns of newer servers go (see stat_user_tables_sql).
constexpr std::string_view kTemplate = R"SQL(
WITH settings AS MATERIALIZED (
  SELECT current_setting('autovacuum')::bool AND current_setting('track_counts')::bool AS av_on,
         current_setting('autovacuum_vacuum_threshold')::float8 AS av_threshold,
         current_setting('autovacuum_vacuum_scale_factor')::float8 AS av_scale_factor,
         current_setting('autovacuum_vacuum_insert_threshold')::float8 AS av_insert_threshold,
         current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS av_insert_scale_factor,
         current_setting('autovacuum_analyze_threshold')::float8 AS av_analyze_threshold,
         current_setting('autovacuum_analyze_scale_factor')::float8 AS av_analyze_scale_factor,
         -- -1 means "vacuum_cost_limit/_delay's value", as autovacuum reads it; pg_settings gives ms unitless.
         coalesce(nullif(current_setting('autovacuum_vacuum_cost_limit')::int, -1),
                  current_setting('vacuum_cost_limit')::int)::float8 AS av_cost_limit,
         (SELECT coalesce(nullif(a.setting::float8, -1), v.setting::float8)
            FROM pg_settings a, pg_settings v
           WHERE a.name = 'autovacuum_vacuum_cost_delay' AND v.name = 'vacuum_cost_delay') AS av_cost_delay,
         current_setting('block_size')::bigint AS block_size),
     index_scans AS MATERIALIZED (
  SELECT indrelid, sum(pg_stat_get_numscans(indexrelid))::bigint AS idx_scan
    FROM pg_index GROUP BY indrelid),
     toast AS MATERIALIZED (
  SELECT oid, relpages FROM pg_class WHERE relkind = 't')
SELECT c.oid AS relid,
       c.relkind,
       c.relpersistence,
       inh.inhparent::bigint AS parent_relid,
       c.reltuples::float8 AS reltuples,
       c.reloptions::text AS reloptions,
       s.av_on, s.av_threshold, s.av_scale_factor, s.av_insert_threshold, s.av_insert_scale_factor,
       s.av_analyze_threshold, s.av_analyze_scale_factor, s.av_cost_limit, s.av_cost_delay,
       c.relpages::float8 AS relpages,
       n.nspname AS schemaname,
       c.relname,
       pg_stat_get_live_tuples(c.oid) AS n_live_tup,
       pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
       pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze,
       pg_stat_get_ins_since_vacuum(c.oid) AS n_ins_since_vacuum,
       pg_stat_get_numscans(c.oid) AS seq_scan,
       x.idx_scan,
       date_part('epoch', pg_stat_get_last_vacuum_time(c.oid)) AS last_vacuum,
       date_part('epoch', pg_stat_get_last_autovacuum_time(c.oid)) AS last_autovacuum,
       date_part('epoch', pg_stat_get_last_analyze_time(c.oid)) AS last_analyze,
       date_part('epoch', pg_stat_get_last_autoanalyze_time(c.oid)) AS last_autoanalyze,
       pg_stat_get_vacuum_count(c.oid) AS vacuum_count,
       pg_stat_get_autovacuum_count(c.oid) AS autovacuum_count,
       pg_stat_get_analyze_count(c.oid) AS analyze_count,
       pg_stat_get_autoanalyze_count(c.oid) AS autoanalyze_count,
       @VERSIONED@
       (c.relpages::bigint + coalesce(t.relpages, 0)::bigint) * s.block_size AS size_bytes
  FROM settings s
 CROSS JOIN pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN toast t ON t.oid = c.reltoastrelid
  LEFT JOIN index_scans x ON x.indrelid = c.oid
  LEFT JOIN pg_inherits inh ON inh.inhrelid = c.oid AND c.relispartition
 WHERE c.relkind IN ('r', 'm', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
)SQL";

// A function that does not exist on a server fails the whole query, so older servers get NULL columns of
// the same names: one parser, and the series are absent where the server has no such column.
constexpr std::string_view kBefore16 = "NULL::float8 AS last_seq_scan,";
constexpr std::string_view kSince16 = "date_part('epoch', pg_stat_get_lastscan(c.oid)) AS last_seq_scan,";
// 18 also caps the dead-row trigger (autovacuum_vacuum_max_threshold; -1 before: no cap) and counts only
// the pages not all frozen for the insert trigger (relallfrozen).
constexpr std::string_view kBefore18 =
    "NULL::float8 AS total_vacuum_time, NULL::float8 AS total_autovacuum_time, "
    "NULL::float8 AS total_analyze_time, NULL::float8 AS total_autoanalyze_time, "
    "-1::float8 AS av_max_threshold, NULL::float8 AS relallfrozen,";
constexpr std::string_view kSince18 =
    "pg_stat_get_total_vacuum_time(c.oid) AS total_vacuum_time, "
    "pg_stat_get_total_autovacuum_time(c.oid) AS total_autovacuum_time, "
    "pg_stat_get_total_analyze_time(c.oid) AS total_analyze_time, "
    "pg_stat_get_total_autoanalyze_time(c.oid) AS total_autoanalyze_time, "
    "(SELECT current_setting('autovacuum_vacuum_max_threshold')::float8) AS av_max_threshold, "
    "c.relallfrozen::float8 AS relallfrozen,";

std::string with_columns(std::string_view last_scan, std::string_view totals) {
  std::string sql(kTemplate);
  const auto at = sql.find("@VERSIONED@");
  sql.replace(at, 11, std::string(last_scan) + "\n       " + std::string(totals));
  return sql;
}

}  // namespace

std::string_view stat_user_tables_sql(int server_version) {
  static const std::string before16 = with_columns(kBefore16, kBefore18), since16 = with_columns(kSince16, kBefore18),
                           since18 = with_columns(kSince16, kSince18);
  if (server_version >= 180000) return since18;
  if (server_version >= 160000) return since16;
  return before16;
}

pg::Parsed<model::TableStats> parse_stat_user_tables(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int schema = f.require("schemaname"), rel = f.require("relname"), live = f.require("n_live_tup"),
            dead = f.require("n_dead_tup"), mod = f.require("n_mod_since_analyze"),
            seq = f.require("seq_scan"), idx = f.require("idx_scan"), lv = f.require("last_vacuum"),
            lav = f.require("last_autovacuum"), la = f.require("last_analyze"),
            laa = f.require("last_autoanalyze"), vc = f.require("vacuum_count"),
            avc = f.require("autovacuum_count"), ac = f.require("analyze_count"),
            aac = f.require("autoanalyze_count"), size = f.require("size_bytes"), relid = f.require("relid"),
            relkind = f.require("relkind"), persistence = f.require("relpersistence"), parent = f.require("parent_relid"), reltuples = f.require("reltuples"), relopts = f.require("reloptions"),
            av_on = f.require("av_on"), av_thr = f.require("av_threshold"), av_sf = f.require("av_scale_factor"),
            av_max = f.require("av_max_threshold"), av_ins = f.require("av_insert_threshold"),
            av_ins_sf = f.require("av_insert_scale_factor"), av_an = f.require("av_analyze_threshold"),
            av_an_sf = f.require("av_analyze_scale_factor"), av_cl = f.require("av_cost_limit"),
            av_cd = f.require("av_cost_delay"), relpages = f.require("relpages"),
            relallfrozen = f.require("relallfrozen"), ins = f.require("n_ins_since_vacuum"),
            last_scan = f.require("last_seq_scan"), vac_ms = f.require("total_vacuum_time"),
            autovac_ms = f.require("total_autovacuum_time"), an_ms = f.require("total_analyze_time"),
            autoan_ms = f.require("total_autoanalyze_time");
  pg::Parsed<model::TableStats> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::TableStats t;
    t.relid = f.integer(r, relid).value_or(0);
    const std::string kind = f.text(r, relkind);
    t.relkind = kind.empty() ? 'r' : kind[0];
    t.temporary = f.text(r, persistence) == "t";
    t.reltuples = f.number(r, reltuples);
    t.parent_relid = f.integer(r, parent);
    model::AutovacuumSettings server;
    server.enabled = server.server_enabled = f.boolean(r, av_on);
    server.base_threshold = f.number(r, av_thr).value_or(server.base_threshold);
    server.scale_factor = f.number(r, av_sf).value_or(server.scale_factor);
    server.max_threshold = f.number(r, av_max).value_or(server.max_threshold);
    server.insert_threshold = f.number(r, av_ins).value_or(server.insert_threshold);
    server.insert_scale_factor = f.number(r, av_ins_sf).value_or(server.insert_scale_factor);
    server.analyze_threshold = f.number(r, av_an).value_or(server.analyze_threshold);
    server.analyze_scale_factor = f.number(r, av_an_sf).value_or(server.analyze_scale_factor);
    server.cost_limit = f.number(r, av_cl).value_or(server.cost_limit);
    server.cost_delay_ms = f.number(r, av_cd).value_or(server.cost_delay_ms);
    t.relpages = f.number(r, relpages);
    t.relallfrozen = f.number(r, relallfrozen);
    const auto options = rows.get(r, relopts);
    t.autovacuum = options ? model::effective_autovacuum(server, *options) : server;
    if (options) t.reloptions = std::string(*options);
    t.schemaname = f.text(r, schema);
    t.relname = f.text(r, rel);
    t.live_tuples = f.integer(r, live);
    t.dead_tuples = f.integer(r, dead);
    t.mod_since_analyze = f.integer(r, mod);
    t.ins_since_vacuum = f.integer(r, ins);
    t.seq_scans = f.integer(r, seq);
    t.index_scans = f.integer(r, idx);
    t.last_vacuum = f.number(r, lv);
    t.last_autovacuum = f.number(r, lav);
    t.last_analyze = f.number(r, la);
    t.last_autoanalyze = f.number(r, laa);
    t.vacuum_count = f.integer(r, vc);
    t.autovacuum_count = f.integer(r, avc);
    t.analyze_count = f.integer(r, ac);
    t.autoanalyze_count = f.integer(r, aac);
    t.size_bytes = f.integer(r, size);
    t.last_seq_scan = f.number(r, last_scan);
    t.vacuum_time_ms = f.number(r, vac_ms);
    t.autovacuum_time_ms = f.number(r, autovac_ms);
    t.analyze_time_ms = f.number(r, an_ms);
    t.autoanalyze_time_ms = f.number(r, autoan_ms);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(t));
  }
  return out;
}

}  // namespace pghealthd::collectors
