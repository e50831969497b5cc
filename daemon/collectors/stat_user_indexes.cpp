#include "collectors/stat_user_indexes.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace pghealthd::collectors {
namespace {

// 'i' rows are the indexes of this database's tables (partitioned parents' indexes have no storage and no
// scans of their own: their partitions' indexes are the rows); the 'd' row is the database's statistics.
// An invalid index is `building` while a CREATE INDEX CONCURRENTLY builds it (index_relid) or a REINDEX
// CONCURRENTLY of its table runs (its transient _ccnew and _ccold indexes are invalid meanwhile).
// Expressions and predicates are deparsed (pg_get_expr) only where there are any: stored node trees hold
// the position in the statement that created them, so two identical indexes would differ.
//
// Two statements over the same rows: a full one with each index's names and definition, and a light one
// with its counters alone (the names and definitions cost the server about half of a run, and change only
// with DDL). What a light run keeps from the last full one is checked two ways, both on catalog rows'
// xmin: any transactional change of a row (CREATE, DROP, ALTER, RENAME, TRUNCATE, a constraint added USING
// INDEX, ATTACH PARTITION) writes a new row version with a new xmin; VACUUM and ANALYZE update relpages in
// place and do not.
// - Each index's `version`, a hash of its own pg_class and pg_index rows' xmin: read from the rows the
//   counters come from, so it costs nothing more.
// - The database's `catalog` (the 'd' row), a sum of hashes of the xmin of every row the names, flags and
//   verdicts also come from: the user schemas, their tables, partitioned tables and partitioned indexes (a
//   partition index's parent), and the constraints an index can back. A light run whose `catalog` differs
//   from the full run's is not used (a table renamed, a schema renamed, a constraint added on an index).
//   Summing them costs the server a quarter of what joining every index to its table, schema and
//   constraint did (issue 18; bench/observations.md).
// Both statements select the same indexes: those of this database's tables and materialized views in user
// schemas (an index is always in its table's schema; a partitioned table's own indexes, relkind 'I', have
// no storage and no scans, and its partitions' indexes are the rows). A column rename changes no xmin
// here but no verdict either (it renames the column in every expression alike), and definitions are not
// kept, only verdicts.
// Both statements read pg_index and the indexes' own pg_class rows, and select them by one WHERE clause; the
// full one also joins each index to its table, schema, access method, constraint and parent.
constexpr std::string_view kIndexes = R"SQL(
  FROM settings s
 CROSS JOIN pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid)SQL";

constexpr std::string_view kFullJoins = R"SQL(
  JOIN pg_class c ON c.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_am am ON am.oid = i.relam
  -- At most one: an index backs one primary key, unique or exclusion constraint of its table. Hash-joined
  -- once instead of a lookup per unique index.
  LEFT JOIN pg_constraint k ON k.conindid = i.oid AND k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x')
  LEFT JOIN pg_inherits h ON h.inhrelid = i.oid AND i.relispartition)SQL";

constexpr std::string_view kWhere = R"SQL(
 WHERE i.relkind = 'i'
   AND i.relnamespace IN (SELECT oid FROM user_schemas))SQL";

constexpr std::string_view kWith = R"SQL(
WITH progress AS MATERIALIZED (
  SELECT relid, index_relid, command FROM pg_stat_progress_create_index),
     settings AS MATERIALIZED (
  SELECT current_setting('block_size')::bigint AS block_size),
     user_schemas AS MATERIALIZED (
  SELECT oid, xmin FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_toast'))SQL";

// The counters of both statements, after indexrelid.
constexpr std::string_view kCounters = R"SQL(
       hashint8extended((i.xmin::text::bigint << 32) | x.xmin::text::bigint, i.oid::bigint) AS version,
       pg_stat_get_numscans(i.oid) AS idx_scan,
       pg_stat_get_tuples_returned(i.oid) AS idx_tup_read,
       pg_stat_get_tuples_fetched(i.oid) AS idx_tup_fetch,
       @LAST_SCAN@
       i.relpages::bigint * s.block_size AS size_bytes,
       x.indisvalid AS valid,
       NOT x.indisvalid AND EXISTS (SELECT 1 FROM progress p
                                     WHERE p.index_relid = i.oid
                                        OR (p.relid = x.indrelid AND p.command = 'REINDEX CONCURRENTLY')) AS building,)SQL";

