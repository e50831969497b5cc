#include "collectors/sequences.h"

namespace pghealthd::collectors {

// A sequence feeds a column when it is owned by it (serial: dependency 'a'), is its identity sequence
// ('i'), or a column's DEFAULT calls nextval() of it (a normal dependency of the pg_attrdef row). The
// narrowest of those columns' types bounds it: 1 smallint, 2 integer, 3 bigint. The last value is read
// only where the role may (pg_sequence_last_value() raises an error otherwise), and not for an unlogged
// sequence on a standby, which has none; temporary sequences belong to other sessions.
const std::string_view kSequencesSql = R"SQL(
WITH feeds AS MATERIALIZED (
  SELECT d.objid AS seqid, a.atttypid
    FROM pg_depend d
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
   WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
     AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
  UNION ALL
  SELECT d.refobjid, a.atttypid
    FROM pg_depend d
    JOIN pg_attrdef ad ON ad.oid = d.objid
    JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
   WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass),
     narrowest AS MATERIALIZED (
  SELECT seqid, min(CASE atttypid WHEN 'int2'::regtype THEN 1 WHEN 'int4'::regtype THEN 2
                                  WHEN 'int8'::regtype THEN 3 END) AS width
    FROM feeds GROUP BY seqid)
SELECT n.nspname AS schemaname,
       c.relname AS sequencename,
       has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,
       CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
             AND (c.relpersistence = 'p' OR NOT pg_is_in_recovery())
            THEN pg_sequence_last_value(c.oid::regclass) END AS last_value,
       s.seqincrement AS increment,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       CASE w.width WHEN 1 THEN 'smallint' WHEN 2 THEN 'integer' WHEN 3 THEN 'bigint' ELSE '' END AS column_type
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN narrowest w ON w.seqid = c.oid
 WHERE c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
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
