#include "collectors/vacuum_progress.h"

namespace pghealthd::collectors {

// The view lists the vacuums of every database; datid keeps this database's own, so each database's
// collector reports what runs in it. The activity row is LEFT JOINed: a backend that is gone from it
// still has its progress row read in the same statistics snapshot, and is then `other` with no age.
const std::string_view kVacuumProgressSql = R"SQL(
SELECT p.pid,
       n.nspname AS schemaname,
       c.relname,
       p.phase,
       p.heap_blks_total,
       p.heap_blks_scanned,
       a.backend_type,
       a.application_name,
       extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start))::float8 AS running_seconds
  FROM pg_stat_progress_vacuum p
  JOIN pg_class c ON c.oid = p.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_activity a ON a.pid = p.pid
 WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
)SQL";

pg::Parsed<model::VacuumProgress> parse_vacuum_progress(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int pid = f.require("pid"), schema = f.require("schemaname"), rel = f.require("relname"),
            phase = f.require("phase"), total = f.require("heap_blks_total"),
            scanned = f.require("heap_blks_scanned"), backend_type = f.require("backend_type"),
            app = f.require("application_name"), seconds = f.require("running_seconds");
  pg::Parsed<model::VacuumProgress> out;
  if (!f.error().empty()) return {{}, f.error()};
  out.rows.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    model::VacuumProgress v;
    v.pid = f.integer(r, pid).value_or(0);
    v.schemaname = f.text(r, schema);
    v.relname = f.text(r, rel);
    v.phase = f.text(r, phase);
    v.heap_blks_total = f.integer(r, total);
    v.heap_blks_scanned = f.integer(r, scanned);
    v.by = model::vacuum_started_by(rows.get(r, backend_type), rows.get(r, app));
    v.running_seconds = f.number(r, seconds);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(v));
  }
  return out;
}

}  // namespace pghealthd::collectors