constexpr std::string_view kDatabaseRow = R"SQL(
       date_part('epoch', pg_stat_get_db_stat_reset_time(d.oid)) AS stats_reset,
       date_part('epoch', now()) AS server_now,
       pg_stat_get_db_xact_commit(d.oid) + pg_stat_get_db_xact_rollback(d.oid) AS transactions,
       -- Sums of 32-bit hashes (sum(integer) is a bigint: no overflow below 2^31 rows).
       ((SELECT coalesce(sum(hashint8(c.xmin::text::bigint)), 0) FROM pg_class c
          WHERE c.relkind IN ('r', 'm', 'p', 'I') AND c.relnamespace IN (SELECT oid FROM user_schemas))
        + (SELECT coalesce(sum(hashint8(k.xmin::text::bigint)), 0) FROM pg_constraint k
            WHERE k.contype IN ('p', 'u', 'x'))
        + (SELECT coalesce(sum(hashint8((u.xmin::text::bigint << 32) | u.oid::bigint)), 0) FROM user_schemas u)
       )::bigint AS catalog
  FROM pg_database d
 WHERE d.datname = current_database())SQL";

std::string statement(bool full, std::string_view last_scan) {
  std::string sql(kWith);
  sql += "\nSELECT 'i' AS scope,\n       i.oid AS indexrelid,";
  sql += kCounters;
  if (full)
    sql += R"SQL(
       c.oid AS relid,
       n.nspname AS schemaname,
       c.relname,
       i.relname AS indexrelname,
       (x.indisprimary OR x.indisunique OR x.indisexclusion) AS enforces_constraint,
       x.indisunique AS is_unique,
       x.indisreplident AS replica_identity,
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
       coalesce(h.inhparent::regclass::text, '') AS parent_index,)SQL";
  sql += "\n       NULL::float8 AS stats_reset, NULL::float8 AS server_now, NULL::bigint AS transactions,"
         "\n       NULL::bigint AS catalog";
  sql += kIndexes;
  if (full) sql += kFullJoins;
  sql += kWhere;
  sql += "\nUNION ALL\nSELECT 'd', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false,";
  if (full) sql += " NULL, '', '', '', false, false, false, '', '', NULL, '', '', '', '', '', '', '', '',";
  sql += kDatabaseRow;
  const std::string_view marker = "@LAST_SCAN@";
  sql.replace(sql.find(marker), marker.size(), last_scan);
  return sql;
}

constexpr std::string_view kLastScanBefore16 = "NULL::float8 AS last_idx_scan,";
constexpr std::string_view kLastScanSince16 = "date_part('epoch', pg_stat_get_lastscan(i.oid)) AS last_idx_scan,";

