#include "collectors/statio_user_tables.h"

namespace pghealthd::collectors {

// The view pg_statio_user_tables sums its indexes' blocks in two correlated subqueries per table (an
// index scan of pg_index each, 20,000 of them at 10,000 tables); here pg_index is aggregated once and
// hash-joined, for the table and for its TOAST table.
const std::string_view kStatioUserTablesSql = R"SQL(
WITH index_blocks AS MATERIALIZED (
  SELECT indrelid,
         sum(pg_stat_get_blocks_fetched(indexrelid) - pg_stat_get_blocks_hit(indexrelid))::bigint AS blks_read,
         sum(pg_stat_get_blocks_hit(indexrelid))::bigint AS blks_hit
    FROM pg_index GROUP BY indrelid)
SELECT n.nspname AS schemaname,
       c.relname,
       pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid) AS heap_blks_read,
       pg_stat_get_blocks_hit(c.oid) AS heap_blks_hit,
       i.blks_read AS idx_blks_read,
       i.blks_hit AS idx_blks_hit,
       pg_stat_get_blocks_fetched(nullif(c.reltoastrelid, 0)) - pg_stat_get_blocks_hit(nullif(c.reltoastrelid, 0))
         AS toast_blks_read,
       pg_stat_get_blocks_hit(nullif(c.reltoastrelid, 0)) AS toast_blks_hit,
       x.blks_read AS tidx_blks_read,
       x.blks_hit AS tidx_blks_hit
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN index_blocks i ON i.indrelid = c.oid
  LEFT JOIN index_blocks x ON x.indrelid = c.reltoastrelid
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
)SQL";

pg::Parsed<model::TableIo> parse_statio_user_tables(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int schema = f.require("schemaname"), rel = f.require("relname"), hr = f.require("heap_blks_read"),
            hh = f.require("heap_blks_hit"), ir = f.require("idx_blks_read"), ih = f.require("idx_blks_hit"),
            tr = f.require("toast_blks_read"), th = f.require("toast_blks_hit"),
            xr = f.require("tidx_blks_read"), xh = f.require("tidx_blks_hit");
  pg::Parsed<model::TableIo> out;
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
