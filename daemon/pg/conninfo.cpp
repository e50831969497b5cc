#include "pg/conninfo.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace pghealthd::pg {

std::string default_dbname(const std::string& conninfo) {
  std::string dbname, user;
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err)) {
    for (auto* o = opts; o->keyword; ++o) {
      if (!o->val || !*o->val) continue;
      if (std::strcmp(o->keyword, "dbname") == 0) dbname = o->val;
      if (std::strcmp(o->keyword, "user") == 0) user = o->val;
    }
    PQconninfoFree(opts);
  }
  if (err) PQfreemem(err);
  if (!dbname.empty()) return dbname;
  if (const char* e = std::getenv("PGDATABASE"); e && *e) return e;
  if (!user.empty()) return user;
  if (const char* e = std::getenv("PGUSER"); e && *e) return e;
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return "postgres";
}

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace pghealthd::pg
