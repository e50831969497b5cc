#include "collectors/stat_user_tables.h"

#include <limits>
#include <unordered_map>

namespace pghealthd::collectors {

namespace {

// The query, with a marker where the columns of newer servers go (see stat_user_tables_sql).
//
// What it leaves to others, to cost the server less than the view it replaces (issue 18): the server's
// autovacuum settings come once, in a row of scope 's', not repeated in every table's row (ten float8 values
// per table to format); and idx_scan, which the view sums over each table's indexes (a statistics lookup
// per index), is summed by pghealthd from the stat_user_indexes collector's per-index counts
// (attach_index_scans); a table's row says only whether it has indexes (relhasindex). And the pages of a
// table's TOAST table, which only its vacuums and analyzes change and which cost a second pass over pg_class
// (a quarter of the query), are read when $1 is true: on the first run, every tenth, and the run after one
// that met a table it did not know (app/database_watch.cpp); other runs carry them over (carry_toast).
constexpr std::string_view kTemplate = R"SQL(
SELECT 's' AS scope,
       NULL::oid AS relid, NULL::"char" AS relkind, NULL::"char" AS relpersistence, NULL::bigint AS parent_relid,
       NULL::float8 AS reltuples, NULL::text AS reloptions, NULL::float8 AS relpages, NULL::bool AS has_indexes,
       NULL::name AS schemaname, NULL::name AS relname, NULL::bigint AS n_live_tup, NULL::bigint AS n_dead_tup,
       NULL::bigint AS n_mod_since_analyze, NULL::bigint AS n_ins_since_vacuum, NULL::bigint AS seq_scan,
       NULL::float8 AS last_vacuum, NULL::float8 AS last_autovacuum, NULL::float8 AS last_analyze,
       NULL::float8 AS last_autoanalyze, NULL::bigint AS vacuum_count, NULL::bigint AS autovacuum_count,
       NULL::bigint AS analyze_count, NULL::bigint AS autoanalyze_count,
       NULL::float8 AS last_seq_scan, NULL::float8 AS total_vacuum_time, NULL::float8 AS total_autovacuum_time,
       NULL::float8 AS total_analyze_time, NULL::float8 AS total_autoanalyze_time, NULL::float8 AS relallfrozen,
       NULL::bigint AS heap_bytes, NULL::bigint AS toast_bytes,
       current_setting('autovacuum')::bool AND current_setting('track_counts')::bool AS av_on,
       current_setting('autovacuum_vacuum_threshold')::float8 AS av_threshold,
       current_setting('autovacuum_vacuum_scale_factor')::float8 AS av_scale_factor,
       @MAX_THRESHOLD@ AS av_max_threshold,
       current_setting('autovacuum_vacuum_insert_threshold')::float8 AS av_insert_threshold,
       current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS av_insert_scale_factor,
       current_setting('autovacuum_analyze_threshold')::float8 AS av_analyze_threshold,
       current_setting('autovacuum_analyze_scale_factor')::float8 AS av_analyze_scale_factor,
       -- -1 means "vacuum_cost_limit/_delay's value", as autovacuum reads it; pg_settings gives ms unitless.
       coalesce(nullif(current_setting('autovacuum_vacuum_cost_limit')::int, -1),
                current_setting('vacuum_cost_limit')::int)::float8 AS av_cost_limit,
       (SELECT coalesce(nullif(a.setting::float8, -1), v.setting::float8)
          FROM pg_settings a, pg_settings v
         WHERE a.name = 'autovacuum_vacuum_cost_delay' AND v.name = 'vacuum_cost_delay') AS av_cost_delay
UNION ALL
SELECT 't',
       c.oid,
       c.relkind,
       c.relpersistence,
       inh.inhparent::bigint,
       c.reltuples::float8,
       c.reloptions::text,
       c.relpages::float8,
       c.relhasindex,
       n.nspname,
       c.relname,
       pg_stat_get_live_tuples(c.oid),
       pg_stat_get_dead_tuples(c.oid),
       pg_stat_get_mod_since_analyze(c.oid),
       pg_stat_get_ins_since_vacuum(c.oid),
       pg_stat_get_numscans(c.oid),
       date_part('epoch', pg_stat_get_last_vacuum_time(c.oid)),
       date_part('epoch', pg_stat_get_last_autovacuum_time(c.oid)),
       date_part('epoch', pg_stat_get_last_analyze_time(c.oid)),
       date_part('epoch', pg_stat_get_last_autoanalyze_time(c.oid)),
       pg_stat_get_vacuum_count(c.oid),
       pg_stat_get_autovacuum_count(c.oid),
       pg_stat_get_analyze_count(c.oid),
       pg_stat_get_autoanalyze_count(c.oid),
       @VERSIONED@
       c.relpages::bigint * current_setting('block_size')::bigint,
       CASE WHEN $1::bool
            THEN coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = c.reltoastrelid), 0)::bigint
                 * current_setting('block_size')::bigint END,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_inherits inh ON inh.inhrelid = c.oid AND c.relispartition
 WHERE c.relkind IN ('r', 'm', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
)SQL";

