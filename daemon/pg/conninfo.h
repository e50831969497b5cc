// Reading (never logging) a libpq conninfo.
#pragma once

#include <string>

namespace pghealthd::pg {

// The database a conninfo connects to when no dbname override is given, resolved like libpq does:
// dbname, else user, else $PGDATABASE, else $PGUSER, else the OS user name.
[[nodiscard]] std::string default_dbname(const std::string& conninfo);

// Escapes an identifier with libpq's rules ("a""b"), without a connection; encoding-safe for UTF-8.
[[nodiscard]] std::string quote_identifier(const std::string& name);

}  // namespace pghealthd::pg
