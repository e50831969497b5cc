#include "collectors/sequences.h"

namespace pghealthd::collectors {

// One page (collectors::Definition::page_rows) of the database's sequences, by OID after $1, read from
// pg_sequence's own index: reading a last value locks the sequence until the transaction ends, so a page's
// transaction holds kSequencePage locks at most, never one per sequence of a large database (which could
// exhaust the server's lock table). Rows of sequences pghealthd does not report (temporary ones, which
// belong to other sessions, and system schemas') stay in the page with `listed` false, so that a short
// page still means the last one.
// A sequence feeds a column when it is owned by it (serial: dependency 'a'), is its identity sequence
// ('i'), or a column's DEFAULT calls nextval() of it (a normal dependency of the pg_attrdef row), each
// looked up by index (the DEFAULT's by the sequence, as a reference: "IS TRUE" keeps the planner from
// scanning every pg_attrdef dependency of the database through the depender index instead). The narrowest of those columns' types bounds it: 1 smallint, 2 integer, 3 bigint.
// The last value is read only where the role may (pg_sequence_last_value() raises an error otherwise),
// and not for an unlogged sequence on a standby, which has none.
const std::string_view kSequencesSql = R"SQL(
WITH page AS MATERIALIZED (
  SELECT s.seqrelid, s.seqincrement, s.seqmin, s.seqmax
    FROM pg_sequence s
   WHERE s.seqrelid > $1::oid
   ORDER BY s.seqrelid
   LIMIT 500),
     listed AS MATERIALIZED (
  SELECT p.*, x.nspname, x.relname, x.relpersistence,
         x.relpersistence <> 't' AND x.nspname NOT IN ('pg_catalog', 'information_schema') AS listed
    FROM page p
   CROSS JOIN LATERAL (SELECT n.nspname, c.relname, c.relpersistence  -- by index (OFFSET 0: not a hash of pg_class)
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.oid = p.seqrelid OFFSET 0) x),
     readable AS MATERIALIZED (
  SELECT l.*, l.listed AND has_sequence_privilege(l.seqrelid, 'SELECT,USAGE') AS readable FROM listed l)
SELECT r.seqrelid AS page_key,
       r.listed,
       r.nspname AS schemaname,
       r.relname AS sequencename,
       r.readable,
       CASE WHEN r.readable AND (r.relpersistence = 'p' OR NOT pg_is_in_recovery())
            THEN pg_sequence_last_value(r.seqrelid::regclass) END AS last_value,
       r.seqincrement AS increment,
       r.seqmin AS min_value,
       r.seqmax AS max_value,
       CASE w.width WHEN 1 THEN 'smallint' WHEN 2 THEN 'integer' WHEN 3 THEN 'bigint' ELSE '' END AS column_type
  FROM readable r
  LEFT JOIN LATERAL (
    SELECT min(CASE f.atttypid WHEN 'int2'::regtype THEN 1 WHEN 'int4'::regtype THEN 2
                               WHEN 'int8'::regtype THEN 3 END) AS width
      FROM (SELECT a.atttypid
              FROM pg_depend d
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = r.seqrelid AND d.objsubid = 0
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
            UNION ALL
            SELECT a.atttypid
              FROM pg_depend d
              JOIN pg_attrdef ad ON ad.oid = d.objid
              JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
             WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = r.seqrelid
               AND (d.classid = 'pg_attrdef'::regclass) IS TRUE) f) w ON r.listed
 ORDER BY r.seqrelid
)SQL";

pg::Parsed<model::SequenceState> parse_sequences(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int listed = f.require("listed"), schema = f.require("schemaname"), name = f.require("sequencename"),
            readable = f.require("readable"),
            last = f.require("last_value"), increment = f.require("increment"), min = f.require("min_value"),
            max = f.require("max_value"), type = f.require("column_type");
  pg::Parsed<model::SequenceState> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    if (!f.boolean(r, listed)) {  // a temporary or system sequence, kept in the page for paging only
      if (!f.error().empty()) return {{}, f.error()};
      continue;
    }
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
