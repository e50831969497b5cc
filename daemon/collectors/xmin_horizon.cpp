#include "collectors/xmin_horizon.h"

namespace pghealthd::collectors {

// Sessions count only in their own database (their snapshots do not hold other databases back);
// slots, prepared transactions of this database and standby feedback count wherever they are.
// A logical slot's catalog_xmin holds back only catalog tables, so only a slot's xmin is read.
// Left out: VACUUMs (PostgreSQL ignores their xmin when computing the horizon), autovacuum workers, and
// pghealthd's own short, deadline-bound collection queries.
const std::string_view kXminHorizonSql = R"SQL(
SELECT 'transaction' AS source,
       'pid ' || pid || coalesce(' user ' || usename, '') ||
         coalesce(' application ' || nullif(application_name, ''), '') ||
         coalesce(' state ' || state, '') AS holder,
       greatest(age(backend_xmin), age(backend_xid))::bigint AS age_transactions,
       extract(epoch FROM now() - xact_start)::float8 AS age_seconds,
       coalesce(backend_xid, backend_xmin)::text AS xmin
  FROM pg_stat_activity
 WHERE (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)
   AND datname = current_database() AND pid <> pg_backend_pid()
   AND backend_type <> 'autovacuum worker'
   AND NOT (state = 'active' AND query ~* '^\s*vacuum')
   AND NOT (state = 'active' AND application_name = 'pghealthd')
UNION ALL
SELECT 'replication_slot',
       'slot ' || slot_name || ' (' || slot_type || CASE WHEN active THEN ', active)' ELSE ', inactive)' END,
       age(xmin)::bigint, NULL, xmin::text
  FROM pg_replication_slots WHERE xmin IS NOT NULL
UNION ALL
SELECT 'prepared_transaction', 'prepared transaction ' || gid || ' owner ' || owner,
       age(transaction)::bigint, extract(epoch FROM now() - prepared)::float8, transaction::text
  FROM pg_prepared_xacts WHERE database = current_database()
UNION ALL
SELECT 'standby', 'standby ' || coalesce(nullif(application_name, ''), host(client_addr), 'pid ' || pid),
       age(backend_xmin)::bigint, NULL, backend_xmin::text
  FROM pg_stat_replication WHERE backend_xmin IS NOT NULL
)SQL";

pg::Parsed<model::HorizonHolder> parse_xmin_horizon(const pg::Rows& rows) {
  pg::FieldReader f(rows);
  const int source = f.require("source"), holder = f.require("holder"), xid_age = f.require("age_transactions"),
            seconds = f.require("age_seconds"), xmin = f.require("xmin");
  pg::Parsed<model::HorizonHolder> out;
  if (!f.error().empty()) return {{}, f.error()};
  for (int r = 0; r < rows.size(); ++r) {
    model::HorizonHolder h;
    h.source = f.text(r, source);
    h.holder = f.text(r, holder);
    h.age_transactions = f.integer(r, xid_age).value_or(0);
    h.age_seconds = f.number(r, seconds);
    h.xmin = f.text(r, xmin);
    if (!f.error().empty()) return {{}, f.error()};
    out.rows.push_back(std::move(h));
  }
  return out;
}

const model::HorizonHolder* oldest_holder(const std::vector<model::HorizonHolder>& holders) {
  const model::HorizonHolder* oldest = nullptr;
  for (const auto& h : holders)
    if (!oldest || h.age_transactions > oldest->age_transactions) oldest = &h;
  return oldest;
}

}  // namespace pghealthd::collectors
