#include "collectors/freeze.h"

namespace pghealthd::collectors {

// One answer for both scopes: 't' rows are this database's tables (their own age or their TOAST table's,
// whichever is older: greatest() skips the NULL of a table without one), 'd' rows every database.
// age() and mxid_age() of a valid ID are at most 2^31; reloptions are applied by model::effective_freeze.
const std::string_view kFreezeSql = R"SQL(
WITH settings AS MATERIALIZED (
  SELECT current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age,
         current_setting('autovacuum_multixact_freeze_max_age')::bigint AS multixact_freeze_max_age,
         current_setting('block_size')::bigint AS block_size)
SELECT 't' AS scope,
       c.oid AS relid,
       c.relpersistence = 't' AS temporary,
       n.nspname AS schemaname,
       c.relname,
       '' AS datname,
       greatest(age(c.relfrozenxid), age(t.relfrozenxid)) AS xid_age,
       greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) AS mxid_age,
       c.reloptions::text AS reloptions,
       s.freeze_max_age,
       s.multixact_freeze_max_age,
       (c.relpages::bigint + coalesce(t.relpages, 0)::bigint) * s.block_size AS size_bytes
  FROM settings s
 CROSS JOIN pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
UNION ALL
SELECT 'd', NULL, false, '', '', d.datname, age(d.datfrozenxid), mxid_age(d.datminmxid), NULL, s.freeze_max_age,
       s.multixact_freeze_max_age, NULL
  FROM settings s
 CROSS JOIN pg_database d
)SQL";

std::string parse_freeze(const pg::Rows& rows, Data& out) {
  pg::FieldReader f(rows);
  const int scope = f.require("scope"), relid = f.require("relid"), temporary = f.require("temporary"),
            schema = f.require("schemaname"), rel = f.require("relname"),
            datname = f.require("datname"), xid = f.require("xid_age"), mxid = f.require("mxid_age"),
            relopts = f.require("reloptions"), fma = f.require("freeze_max_age"),
            mfma = f.require("multixact_freeze_max_age"), size = f.require("size_bytes");
  if (!f.error().empty()) return f.error();
  std::vector<model::FreezeAge> tables;
  std::vector<model::DatabaseAge> databases;
  tables.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    const std::string kind = f.text(r, scope);
    if (kind == "d") {
      databases.push_back({f.text(r, datname), f.integer(r, xid), f.integer(r, mxid)});
    } else if (kind == "t") {
      model::FreezeAge t;
      t.relid = f.integer(r, relid).value_or(0);
      t.temporary = f.boolean(r, temporary);
      t.schemaname = f.text(r, schema);
      t.relname = f.text(r, rel);
      t.xid_age = f.integer(r, xid);
      t.mxid_age = f.integer(r, mxid);
      model::FreezeSettings server;
      server.freeze_max_age = f.integer(r, fma).value_or(server.freeze_max_age);
      server.multixact_freeze_max_age = f.integer(r, mfma).value_or(server.multixact_freeze_max_age);
      const auto options = rows.get(r, relopts);
      const auto effective = options ? model::effective_freeze(server, *options) : server;
      t.freeze_max_age = effective.freeze_max_age;
      t.multixact_freeze_max_age = effective.multixact_freeze_max_age;
      t.size_bytes = f.integer(r, size);
      tables.push_back(std::move(t));
    } else {
      return "row " + std::to_string(r) + ": unknown scope '" + kind + "'";
    }
    if (!f.error().empty()) return f.error();
  }
  out.freeze = std::move(tables);
  out.databases = std::move(databases);
  return {};
}

}  // namespace pghealthd::collectors
