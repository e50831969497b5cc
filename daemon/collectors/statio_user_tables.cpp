#include "collectors/statio_user_tables.h"

namespace pghealthd::collectors {

const std::string_view kStatioUserTablesSql = R"SQL(
SELECT n.nspname AS schemaname,
       c.relname,
       pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid) AS heap_blks_read,
       pg_stat_get_blocks_hit(c.oid) AS heap_blks_hit,
       i.idx_blks_read,
       i.idx_blks_hit,
       pg_stat_get_blocks_fetched(t.oid) - pg_stat_get_blocks_hit(t.oid) AS toast_blks_read,
       pg_stat_get_blocks_hit(t.oid) AS toast_blks_hit,
       x.idx_blks_read AS tidx_blks_read,
       x.idx_blks_hit AS tidx_blks_hit
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
  LEFT JOIN LATERAL (
        SELECT sum(pg_stat_get_blocks_fetched(indexrelid) - pg_stat_get_blocks_hit(indexrelid))::bigint
                 AS idx_blks_read,
               sum(pg_stat_get_blocks_hit(indexrelid))::bigint AS idx_blks_hit
          FROM pg_index WHERE indrelid = c.oid) i ON true
  LEFT JOIN LATERAL (
        SELECT sum(pg_stat_get_blocks_fetched(indexrelid) - pg_stat_get_blocks_hit(indexrelid))::bigint
                 AS idx_blks_read,
               sum(pg_stat_get_blocks_hit(indexrelid))::bigint AS idx_blks_hit
          FROM pg_index WHERE indrelid = t.oid) x ON true
 WHERE c.relkind IN ('r', 't', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
)SQL";

Parsed<model::TableIo> parse_statio_user_tables(const Rows& rows) {
  FieldReader f(rows);
  const int schema = f.require("schemaname"), rel = f.require("relname"), hr = f.require("heap_blks_read"),
            hh = f.require("heap_blks_hit"), ir = f.require("idx_blks_read"), ih = f.require("idx_blks_hit"),
            tr = f.require("toast_blks_read"), th = f.require("toast_blks_hit"),
            xr = f.require("tidx_blks_read"), xh = f.require("tidx_blks_hit");
  Parsed<model::TableIo> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::TableIo t;
    t.schemaname = f.text(r, schema);
    t.relname = f.text(r, rel);
    t.heap_blks_read = f.integer(r, hr);
    t.heap_blks_hit = f.integer(r, hh);
    t.idx_blks_read = f.integer(r, ir);
    t.idx_blks_hit = f.integer(r, ih);
    t.toast_blks_read = f.integer(r, tr);
    t.toast_blks_hit = f.integer(r, th);
    t.tidx_blks_read = f.integer(r, xr);
    t.tidx_blks_hit = f.integer(r, xh);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(t));
  }
  return out;
}

}  // namespace pghealthd::collectors
