// What the server (or libpq) said: errors with their SQLSTATE, and the notices a statement sent. Plain
// values, no libpq types, so pure code (vacuum outcome classification, tests) can use them without a
// connection. SQLSTATEs that pghealthd acts on have names here, never string literals at the call site.
#pragma once

#include <string>
#include <string_view>

namespace pghealthd::pg {

struct Error {
  enum class Kind { kServer, kConnection, kTimeout, kClosed };
  Kind kind = Kind::kServer;
  std::string sqlstate;  // five characters for server errors, empty otherwise
  std::string message;   // never contains a password (libpq does not echo one)
};

// A NOTICE or WARNING the server sent while a query ran (VACUUM reports skipped tables this way).
struct Notice {
  std::string severity;  // NOTICE, WARNING, ... (PG_DIAG_SEVERITY_NONLOCALIZED: never translated)
  std::string sqlstate;
  std::string message;   // the primary message, on one line; translated when the server's lc_messages is
};

// One line for logs: the message and, for server errors, its SQLSTATE.
[[nodiscard]] std::string describe(const Error& e);

// The SQLSTATEs pghealthd tells apart (PostgreSQL's errcodes.txt).
namespace sqlstate {
inline constexpr std::string_view kWarning = "01000";                 // every plain WARNING without a code
inline constexpr std::string_view kQueryCanceled = "57014";           // statement_timeout or a cancel request
inline constexpr std::string_view kLockNotAvailable = "55P03";        // lock_timeout, SKIP_LOCKED
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kUndefinedTable = "42P01";          // dropped meanwhile
inline constexpr std::string_view kReadOnlyTransaction = "25006";     // VACUUM on a standby
}  // namespace sqlstate

}  // namespace pghealthd::pg
