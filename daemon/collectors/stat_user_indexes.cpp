#include "collectors/stat_user_indexes.h"

namespace pghealthd::collectors {

const std::string_view kStatUserIndexesSql = R"SQL(
SELECT n.nspname AS schemaname,
       c.relname,
       i.relname AS indexrelname,
       pg_stat_get_numscans(i.oid) AS idx_scan,
       pg_stat_get_tuples_returned(i.oid) AS idx_tup_read,
       pg_stat_get_tuples_fetched(i.oid) AS idx_tup_fetch,
       i.relpages::bigint * (SELECT current_setting('block_size')::bigint) AS size_bytes,
       (x.indisprimary OR x.indisunique OR x.indisexclusion) AS enforces_constraint
  FROM pg_class c
  JOIN pg_index x ON c.oid = x.indrelid
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 't', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
)SQL";

pg::Parsed<model::IndexStats> parse_stat_user_indexes(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int schema = f.require("schemaname"), rel = f.require("relname"), idx = f.require("indexrelname"),
            scans = f.require("idx_scan"), read = f.require("idx_tup_read"),
            fetch = f.require("idx_tup_fetch"), size = f.require("size_bytes"),
            enforces = f.require("enforces_constraint");
  pg::Parsed<model::IndexStats> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::IndexStats i;
    i.schemaname = f.text(r, schema);
    i.relname = f.text(r, rel);
    i.indexrelname = f.text(r, idx);
    i.scans = f.integer(r, scans);
    i.tuples_read = f.integer(r, read);
    i.tuples_fetched = f.integer(r, fetch);
    i.size_bytes = f.integer(r, size);
    i.enforces_constraint = f.boolean(r, enforces);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(i));
  }
  return out;
}

}  // namespace pghealthd::collectors
