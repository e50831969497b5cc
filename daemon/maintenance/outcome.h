// What a maintenance action really did, decided from what the server proves: its error, the notices it
// sent, and the table's own counters (vacuum_count / analyze_count) before and after. Pure functions, no
// I/O: every input the server can send has a unit test (tests/unit/outcome_test.cpp).
//
// A run is `success` only when the table's counter moved: PostgreSQL skips some tables without a word
// (another session's temporary table), and skips others with a WARNING whose SQLSTATE (01000, the code of
// every plain WARNING) says nothing; so notices are read by what they say, and one that is not understood
// is reported verbatim, never guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/error.h"

namespace pghealthd::maintenance {

// What a notice of VACUUM or ANALYZE means.
enum class NoticeKind {
  kLockNotAvailable,  // "skipping vacuum of "t" --- lock not available" (SKIP_LOCKED), 55P03
  kPermission,        // "permission denied to vacuum "t", skipping it" (16+, 42501) or "skipping "t" --- only
                      // table or database owner can vacuum it" (before 16, 01000)
  kHorizon,           // "cutoff for removing and freezing tuples is far in the past" (16+) or "oldest xmin is
                      // far in the past" / "oldest multixact is far in the past" (before 16), 01000
  kRelationGone,      // "skipping vacuum of "t" --- relation no longer exists", 42P01
  kUnknown,           // anything else: logged verbatim
};
[[nodiscard]] NoticeKind classify_notice(const pg::Notice& n);

// The `result` label of pghealthd_vacuum_runs_total.
enum class Result {
  kSuccess,            // the server processed the table: its counter moved
  kNotProcessed,       // no error, no notice that explains it, and the counter did not move
  kUnverified,         // no error, but the counters could not be read back: nothing is claimed
  kLockNotAvailable,   // the table's lock was taken (SKIP_LOCKED) or lock_timeout passed
  kPermissionDenied,   // the role may not maintain the table
  kDropped,            // the table was dropped before or while it ran
  kTimeout,            // statement_timeout (max_duration) or our own deadline
  kCancelled,          // cancelled by pghealthd: yielding to a waiting session, a reload, shutdown
  kFailed,             // any other error
};
inline constexpr std::size_t kResultCount = 9;
[[nodiscard]] std::string_view name(Result r);

// The counter that proves the action ran: VACUUM bumps vacuum_count, ANALYZE analyze_count.
struct Counters {
  std::int64_t vacuum_count = 0;
  std::int64_t analyze_count = 0;
  std::int64_t dead_tuples = 0;
  std::int64_t live_tuples = 0;
};

struct RunReport {
  bool vacuum = true;  // VACUUM (its counter: vacuum_count); false: ANALYZE (analyze_count)
  std::optional<pg::Error> error;
  std::vector<pg::Notice> notices;
  bool cancelled_by_us = false;   // we sent the cancel (yield, reload, shutdown)
  std::optional<Counters> before;  // read right before the statement
  std::optional<Counters> after;   // read after it, once the counter moved or a short deadline passed
};

struct Outcome {
  Result result = Result::kFailed;
  bool horizon_warning = false;              // VACUUM said its cutoff is far in the past: see the horizon
  std::vector<std::string> unknown_notices;  // "SEVERITY SQLSTATE: message", to log as they came
};

[[nodiscard]] Outcome classify(const RunReport& run);

// What a failed statement's error means (shared by every action).
[[nodiscard]] Result result_of(const pg::Error& e, bool cancelled_by_us);

// An ALTER TABLE ... SET of tuning advice: `success` only when pg_class.reloptions, read back after it,
// holds every value set (`proven`); `unverified` when it could not be read back (`read_back` false);
// `not_processed` when it was read and does not hold them.
[[nodiscard]] Result classify_tuning(const std::optional<pg::Error>& error, bool cancelled_by_us, bool read_back,
                                     bool proven);

// An index as the catalog shows it, looked up by its name (pg_class, pg_index, pg_relation_size).
struct IndexState {
  std::int64_t oid = 0;
  std::int64_t bytes = 0;
  bool valid = true;
};
struct ReindexOutcome {
  Result result = Result::kFailed;
  std::int64_t reclaimed_bytes = 0;  // size before minus size after, never below 0; success only
};
// A REINDEX INDEX CONCURRENTLY: it builds a new index and swaps names, so `success` only when the index of
// that name is now another relation (another OID) and valid; `dropped` when no index has that name any
// more; `not_processed` when it is still the same relation; `unverified` when the catalog could not be read
// back (`read_back` false).
[[nodiscard]] ReindexOutcome classify_reindex(const std::optional<pg::Error>& error, bool cancelled_by_us,
                                              const IndexState& before, bool read_back,
                                              const std::optional<IndexState>& after);

// Whether the server keeps counters that can prove a run on a relation of `relkind`: a partitioned
// parent has statistics of its own only from PostgreSQL 15 (shared-memory statistics); before, its
// ANALYZE leaves no counter behind, so its run can only be `unverified`.
[[nodiscard]] bool counters_prove(char relkind, int server_version);

// Whether the counters read after the run show it: the re-read waits for this (statistics reach other
// backends up to ~0.5 s late before PostgreSQL 15).
[[nodiscard]] bool counter_moved(bool vacuum, const Counters& before, const Counters& after);

// The accounting of a successful VACUUM: rows removed, and whether the dead rows that remain call for
// the xmin horizon diagnosis (too many left by the table's rules, or VACUUM warned its cutoff is old).
struct Accounting {
  std::int64_t removed = 0;
  std::int64_t dead_after = 0;
  std::optional<double> dead_ratio_after;
  bool diagnose_horizon = false;
};
[[nodiscard]] Accounting account(const Counters& before, const Counters& after, bool horizon_warning,
                                 double dead_tuple_ratio, std::int64_t min_dead_tuples);

}  // namespace pghealthd::maintenance
