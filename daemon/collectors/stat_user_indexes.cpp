#include "collectors/stat_user_indexes.h"

#include <charconv>

namespace pghealthd::collectors {
namespace {

// 'i' rows are the indexes of this database's tables (partitioned parents' indexes have no storage and no
// scans of their own: their partitions' indexes are the rows); the 'd' row is the database's statistics.
// An invalid index is `building` while a CREATE INDEX CONCURRENTLY builds it (index_relid) or a REINDEX
// CONCURRENTLY of its table runs (its transient _ccnew and _ccold indexes are invalid meanwhile).
// Expressions and predicates are deparsed (pg_get_expr) only where there are any: stored node trees hold
// the position in the statement that created them, so two identical indexes would differ.
constexpr std::string_view kTemplate = R"SQL(
WITH progress AS MATERIALIZED (
  SELECT relid, index_relid, command FROM pg_stat_progress_create_index),
     settings AS MATERIALIZED (
  SELECT current_setting('block_size')::bigint AS block_size)
SELECT 'i' AS scope,
       i.oid AS indexrelid,
       c.oid AS relid,
       n.nspname AS schemaname,
       c.relname,
       i.relname AS indexrelname,
       pg_stat_get_numscans(i.oid) AS idx_scan,
       pg_stat_get_tuples_returned(i.oid) AS idx_tup_read,
       pg_stat_get_tuples_fetched(i.oid) AS idx_tup_fetch,
       @LAST_SCAN@
       i.relpages::bigint * s.block_size AS size_bytes,
       (x.indisprimary OR x.indisunique OR x.indisexclusion) AS enforces_constraint,
       x.indisunique AS is_unique,
       x.indisreplident AS replica_identity,
       x.indisvalid AS valid,
       NOT x.indisvalid AND EXISTS (SELECT 1 FROM progress p
                                     WHERE p.index_relid = i.oid
                                        OR (p.relid = c.oid AND p.command = 'REINDEX CONCURRENTLY')) AS building,
       am.amname AS access_method,
       x.indkey::text AS columns,
       x.indnkeyatts AS key_columns,
       x.indclass::text AS opclasses,
       x.indcollation::text AS collations,
       x.indoption::text AS column_options,
       coalesce(i.reloptions::text, '') AS options,
       CASE WHEN x.indexprs IS NULL THEN '' ELSE pg_get_expr(x.indexprs, x.indrelid) END AS expressions,
       CASE WHEN x.indpred IS NULL THEN '' ELSE pg_get_expr(x.indpred, x.indrelid) END AS predicate,
       coalesce(k.conname, '') AS constraint_name,
       coalesce(h.inhparent::regclass::text, '') AS parent_index,
       NULL::float8 AS stats_reset, NULL::float8 AS server_now, NULL::bigint AS transactions
  FROM settings s
 CROSS JOIN pg_class c
  JOIN pg_index x ON c.oid = x.indrelid
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_am am ON am.oid = i.relam
  JOIN pg_namespace n ON n.oid = c.relnamespace
  -- At most one: an index backs one primary key, unique or exclusion constraint of its table. Hash-joined
  -- once instead of a lookup per unique index.
  LEFT JOIN pg_constraint k ON k.conindid = i.oid AND k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x')
  LEFT JOIN pg_inherits h ON h.inhrelid = i.oid AND i.relispartition
 WHERE c.relkind IN ('r', 't', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
UNION ALL
SELECT 'd', NULL, NULL, '', '', '', NULL, NULL, NULL, NULL::float8, NULL, false, false, false, true, false, '', '',
       NULL, '', '', '', '', '', '', '', '',
       date_part('epoch', pg_stat_get_db_stat_reset_time(d.oid)),
       date_part('epoch', now()),
       pg_stat_get_db_xact_commit(d.oid) + pg_stat_get_db_xact_rollback(d.oid)
  FROM pg_database d
 WHERE d.datname = current_database()
)SQL";

std::string with_last_scan(std::string_view column) {
  std::string sql(kTemplate);
  const std::string_view marker = "@LAST_SCAN@";
  sql.replace(sql.find(marker), marker.size(), column);
  return sql;
}

// "1 2 0" (int2vector, oidvector as text) -> {1, 2, 0}; false on anything else.
template <typename T>
bool parse_vector(std::string_view text, std::vector<T>& out) {
  out.clear();
  while (!text.empty()) {
    const auto space = text.find(' ');
    const auto word = text.substr(0, space);
    T v{};
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size()) return false;
    out.push_back(v);
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return true;
}

// Writes each index's redundancy verdict into it.
void judge_redundancy(std::vector<model::IndexStats>& indexes) {
  std::vector<const model::IndexDefinition*> all;
  all.reserve(indexes.size());
  for (const auto& i : indexes) all.push_back(&i);
  for (const auto& r : model::redundant_indexes(std::move(all))) {
    // Both point into `indexes`: the verdict goes to the element itself.
    auto& index = indexes[static_cast<std::size_t>(static_cast<const model::IndexStats*>(r.index) - indexes.data())];
    index.redundant_kind = std::string(r.kind);
    index.covered_by = r.covered_by->indexrelname;
  }
}

}  // namespace

std::string_view stat_user_indexes_sql(int server_version) {
  static const std::string before16 = with_last_scan("NULL::float8 AS last_idx_scan,"),
                           since16 = with_last_scan("date_part('epoch', pg_stat_get_lastscan(i.oid)) AS last_idx_scan,");
  return server_version >= 160000 ? since16 : before16;
}

std::string parse_stat_user_indexes(const pg::Rows& rows, Data& out) {
  pg::FieldReader f(rows);
  const int scope = f.require("scope"), indexrelid = f.require("indexrelid"), relid = f.require("relid"),
            schema = f.require("schemaname"), rel = f.require("relname"), idx = f.require("indexrelname"),
            scans = f.require("idx_scan"), read = f.require("idx_tup_read"), fetch = f.require("idx_tup_fetch"),
            last_scan = f.require("last_idx_scan"), size = f.require("size_bytes"),
            enforces = f.require("enforces_constraint"), unique = f.require("is_unique"),
            replident = f.require("replica_identity"), valid = f.require("valid"), building = f.require("building"),
            am = f.require("access_method"), columns = f.require("columns"), key_columns = f.require("key_columns"),
            opclasses = f.require("opclasses"), collations = f.require("collations"),
            column_options = f.require("column_options"), options = f.require("options"),
            expressions = f.require("expressions"), predicate = f.require("predicate"),
            constraint = f.require("constraint_name"), parent = f.require("parent_index"),
            reset = f.require("stats_reset"), now = f.require("server_now"), xacts = f.require("transactions");
  if (!f.error().empty()) return f.error();
  std::vector<model::IndexStats> indexes;
  std::optional<model::DatabaseStatistics> statistics;
  indexes.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    const std::string kind = f.text(r, scope);
    if (kind == "d") {
      model::DatabaseStatistics d;
      d.reset_timestamp = f.number(r, reset);
      d.server_now = f.number(r, now).value_or(0);
      d.transactions = f.integer(r, xacts);
      statistics = d;
    } else if (kind == "i") {
      model::IndexStats i;
      i.indexrelid = f.integer(r, indexrelid).value_or(0);
      i.table_relid = f.integer(r, relid).value_or(0);
      i.schemaname = f.text(r, schema);
      i.relname = f.text(r, rel);
      i.indexrelname = f.text(r, idx);
      i.scans = f.integer(r, scans);
      i.tuples_read = f.integer(r, read);
      i.tuples_fetched = f.integer(r, fetch);
      i.last_scan = f.number(r, last_scan);
      i.size_bytes = f.integer(r, size);
      i.enforces_constraint = f.boolean(r, enforces);
      i.unique = f.boolean(r, unique);
      i.replica_identity = f.boolean(r, replident);
      i.valid = f.boolean(r, valid);
      i.building = f.boolean(r, building);
      i.access_method = f.text(r, am);
      i.key_columns = static_cast<int>(f.integer(r, key_columns).value_or(0));
      if (!parse_vector(f.text(r, columns), i.columns) || !parse_vector(f.text(r, opclasses), i.opclasses) ||
          !parse_vector(f.text(r, collations), i.collations) ||
          !parse_vector(f.text(r, column_options), i.column_options))
        return "row " + std::to_string(r) + ": an index definition vector is not a list of numbers";
      i.options = f.text(r, options);
      i.expressions = f.text(r, expressions);
      i.predicate = f.text(r, predicate);
      i.constraint_name = f.text(r, constraint);
      i.parent_index = f.text(r, parent);
      indexes.push_back(std::move(i));
    } else {
      return "row " + std::to_string(r) + ": unknown scope '" + kind + "'";
    }
    if (!f.error().empty()) return f.error();
  }
  judge_redundancy(indexes);
  out.indexes = std::move(indexes);
  out.statistics = statistics;
  return {};
}

}  // namespace pghealthd::collectors
