// The exact bloat method (bloat.exact, method="exact"): reads relations of the bloat collector's run with
// extension pgstattuple, pgstattuple_approx() for a table (it reads the pages the visibility map does not
// mark all-visible and takes the free space of the others from the free space map) and pgstatindex() for
// a btree index (it reads every page), as many as fit in a time budget, the least recently read first
// (model::exact_round_robin).
//
// Each reading is I/O on the server under an ACCESS SHARE lock. For the pass the session's lock_timeout is
// set to bloat.lock_timeout and restored after, so a reading never waits long behind an ACCESS EXCLUSIVE
// request (nor makes everything queued behind that request wait). The extension's schema is looked up,
// never assumed, and quoted with libpq's rules; relids travel as parameters.
//
// Uses the caller's connection, one query at a time, and leaves it as it found it (or closes it when it
// cannot restore lock_timeout). No logging here: the caller says what happened (ExactPass).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/asio.h"
#include "model/bloat.h"
#include "pg/connection.h"
#include "pg/error.h"
#include "pg/rows.h"

namespace pghealthd::collectors {

struct ExactSettings {
  std::int64_t min_size_bytes = 104857600;          // bloat.exact_min_size_bytes
  std::chrono::milliseconds budget{60'000};         // bloat.exact_budget: no reading starts after it
  std::chrono::milliseconds lock_timeout{1'000};    // bloat.lock_timeout
  std::chrono::milliseconds query_timeout{17'000};  // each statement's client-side deadline
};

// A relation the pass passed over, and why.
struct ExactSkip {
  std::string relation;  // schema.table or schema.index, unquoted, for logs
  std::string why;
};

// What one pass did.
struct ExactPass {
  std::optional<model::ExactAvailability> availability;  // none when it could not tell (connection lost)
  std::unordered_map<std::int64_t, model::ExactBloat> readings;  // this pass's, by relid
  std::size_t due = 0;                                           // relations of at least min_size_bytes
  std::size_t left = 0;  // due but not started within the budget: first in line next run
  std::vector<ExactSkip>
      skipped;  // locked past lock_timeout, too slow, or failed; not those dropped meanwhile
  std::optional<pg::Error> error;  // what ended the pass before its budget, when something did
  double seconds = 0;
};

// Reads what it can of `relations` (a bloat run's, with the previous run's readings attached: they decide
// the order) within the budget.
[[nodiscard]] awaitable<ExactPass> read_exact(pg::Connection& conn,
                                              const std::vector<model::RelationBloat>& relations,
                                              const ExactSettings& settings);

// --- the pure pieces of a pass, tested without a server ---

// The relations a pass may read: every table and every valid btree index (an invalid one is being built or
// was left by a failed build), sized relpages x block size, with the time of its reading when it has one.
[[nodiscard]] std::vector<model::ExactCandidate> exact_candidates(
    const std::vector<model::RelationBloat>& relations);

// Sets each relation's reading from `readings` (by relid); a relation without one there keeps its own.
void attach_readings(std::vector<model::RelationBloat>& relations,
                     const std::unordered_map<std::int64_t, model::ExactBloat>& readings);

// The answer of the availability query (kAvailabilitySql's columns), or why it cannot be used.
struct ExtensionState {
  model::ExactAvailability availability = model::ExactAvailability::kMissing;
  std::string schema;        // the extension's schema, unquoted
  std::string lock_timeout;  // the session's lock_timeout, to restore after the pass
};
extern const std::string_view kAvailabilitySql;
[[nodiscard]] std::optional<ExtensionState> parse_extension_state(const pg::Rows& rows);

// The statements of one reading, with the extension's schema already quoted (Connection::escape_identifier).
[[nodiscard]] std::string table_reading_sql(const std::string& quoted_schema);
[[nodiscard]] std::string index_reading_sql(const std::string& quoted_schema);
// One reading from its statement's answer: nothing when the relation is gone (no row).
[[nodiscard]] std::optional<model::ExactBloat> parse_table_reading(const pg::Rows& rows, int fillfactor,
                                                                   double now_unix);
[[nodiscard]] std::optional<model::ExactBloat> parse_index_reading(const pg::Rows& rows, int fillfactor,
                                                                   double now_unix);

// What a failed reading means for the pass.
enum class ReadingFailure {
  kGone,          // the relation was dropped meanwhile: passed over quietly
  kSkip,          // this relation only (its lock, its statement_timeout, another server error): next one
  kNotPermitted,  // the role may not call pgstattuple's functions: the pass ends, readings unavailable
  kStop,          // the connection failed or stopped answering: the pass ends
};
[[nodiscard]] ReadingFailure classify_reading_failure(const pg::Error& e);

}  // namespace pghealthd::collectors