// The light or full statement for a server of this version (last_idx_scan is 16+), each built once.
std::string_view statement_for(bool full, int server_version) {
  static const std::string all[2][2] = {
      {statement(false, kLastScanBefore16), statement(false, kLastScanSince16)},
      {statement(true, kLastScanBefore16), statement(true, kLastScanSince16)}};
  return all[full ? 1 : 0][server_version >= 160000 ? 1 : 0];
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

// Writes the redundancy verdicts of one table's indexes into `indexes`: definitions[k] is of indexes[at[k]].
void judge_redundancy(const std::vector<model::IndexDefinition>& definitions, const std::vector<std::size_t>& at,
                      std::vector<model::IndexStats>& indexes) {
  const auto of = [&](const model::IndexDefinition* d) -> model::IndexStats& {
    return indexes[at[static_cast<std::size_t>(d - definitions.data())]];
  };
  for (const auto& r : model::redundant_indexes(definitions)) {
    auto& index = of(r.index);
    index.redundant_kind = r.kind;
    index.covered_by = of(r.covered_by).indexrelname;
  }
}

// The columns both statements have.
struct CounterColumns {
  int scope, indexrelid, version, scans, read, fetch, last_scan, size, valid, building, reset, now, xacts, catalog;
  explicit CounterColumns(pg::FieldReader& f)
      : scope(f.require("scope")), indexrelid(f.require("indexrelid")), version(f.require("version")),
        scans(f.require("idx_scan")), read(f.require("idx_tup_read")), fetch(f.require("idx_tup_fetch")),
        last_scan(f.require("last_idx_scan")), size(f.require("size_bytes")), valid(f.require("valid")),
        building(f.require("building")), reset(f.require("stats_reset")), now(f.require("server_now")),
        xacts(f.require("transactions")), catalog(f.require("catalog")) {}

  void read_counters(pg::FieldReader& f, int r, model::IndexStats& i) const {
    i.scans = f.integer(r, scans);
    i.tuples_read = f.integer(r, read);
    i.tuples_fetched = f.integer(r, fetch);
    i.last_scan = f.number(r, last_scan);
    i.size_bytes = f.integer(r, size);
    i.valid = f.boolean(r, valid);
    i.building = f.boolean(r, building);
  }

  [[nodiscard]] model::DatabaseStatistics read_database(pg::FieldReader& f, int r) const {
    model::DatabaseStatistics d;
    d.reset_timestamp = f.number(r, reset);
    d.server_now = f.number(r, now).value_or(0);
    d.transactions = f.integer(r, xacts);
    d.catalog = f.integer(r, catalog);
    return d;
  }
};

std::string unknown_scope(int r, std::string_view kind) {
  return "row " + std::to_string(r + 1) + ": unknown scope '" + std::string(kind) + "'";
}

}  // namespace

std::string_view stat_user_indexes_sql(int server_version) { return statement_for(true, server_version); }

std::string_view stat_user_indexes_light_sql(int server_version) { return statement_for(false, server_version); }

std::string parse_stat_user_indexes(const pg::Rows& rows, Data& out) {
  pg::FieldReader f(rows);
  const CounterColumns c(f);
  const int relid = f.require("relid"), schema = f.require("schemaname"), rel = f.require("relname"),
            idx = f.require("indexrelname"), enforces = f.require("enforces_constraint"),
            unique = f.require("is_unique"), replident = f.require("replica_identity"),
            am = f.require("access_method"), columns = f.require("columns"), key_columns = f.require("key_columns"),
            opclasses = f.require("opclasses"), collations = f.require("collations"),
            column_options = f.require("column_options"), options = f.require("options"),
            expressions = f.require("expressions"), predicate = f.require("predicate"),
            constraint = f.require("constraint_name"), parent = f.require("parent_index");
  if (!f.error().empty()) return f.error();
  std::vector<model::IndexStats> indexes;
  indexes.reserve(static_cast<std::size_t>(rows.size()));
  std::optional<model::DatabaseStatistics> statistics;
  struct Row {
    std::int64_t table_relid;
    std::size_t index;  // in `indexes`
    int row;            // in `rows`
  };
  std::vector<Row> by_table;
  by_table.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    const std::string kind = f.text(r, c.scope);
    if (kind == "d") {
      statistics = c.read_database(f, r);
    } else if (kind == "i") {
      model::IndexStats i;
      i.indexrelid = f.integer(r, c.indexrelid).value_or(0);
      i.table_relid = f.integer(r, relid).value_or(0);
      i.schemaname = f.text(r, schema);
      i.relname = f.text(r, rel);
      i.indexrelname = f.text(r, idx);
      i.set_constraint_name(f.text(r, constraint));
      i.access_method = model::intern_access_method(f.text(r, am));
      i.enforces_constraint = f.boolean(r, enforces);
      i.unique = f.boolean(r, unique);
      i.version = f.integer(r, c.version).value_or(0);
      c.read_counters(f, r, i);
      i.replica_identity = f.boolean(r, replident);
      i.parent_index = f.text(r, parent);
      by_table.push_back({i.table_relid, indexes.size(), r});
      indexes.push_back(std::move(i));
    } else {
      return unknown_scope(r, kind);
    }
    if (!f.error().empty()) return f.error();
  }
  // Redundancy is judged between the indexes of one table: their definitions are read from the answer a
  // table at a time and let go once judged, so a full run holds one table's, not every index's.
  std::stable_sort(by_table.begin(), by_table.end(),
                   [](const Row& a, const Row& b) { return a.table_relid < b.table_relid; });
  std::vector<model::IndexDefinition> table;
  std::vector<std::size_t> at;
  for (std::size_t k = 0; k < by_table.size();) {
    table.clear();
    at.clear();
    for (const auto relid_of_table = by_table[k].table_relid;
         k < by_table.size() && by_table[k].table_relid == relid_of_table; ++k) {
      const auto& i = indexes[by_table[k].index];
      const int r = by_table[k].row;
      model::IndexDefinition d;
      d.indexrelid = i.indexrelid;
      d.table_relid = i.table_relid;
      d.access_method = i.access_method;
      d.unique = i.unique;
      d.enforces_constraint = i.enforces_constraint;
      d.key_columns = static_cast<int>(f.integer(r, key_columns).value_or(0));
      if (!parse_vector(f.text(r, columns), d.columns) || !parse_vector(f.text(r, opclasses), d.opclasses) ||
          !parse_vector(f.text(r, collations), d.collations) ||
          !parse_vector(f.text(r, column_options), d.column_options))
        return "row " + std::to_string(r + 1) + ": an index definition vector is not a list of numbers";
      d.options = f.text(r, options);
      d.expressions = f.text(r, expressions);
      d.predicate = f.text(r, predicate);
      if (!f.error().empty()) return f.error();
      table.push_back(std::move(d));
      at.push_back(by_table[k].index);
    }
    judge_redundancy(table, at, indexes);
  }
  out.indexes = std::move(indexes);
  out.statistics = statistics;
  return {};
}

