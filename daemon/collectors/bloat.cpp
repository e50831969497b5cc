#include "collectors/bloat.h"

#include <charconv>
#include <cstdlib>

namespace pghealthd::collectors {

// 't' rows: tables and materialized views (their heap); 'i' rows: their btree indexes, with the table's
// analyze history (an index's statistics are its table's). Temporary tables are another session's memory.
const std::string_view kBloatSql = R"SQL(
WITH rels AS MATERIALIZED (
  SELECT c.oid, n.nspname, c.relname, c.relpages::float8 AS relpages, c.reltuples::float8 AS reltuples,
         c.reloptions,
         (pg_stat_get_last_analyze_time(c.oid) IS NOT NULL
          OR pg_stat_get_last_autoanalyze_time(c.oid) IS NOT NULL) AS analyzed,
         pg_stat_get_mod_since_analyze(c.oid) AS modified
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'm')
     AND c.relpersistence <> 't'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname !~ '^pg_toast'),
     -- pg_stats once (it checks the role's column privileges row by row), joined by hash below.
     stats AS MATERIALIZED (
  SELECT schemaname, tablename, attname, avg_width, null_frac, n_distinct
    FROM pg_stats
   WHERE NOT inherited AND schemaname NOT IN ('pg_catalog', 'information_schema')),
     cols AS MATERIALIZED (
  SELECT a.attrelid, a.attnum,
         coalesce(s.avg_width::text || ':' || s.null_frac::text || ':' || s.n_distinct::text, '?:?:?') || ':' ||
           t.typlen::text || ':' ||
           t.typalign::text AS shape
    FROM rels r
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN stats s ON s.schemaname = r.nspname AND s.tablename = r.relname AND s.attname = a.attname),
     table_shapes AS MATERIALIZED (
  SELECT attrelid, string_agg(shape, ';' ORDER BY attnum) AS columns FROM cols GROUP BY attrelid),
     indexes AS MATERIALIZED (
  SELECT i.indexrelid, i.indrelid, i.indexprs IS NOT NULL AS expressions, i.indkey::int2[] AS keys,
         i.indisvalid AS valid,
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype = 'x') AS exclusion
    FROM rels r
    JOIN pg_index i ON i.indrelid = r.oid
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'),
     index_shapes AS MATERIALIZED (
  SELECT x.indexrelid, string_agg(c.shape, ';' ORDER BY k.n) AS columns
    FROM indexes x
   CROSS JOIN unnest(x.keys) WITH ORDINALITY AS k(attnum, n)
    JOIN cols c ON c.attrelid = x.indrelid AND c.attnum = k.attnum
   GROUP BY x.indexrelid)
SELECT 't' AS kind, r.oid AS relid, r.oid AS table_relid, r.nspname AS schemaname, r.relname, '' AS indexrelname, r.relpages,
       r.reltuples,
       coalesce((SELECT o.option_value::int FROM pg_options_to_table(r.reloptions) o
                  WHERE o.option_name = 'fillfactor'), 100) AS fillfactor,
       r.analyzed, r.modified, false AS expressions, true AS valid, false AS exclusion,
       coalesce(ts.columns, '') AS columns
  FROM rels r
  LEFT JOIN table_shapes ts ON ts.attrelid = r.oid
UNION ALL
SELECT 'i', ic.oid, r.oid, r.nspname, r.relname, ic.relname, ic.relpages::float8, ic.reltuples::float8,
       coalesce((SELECT o.option_value::int FROM pg_options_to_table(ic.reloptions) o
                  WHERE o.option_name = 'fillfactor'), 90),
       r.analyzed, r.modified, x.expressions, x.valid, x.exclusion, coalesce(xs.columns, '')
  FROM indexes x
  JOIN rels r ON r.oid = x.indrelid
  JOIN pg_class ic ON ic.oid = x.indexrelid
  LEFT JOIN index_shapes xs ON xs.indexrelid = x.indexrelid
)SQL";

namespace {

std::optional<double> number_of(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (!end || *end != '\0') return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::vector<std::optional<model::ColumnWidth>>> parse_columns(std::string_view text) {
  std::vector<std::optional<model::ColumnWidth>> out;
  while (!text.empty()) {
    const auto semi = text.find(';');
    std::string_view item = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    constexpr int kParts = 5;
    std::string_view parts[kParts];
    for (int p = 0; p < kParts; ++p) {
      const auto colon = item.find(':');
      if ((p < kParts - 1) == (colon == std::string_view::npos)) return std::nullopt;  // five parts, no more
      parts[p] = item.substr(0, colon);
      item = p < kParts - 1 ? item.substr(colon + 1) : std::string_view();
    }
    const auto typlen = number_of(parts[3]);
    if (!typlen || parts[4].size() != 1) return std::nullopt;
    if (parts[0] == "?" && parts[1] == "?" && parts[2] == "?") {
      out.emplace_back(std::nullopt);
      continue;
    }
    const auto width = number_of(parts[0]), null_frac = number_of(parts[1]), distinct = number_of(parts[2]);
    if (!width || !null_frac || !distinct) return std::nullopt;
    out.emplace_back(model::ColumnWidth{*width, *null_frac, static_cast<int>(*typlen), parts[4][0], *distinct});
  }
  return out;
}

std::string parse_bloat(const pg::Rows& rows, Data& out) {
  pg::FieldReader f(rows);
  const int kind = f.require("kind"), relid = f.require("relid"), table_relid = f.require("table_relid"),
            schema = f.require("schemaname"),
            rel = f.require("relname"), index = f.require("indexrelname"), pages = f.require("relpages"),
            tuples = f.require("reltuples"), ff = f.require("fillfactor"), analyzed = f.require("analyzed"),
            modified = f.require("modified"), expressions = f.require("expressions"), valid = f.require("valid"),
            exclusion = f.require("exclusion"), columns = f.require("columns");
  if (!f.error().empty()) return f.error();
  std::vector<model::RelationBloat> all;
  all.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::RelationBloat b;
    const std::string k = f.text(r, kind);
    if (k != "t" && k != "i") return "row " + std::to_string(r) + ": unknown kind '" + k + "'";
    b.index = k == "i";
    b.relid = f.integer(r, relid).value_or(0);
    b.table_relid = f.integer(r, table_relid).value_or(0);
    b.valid = f.boolean(r, valid);
    b.exclusion = f.boolean(r, exclusion);
    b.schemaname = f.text(r, schema);
    b.relname = f.text(r, rel);
    b.indexrelname = f.text(r, index);
    model::RelationShape s;
    s.relpages = f.number(r, pages).value_or(0);
    s.reltuples = f.number(r, tuples).value_or(-1);
    s.fillfactor = static_cast<int>(f.integer(r, ff).value_or(b.index ? 90 : 100));
    s.analyzed = f.boolean(r, analyzed);
    s.modified_since_analyze = f.number(r, modified).value_or(0);
    s.expressions = f.boolean(r, expressions);
    auto parsed = parse_columns(f.text(r, columns));
    if (!parsed) return "row " + std::to_string(r) + ": malformed columns";
    s.columns = std::move(*parsed);
    if (!f.error().empty()) return f.error();
    b.estimate = b.index ? model::estimate_btree_bloat(s) : model::estimate_table_bloat(s);
    b.shape = model::KeptShape{s.relpages, s.block_size, s.fillfactor};
    all.push_back(std::move(b));
  }
  out.bloat = std::move(all);
  return {};
}

}  // namespace pghealthd::collectors