// A function that does not exist on a server fails the whole query, so older servers get NULL columns of
// the same names: one parser, and the series are absent where the server has no such column.
constexpr std::string_view kBefore16 = "NULL,";
constexpr std::string_view kSince16 = "date_part('epoch', pg_stat_get_lastscan(c.oid)),";
// 18 also caps the dead-row trigger (autovacuum_vacuum_max_threshold; -1 before: no cap) and counts only
// the pages not all frozen for the insert trigger (relallfrozen).
constexpr std::string_view kBefore18 = "NULL, NULL, NULL, NULL, NULL,";
constexpr std::string_view kSince18 =
    "pg_stat_get_total_vacuum_time(c.oid), pg_stat_get_total_autovacuum_time(c.oid), "
    "pg_stat_get_total_analyze_time(c.oid), pg_stat_get_total_autoanalyze_time(c.oid), c.relallfrozen::float8,";
constexpr std::string_view kMaxThresholdBefore18 = "-1::float8";
constexpr std::string_view kMaxThresholdSince18 = "current_setting('autovacuum_vacuum_max_threshold')::float8";

std::string with_columns(std::string_view last_scan, std::string_view totals, std::string_view max_threshold) {
  std::string sql(kTemplate);
  const auto at = sql.find("@VERSIONED@");
  sql.replace(at, 11, std::string(last_scan) + "\n       " + std::string(totals));
  const auto max = sql.find("@MAX_THRESHOLD@");
  sql.replace(max, 15, max_threshold);
  return sql;
}

}  // namespace

std::string_view stat_user_tables_sql(int server_version) {
  static const std::string before16 = with_columns(kBefore16, kBefore18, kMaxThresholdBefore18),
                           since16 = with_columns(kSince16, kBefore18, kMaxThresholdBefore18),
                           since18 = with_columns(kSince16, kSince18, kMaxThresholdSince18);
  if (server_version >= 180000) return since18;
  if (server_version >= 160000) return since16;
  return before16;
}

