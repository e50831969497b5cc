#include "collectors/stat_user_tables.h"

namespace pghealthd::collectors {

const std::string_view kStatUserTablesSql = R"SQL(
SELECT n.nspname AS schemaname,
       c.relname,
       pg_stat_get_live_tuples(c.oid) AS n_live_tup,
       pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
       pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze,
       pg_stat_get_numscans(c.oid) AS seq_scan,
       (SELECT sum(pg_stat_get_numscans(i.indexrelid))::bigint
          FROM pg_index i WHERE i.indrelid = c.oid) AS idx_scan,
       extract(epoch FROM pg_stat_get_last_vacuum_time(c.oid))::float8 AS last_vacuum,
       extract(epoch FROM pg_stat_get_last_autovacuum_time(c.oid))::float8 AS last_autovacuum,
       extract(epoch FROM pg_stat_get_last_analyze_time(c.oid))::float8 AS last_analyze,
       extract(epoch FROM pg_stat_get_last_autoanalyze_time(c.oid))::float8 AS last_autoanalyze,
       pg_stat_get_vacuum_count(c.oid) AS vacuum_count,
       pg_stat_get_autovacuum_count(c.oid) AS autovacuum_count,
       pg_stat_get_analyze_count(c.oid) AS analyze_count,
       pg_stat_get_autoanalyze_count(c.oid) AS autoanalyze_count,
       (c.relpages::bigint + coalesce(t.relpages, 0)::bigint)
         * current_setting('block_size')::bigint AS size_bytes
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
 WHERE c.relkind IN ('r', 't', 'm', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
)SQL";

Parsed<model::TableStats> parse_stat_user_tables(const Rows& rows) {
  FieldReader f(rows);
  const int schema = f.require("schemaname"), rel = f.require("relname"), live = f.require("n_live_tup"),
            dead = f.require("n_dead_tup"), mod = f.require("n_mod_since_analyze"),
            seq = f.require("seq_scan"), idx = f.require("idx_scan"), lv = f.require("last_vacuum"),
            lav = f.require("last_autovacuum"), la = f.require("last_analyze"),
            laa = f.require("last_autoanalyze"), vc = f.require("vacuum_count"),
            avc = f.require("autovacuum_count"), ac = f.require("analyze_count"),
            aac = f.require("autoanalyze_count"), size = f.require("size_bytes");
  Parsed<model::TableStats> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::TableStats t;
    t.schemaname = f.text(r, schema);
    t.relname = f.text(r, rel);
    t.live_tuples = f.integer(r, live);
    t.dead_tuples = f.integer(r, dead);
    t.mod_since_analyze = f.integer(r, mod);
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
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(t));
  }
  return out;
}

}  // namespace pghealthd::collectors
