#include "collectors/sequences.h"

namespace pghealthd::collectors {

// One page (collectors::Definition::page_rows) of the database's sequences, by OID after $1: reading a last
// value locks the sequence until the transaction ends, so a page's transaction holds kSequencePage locks at
// most, never one per sequence of a large database (which could exhaust the server's lock table).
// A sequence feeds a column when it is owned by it (serial: dependency 'a'), is its identity sequence
// ('i'), or a column's DEFAULT calls nextval() of it (a normal dependency of the pg_attrdef row): looked up
// by index for the page's sequences only. The narrowest of those columns' types bounds it: 1 smallint,
// 2 integer, 3 bigint. The last value is read only where the role may (pg_sequence_last_value() raises an
// error otherwise), and not for an unlogged sequence on a standby, which has none; temporary sequences
// belong to other sessions.
const std::string_view kSequencesSql = R"SQL(
WITH page AS MATERIALIZED (
  SELECT c.oid, n.nspname, c.relname, c.relpersistence, has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'S' AND c.oid > $1::oid
     AND c.relpersistence <> 't'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   ORDER BY c.oid
   LIMIT 500),
     feeds AS MATERIALIZED (
  SELECT d.objid AS seqid, a.atttypid
    FROM page p
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = p.oid
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
   WHERE d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
  UNION ALL
  SELECT d.refobjid, a.atttypid
    FROM page p
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = p.oid
    JOIN pg_attrdef ad ON ad.oid = d.objid
    JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
   WHERE d.classid = 'pg_attrdef'::regclass)
SELECT p.oid AS page_key,
       p.nspname AS schemaname,
       p.relname AS sequencename,
       p.readable,
       CASE WHEN p.readable AND (p.relpersistence = 'p' OR NOT pg_is_in_recovery())
            THEN pg_sequence_last_value(p.oid::regclass) END AS last_value,
       s.seqincrement AS increment,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       CASE (SELECT min(CASE f.atttypid WHEN 'int2'::regtype THEN 1 WHEN 'int4'::regtype THEN 2
                                        WHEN 'int8'::regtype THEN 3 END)
               FROM feeds f WHERE f.seqid = p.oid)
         WHEN 1 THEN 'smallint' WHEN 2 THEN 'integer' WHEN 3 THEN 'bigint' ELSE '' END AS column_type
  FROM page p
  JOIN pg_sequence s ON s.seqrelid = p.oid
 ORDER BY p.oid
)SQL";

pg::Parsed<model::SequenceState> parse_sequences(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int schema = f.require("schemaname"), name = f.require("sequencename"), readable = f.require("readable"),
            last = f.require("last_value"), increment = f.require("increment"), min = f.require("min_value"),
            max = f.require("max_value"), type = f.require("column_type");
  pg::Parsed<model::SequenceState> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::SequenceState s;
    s.schemaname = f.text(r, schema);
    s.sequencename = f.text(r, name);
    s.readable = f.boolean(r, readable);
    s.increment = f.integer(r, increment).value_or(1);
    s.min_value = f.integer(r, min).value_or(s.min_value);
    s.max_value = f.integer(r, max).value_or(s.max_value);
    // NULL when never called (nextval not yet run): it has used nothing of its range.
    s.last_value = f.integer(r, last).value_or(s.increment > 0 ? s.min_value : s.max_value);
    s.column_type = f.text(r, type);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(s));
  }
  return out;
}

}  // namespace pghealthd::collectors