pg::Parsed<model::TableStats> parse_stat_user_tables(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int scope = f.require("scope"), schema = f.require("schemaname"), rel = f.require("relname"),
            live = f.require("n_live_tup"), dead = f.require("n_dead_tup"), mod = f.require("n_mod_since_analyze"),
            seq = f.require("seq_scan"), has_indexes = f.require("has_indexes"), lv = f.require("last_vacuum"),
            lav = f.require("last_autovacuum"), la = f.require("last_analyze"),
            laa = f.require("last_autoanalyze"), vc = f.require("vacuum_count"),
            avc = f.require("autovacuum_count"), ac = f.require("analyze_count"),
            aac = f.require("autoanalyze_count"), heap = f.require("heap_bytes"), toast = f.require("toast_bytes"), relid = f.require("relid"),
            relkind = f.require("relkind"), persistence = f.require("relpersistence"),
            parent = f.require("parent_relid"), reltuples = f.require("reltuples"), relopts = f.require("reloptions"),
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
  // The server's settings come in the one row of scope 's'; every table starts from them.
  int settings_row = -1, tables = 0;
  for (int r = 0; r < rows.size(); ++r) {
    if (f.text(r, scope) == "s")
      settings_row = r;
    else
      ++tables;
  }
  if (tables == 0) return out;
  if (settings_row < 0) return {{}, "no row of the server's autovacuum settings (scope 's')"};
  model::AutovacuumSettings server;
  {
    const int r = settings_row;
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
  }
  if (!f.error().empty()) return {{}, f.error()};
  const model::Shared<model::AutovacuumSettings> shared_server(server);  // one copy for the tables without their own
  out.rows.reserve(static_cast<std::size_t>(tables));
  for (int r = 0; r < rows.size(); ++r) {
    const std::string row_scope = f.text(r, scope);
    if (row_scope == "s") continue;
    if (row_scope != "t") return {{}, "row " + std::to_string(r + 1) + ": unknown scope '" + row_scope + "'"};
    model::TableStats t;
    t.relid = f.integer(r, relid).value_or(0);
    const std::string kind = f.text(r, relkind);
    t.relkind = kind.empty() ? 'r' : kind[0];
    t.temporary = f.text(r, persistence) == "t";
    t.reltuples = f.number(r, reltuples);
    t.parent_relid = f.integer(r, parent);
    t.relpages = f.number(r, relpages);
    t.relallfrozen = f.number(r, relallfrozen);
    const auto options = rows.get(r, relopts);
    t.autovacuum = options ? model::Shared(model::effective_autovacuum(server, *options)) : shared_server;
    if (options) t.reloptions = *options;
    t.schemaname = f.text(r, schema);
    t.relname = f.text(r, rel);
    t.has_indexes = f.boolean(r, has_indexes);
    t.live_tuples = f.integer(r, live);
    t.dead_tuples = f.integer(r, dead);
    t.mod_since_analyze = f.integer(r, mod);
    t.ins_since_vacuum = f.integer(r, ins);
    t.seq_scans = f.integer(r, seq);
    t.last_vacuum = f.number(r, lv);
    t.last_autovacuum = f.number(r, lav);
    t.last_analyze = f.number(r, la);
    t.last_autoanalyze = f.number(r, laa);
    t.vacuum_count = f.integer(r, vc);
    t.autovacuum_count = f.integer(r, avc);
    t.analyze_count = f.integer(r, ac);
    t.autoanalyze_count = f.integer(r, aac);
    t.heap_bytes = f.integer(r, heap);
    t.toast_bytes = f.integer(r, toast);
    if (t.heap_bytes && t.toast_bytes) {
      std::int64_t both = 0;
      if (__builtin_add_overflow(*t.heap_bytes, *t.toast_bytes, &both))
        return {{}, "row " + std::to_string(r + 1) + ": heap and TOAST bytes add up past a bigint"};
      t.size_bytes = both;
    }
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

void attach_index_scans(std::vector<model::TableStats>& tables, const std::vector<model::IndexStats>* indexes) {
  if (!indexes) {
    for (auto& t : tables) t.index_scans.reset();
    return;
  }
  std::unordered_map<std::int64_t, std::int64_t> sums;
  sums.reserve(indexes->size());
  // No real sum leaves a bigint's range (the server's own is one); one of a broken answer's stops at its end.
  for (const auto& i : *indexes) {
    auto& sum = sums[i.table_relid];
    const std::int64_t scans = i.scans.value_or(0);
    if (__builtin_add_overflow(sum, scans, &sum))
      sum = scans > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min() + 1;
  }
  for (auto& t : tables) {
    // As the view: NULL without indexes, else the sum of their scans (0 for a partitioned parent's, whose
    // indexes have no storage and no statistics of their own).
    if (!t.has_indexes) {
      t.index_scans.reset();
      continue;
    }
    const auto it = sums.find(t.relid);
    t.index_scans = it == sums.end() ? 0 : it->second;
  }
}

}  // namespace pghealthd::collectors