std::string parse_stat_user_indexes_light(const pg::Rows& rows, Data& out) {
  pg::FieldReader f(rows);
  const CounterColumns c(f);
  if (!f.error().empty()) return f.error();
  // The previous run's indexes, by indexrelid: each row updates its own, of the same version.
  std::unordered_map<std::int64_t, std::size_t> known;
  known.reserve(out.indexes.size());
  for (std::size_t k = 0; k < out.indexes.size(); ++k) known.emplace(out.indexes[k].indexrelid, k);
  std::optional<model::DatabaseStatistics> statistics;
  std::size_t updated = 0;
  std::vector<bool> seen(out.indexes.size(), false);
  for (int r = 0; r < rows.size(); ++r) {
    const std::string kind = f.text(r, c.scope);
    if (kind == "d") {
      statistics = c.read_database(f, r);
    } else if (kind == "i") {
      const auto indexrelid = f.integer(r, c.indexrelid).value_or(0);
      const auto at = known.find(indexrelid);
      // An index created or altered since: its names, flags or verdicts (and its table's others') are not
      // known. Only a full run can tell.
      if (at == known.end() || out.indexes[at->second].version != f.integer(r, c.version).value_or(0)) {
        out.needs_full_run = true;
        return {};
      }
      // Named twice, it would stand in for one left out: not an answer to this statement.
      if (seen[at->second])
        return "row " + std::to_string(r + 1) + ": index " + std::to_string(indexrelid) + " is in the answer twice";
      seen[at->second] = true;
      c.read_counters(f, r, out.indexes[at->second]);
      ++updated;
    } else {
      return unknown_scope(r, kind);
    }
    if (!f.error().empty()) return f.error();
  }
  // An index dropped since: another's verdict may have been judged against it. Or a table, a schema or a
  // constraint changed since (the catalog's sum): names or verdicts the full run read may be stale.
  const auto catalog_of = [](const std::optional<model::DatabaseStatistics>& d) {
    return d ? d->catalog : std::nullopt;
  };
  const auto catalog = catalog_of(statistics);
  if (updated != out.indexes.size() || !catalog || catalog != catalog_of(out.statistics)) {
    out.needs_full_run = true;
    return {};
  }
  out.statistics = statistics;
  return {};
}

}  // namespace pghealthd::collectors
