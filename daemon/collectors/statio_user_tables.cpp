#include "collectors/statio_user_tables.h"

#include <unordered_map>

namespace pghealthd::collectors {

// The view pg_statio_user_tables sums each table's indexes' blocks in two correlated subqueries per table
// (an index scan of pg_index each). Here the server only reads: one row per table with its heap's and its
// TOAST table's blocks ('t'), and one row per index of a user relation with its own ('i', keyed by the
// relation it indexes: a table or a TOAST table); pghealthd sums the indexes per relation. That costs the
// server about half of what aggregating and joining them there did (issue 18): the statistics lookups
// are the same, the hash aggregate of numeric sums and its two joins are gone. Relations below
// FirstNormalObjectId (16384) are the catalogs' own, never a user table's or its TOAST table's.
const std::string_view kStatioUserTablesSql = R"SQL(
SELECT 't' AS scope,
       c.oid AS relid,
       nullif(c.reltoastrelid, 0) AS toast_relid,
       n.nspname AS schemaname,
       c.relname,
       pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid) AS blks_read,
       pg_stat_get_blocks_hit(c.oid) AS blks_hit,
       pg_stat_get_blocks_fetched(nullif(c.reltoastrelid, 0)) - pg_stat_get_blocks_hit(nullif(c.reltoastrelid, 0))
         AS toast_blks_read,
       pg_stat_get_blocks_hit(nullif(c.reltoastrelid, 0)) AS toast_blks_hit
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
UNION ALL
SELECT 'i', x.indrelid, NULL, NULL, NULL,
       pg_stat_get_blocks_fetched(x.indexrelid) - pg_stat_get_blocks_hit(x.indexrelid),
       pg_stat_get_blocks_hit(x.indexrelid),
       NULL, NULL
  FROM pg_index x
 WHERE x.indrelid >= 16384
)SQL";

pg::Parsed<model::TableIo> parse_statio_user_tables(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int scope = f.require("scope"), relid = f.require("relid"), toast = f.require("toast_relid"),
            schema = f.require("schemaname"), rel = f.require("relname"), read = f.require("blks_read"),
            hit = f.require("blks_hit"), tr = f.require("toast_blks_read"), th = f.require("toast_blks_hit");
  pg::Parsed<model::TableIo> out;
  if (!f.error().empty()) return {{}, f.error()};
  // Each relation's indexes, summed: read and hit. A relation without indexes has no entry, so its sums
  // stay NULL, as the view's sum over no rows.
  struct Blocks {
    std::int64_t read = 0, hit = 0;
  };
  std::unordered_map<std::int64_t, Blocks> indexes;
  std::size_t tables = 0;
  for (int r = 0; r < rows.size(); ++r) {
    const std::string kind = f.text(r, scope);
    if (kind == "t") {
      ++tables;
      continue;
    }
    if (kind != "i") return {{}, "row " + std::to_string(r + 1) + ": unknown scope '" + kind + "'"};
    auto& sum = indexes[f.integer(r, relid).value_or(0)];
    // The server's counters are bigints: no real sum leaves their range, but a broken answer's may.
    if (__builtin_add_overflow(sum.read, f.integer(r, read).value_or(0), &sum.read) ||
        __builtin_add_overflow(sum.hit, f.integer(r, hit).value_or(0), &sum.hit))
      return {{}, "row " + std::to_string(r + 1) + ": a table's index blocks add up past a bigint"};
    if (!f.error().empty()) return {{}, f.error()};
  }
  auto sums = [&](std::optional<std::int64_t> relation, model::Count& blks_read, model::Count& blks_hit) {
    if (!relation) return;
    const auto it = indexes.find(*relation);
    if (it == indexes.end()) return;
    blks_read = it->second.read;
    blks_hit = it->second.hit;
  };
  out.rows.reserve(tables);
  for (int r = 0; r < rows.size(); ++r) {
    if (f.text(r, scope) != "t") continue;
    model::TableIo t;
    t.schemaname = f.text(r, schema);
    t.relname = f.text(r, rel);
    t.heap_blks_read = f.integer(r, read);
    t.heap_blks_hit = f.integer(r, hit);
    t.toast_blks_read = f.integer(r, tr);
    t.toast_blks_hit = f.integer(r, th);
    sums(f.integer(r, relid), t.idx_blks_read, t.idx_blks_hit);
    sums(f.integer(r, toast), t.tidx_blks_read, t.tidx_blks_hit);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(t));
  }
  return out;
}

}  // namespace pghealthd::collectors
