// What a maintenance run really did (maintenance/outcome.h) and the SQL it runs (maintenance/statement.h),
// as pure functions: every notice text and SQLSTATE PostgreSQL 13-18 sends for a skipped, forbidden, locked,
// horizon-limited or dropped table, and the counters that prove a run. tests/CMakeLists.txt also builds
// these tests against deliberately broken copies of outcome.cpp and requires them to fail.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "maintenance/outcome.h"
#include "maintenance/statement.h"

namespace {

using pghealthd::maintenance::account;
using pghealthd::maintenance::classify;
using pghealthd::maintenance::classify_notice;
using pghealthd::maintenance::Counters;
using pghealthd::maintenance::NoticeKind;
using pghealthd::maintenance::Result;
using pghealthd::maintenance::RunReport;
using pghealthd::pg::Error;
using pghealthd::pg::Notice;

Notice warning(std::string message, std::string sqlstate = "01000") {
  return {"WARNING", std::move(sqlstate), std::move(message)};
}

Counters counters(std::int64_t vacuums, std::int64_t analyzes, std::int64_t dead = 0, std::int64_t live = 1000) {
  return {vacuums, analyzes, dead, live};
}

// A VACUUM whose counters went from (3 vacuums, 5 analyzes) to `after`.
RunReport vacuum_run(std::optional<Counters> after, std::vector<Notice> notices = {}) {
  RunReport r;
  r.vacuum = true;
  r.before = counters(3, 5, 500);
  r.after = after;
  r.notices = std::move(notices);
  return r;
}

RunReport failed_run(Error e, bool cancelled_by_us = false) {
  RunReport r = vacuum_run(counters(3, 5, 500));
  r.error = std::move(e);
  r.cancelled_by_us = cancelled_by_us;
  return r;
}

Error server(std::string sqlstate, std::string message = "x") {
  return {Error::Kind::kServer, std::move(sqlstate), std::move(message)};
}

}  // namespace

// --- notices, by what they say ------------------------------------------------------------------------------

TEST_CASE("permission warnings of every version are permission, whatever their SQLSTATE", "[outcome]") {
  // 13-15 (vacuum.c, vacuum_is_relation_owner): no code of their own, 01000.
  for (const char* text : {"skipping \"orders\" --- only table or database owner can vacuum it",
                           "skipping \"orders\" --- only table or database owner can analyze it",
                           "skipping \"pg_class\" --- only superuser or database owner can vacuum it",
                           "skipping \"pg_database\" --- only superuser can vacuum it",
                           "skipping \"pg_database\" --- only superuser can analyze it",
                           // 16+ (vacuum_is_permitted_for_relation): also 01000.
                           "permission denied to vacuum \"orders\", skipping it",
                           "permission denied to analyze \"orders\", skipping it"}) {
    INFO(text);
    CHECK(classify_notice(warning(text)) == NoticeKind::kPermission);
  }
  CHECK(classify_notice(warning("anything at all", "42501")) == NoticeKind::kPermission);
}

TEST_CASE("the far-in-the-past warnings of every version are the horizon, not permission", "[outcome]") {
  for (const char* text : {"oldest xmin is far in the past",                               // before 16
                           "oldest multixact is far in the past",                          // before 16
                           "cutoff for removing and freezing tuples is far in the past",   // 16+
                           "cutoff for freezing multixacts is far in the past"}) {         // 16+
    INFO(text);
    CHECK(classify_notice(warning(text)) == NoticeKind::kHorizon);
  }
}

TEST_CASE("lock and dropped-table notices are told apart by code and by text", "[outcome]") {
  CHECK(classify_notice(warning("skipping vacuum of \"orders\" --- lock not available", "55P03")) ==
        NoticeKind::kLockNotAvailable);
  CHECK(classify_notice(warning("skipping analyze of \"orders\" --- lock not available", "55P03")) ==
        NoticeKind::kLockNotAvailable);
  CHECK(classify_notice(warning("skipping vacuum of \"orders\" --- lock not available")) ==
        NoticeKind::kLockNotAvailable);
  CHECK(classify_notice(warning("skipping vacuum of \"orders\" --- relation no longer exists", "42P01")) ==
        NoticeKind::kRelationGone);
  CHECK(classify_notice(warning("skipping analyze of \"orders\" --- relation no longer exists")) ==
        NoticeKind::kRelationGone);
}

TEST_CASE("a notice nobody taught us is unknown, not guessed", "[outcome]") {
  CHECK(classify_notice(warning("some new warning of PostgreSQL 19")) == NoticeKind::kUnknown);
  CHECK(classify_notice({"NOTICE", "00000", "table \"x\" has no columns"}) == NoticeKind::kUnknown);
  // A table whose name contains the words does not fool it: the words must be where the server puts them.
  CHECK(classify_notice(warning("skipping \"only table or database owner can vacuum it\"")) == NoticeKind::kUnknown);
}

// --- the outcome of a run -----------------------------------------------------------------------------------

TEST_CASE("a run is success only when its counter moved", "[outcome]") {
  CHECK(classify(vacuum_run(counters(4, 6))).result == Result::kSuccess);
  // Another session's temporary table: no error, no notice, nothing happened.
  CHECK(classify(vacuum_run(counters(3, 5))).result == Result::kNotProcessed);
  // ANALYZE alone moved (an ANALYZE by someone else meanwhile): the VACUUM is not proven.
  CHECK(classify(vacuum_run(counters(3, 6))).result == Result::kNotProcessed);
  // The counters could not be read back: nothing is claimed.
  CHECK(classify(vacuum_run(std::nullopt)).result == Result::kUnverified);
}

TEST_CASE("a partitioned parent's counters prove its ANALYZE only from PostgreSQL 15", "[outcome]") {
  using pghealthd::maintenance::counters_prove;
  CHECK(counters_prove('p', 150000));
  CHECK(counters_prove('p', 180004));
  CHECK_FALSE(counters_prove('p', 140019));
  CHECK_FALSE(counters_prove('p', 130023));
  CHECK(counters_prove('r', 130023));
  CHECK(counters_prove('m', 130023));
}

TEST_CASE("an ANALYZE is proven by analyze_count", "[outcome]") {
  RunReport r = vacuum_run(counters(3, 6));
  r.vacuum = false;
  CHECK(classify(r).result == Result::kSuccess);
  r.after = counters(4, 5);
  CHECK(classify(r).result == Result::kNotProcessed);
}

TEST_CASE("the far-in-the-past warning is a success with a horizon warning, never permission_denied",
          "[outcome]") {
  for (const char* text : {"oldest xmin is far in the past", "cutoff for removing and freezing tuples is far in the past"}) {
    INFO(text);
    const auto o = classify(vacuum_run(counters(4, 6, 480), {warning(text)}));
    CHECK(o.result == Result::kSuccess);
    CHECK(o.horizon_warning);
    CHECK(o.unknown_notices.empty());
  }
}

TEST_CASE("a skip the server announces wins over the counters", "[outcome]") {
  CHECK(classify(vacuum_run(counters(3, 5), {warning("skipping \"o\" --- only table or database owner can vacuum it")}))
            .result == Result::kPermissionDenied);
  CHECK(classify(vacuum_run(counters(3, 5), {warning("permission denied to vacuum \"o\", skipping it")})).result ==
        Result::kPermissionDenied);
  CHECK(classify(vacuum_run(counters(3, 5), {warning("skipping vacuum of \"o\" --- lock not available", "55P03")}))
            .result == Result::kLockNotAvailable);
  CHECK(classify(vacuum_run(counters(3, 5), {warning("skipping vacuum of \"o\" --- relation no longer exists", "42P01")}))
            .result == Result::kDropped);
  // Even with no counters read back (the engine does not wait for a run the server said it skipped).
  CHECK(classify(vacuum_run(std::nullopt, {warning("skipping vacuum of \"o\" --- lock not available", "55P03")}))
            .result == Result::kLockNotAvailable);
}

TEST_CASE("unknown notices are kept verbatim and change nothing", "[outcome]") {
  const auto o = classify(vacuum_run(counters(4, 6), {warning("brand new warning"), {"NOTICE", "", "hello"}}));
  CHECK(o.result == Result::kSuccess);
  REQUIRE(o.unknown_notices.size() == 2);
  CHECK(o.unknown_notices[0] == "WARNING 01000: brand new warning");
  CHECK(o.unknown_notices[1] == "NOTICE: hello");
  CHECK(classify(vacuum_run(counters(3, 5), {warning("brand new warning")})).result == Result::kNotProcessed);
}

TEST_CASE("errors: canceled by us or by the timeout, lock, permission, dropped, connection", "[outcome]") {
  CHECK(classify(failed_run(server("57014"), true)).result == Result::kCancelled);
  CHECK(classify(failed_run(server("57014"), false)).result == Result::kTimeout);
  CHECK(classify(failed_run(server("55P03"))).result == Result::kLockNotAvailable);
  CHECK(classify(failed_run(server("42501"))).result == Result::kPermissionDenied);
  CHECK(classify(failed_run(server("42P01", "relation \"public.o\" does not exist"))).result == Result::kDropped);
  CHECK(classify(failed_run(server("25006", "cannot execute VACUUM during recovery"))).result == Result::kFailed);
  CHECK(classify(failed_run(server("XX000"))).result == Result::kFailed);
  CHECK(classify(failed_run({Error::Kind::kTimeout, "", "no answer"}, false)).result == Result::kTimeout);
  CHECK(classify(failed_run({Error::Kind::kTimeout, "", "no answer"}, true)).result == Result::kCancelled);
  CHECK(classify(failed_run({Error::Kind::kClosed, "", "closed by pghealthd"})).result == Result::kCancelled);
  CHECK(classify(failed_run({Error::Kind::kConnection, "", "server closed the connection"})).result ==
        Result::kFailed);
  // An error wins over counters that moved (they may be someone else's run).
  RunReport r = failed_run(server("XX000"));
  r.after = counters(4, 6);
  CHECK(classify(r).result == Result::kFailed);
}

TEST_CASE("every result has its label", "[outcome]") {
  using pghealthd::maintenance::name;
  CHECK(name(Result::kSuccess) == "success");
  CHECK(name(Result::kNotProcessed) == "not_processed");
  CHECK(name(Result::kUnverified) == "unverified");
  CHECK(name(Result::kLockNotAvailable) == "lock_not_available");
  CHECK(name(Result::kPermissionDenied) == "permission_denied");
  CHECK(name(Result::kDropped) == "dropped");
  CHECK(name(Result::kTimeout) == "timeout");
  CHECK(name(Result::kCancelled) == "cancelled");
  CHECK(name(Result::kFailed) == "failed");
  CHECK(pghealthd::maintenance::kResultCount == 9);
}

// --- accounting ---------------------------------------------------------------------------------------------

TEST_CASE("accounting counts the rows removed and sends leftovers to the horizon diagnosis", "[outcome]") {
  // 500 dead before, 0 after: all removed, nothing to diagnose.
  auto a = account(counters(3, 5, 500), counters(4, 6, 0, 1500), false, 0.05, 100);
  CHECK(a.removed == 500);
  CHECK(a.dead_after == 0);
  CHECK(a.dead_ratio_after == 0.0);
  CHECK_FALSE(a.diagnose_horizon);
  // 500 dead stay (a held horizon): over the ratio and the minimum.
  a = account(counters(3, 5, 500), counters(4, 6, 500, 500), false, 0.05, 100);
  CHECK(a.removed == 0);
  CHECK(a.diagnose_horizon);
  // Few leftovers, under the table's rules: no diagnosis ...
  a = account(counters(3, 5, 500), counters(4, 6, 10, 10000), false, 0.05, 100);
  CHECK(a.removed == 490);
  CHECK_FALSE(a.diagnose_horizon);
  // ... unless VACUUM itself warned that its cutoff is far in the past.
  a = account(counters(3, 5, 500), counters(4, 6, 10, 10000), true, 0.05, 100);
  CHECK(a.diagnose_horizon);
  // More dead rows after than before (writes meanwhile): none removed, never negative.
  a = account(counters(3, 5, 100), counters(4, 6, 300, 1000), false, 0.05, 100);
  CHECK(a.removed == 0);
  CHECK(a.dead_after == 300);
}

// --- statements ---------------------------------------------------------------------------------------------

TEST_CASE("statements name the quoted schema and table and nothing else", "[outcome]") {
  using pghealthd::maintenance::blocked_sessions_sql;
  using pghealthd::maintenance::is_vacuum;
  using pghealthd::maintenance::statement;
  using pghealthd::policy::Action;
  CHECK(statement(Action::kVacuumAnalyze, 'r', "\"public\"", "\"a\"\"b\"", {}) ==
        "VACUUM (ANALYZE, SKIP_LOCKED, TRUNCATE false) \"public\".\"a\"\"b\"");
  CHECK(statement(Action::kVacuumAnalyze, 'm', "\"s\"", "\"mv\"", {true}) == "VACUUM (ANALYZE, SKIP_LOCKED) \"s\".\"mv\"");
  CHECK(statement(Action::kAnalyze, 'r', "\"s\"", "\"t\"", {}) == "ANALYZE (SKIP_LOCKED) \"s\".\"t\"");
  // A partitioned parent is analyzed, never vacuumed as a whole.
  CHECK(statement(Action::kVacuumAnalyze, 'p', "\"s\"", "\"parent\"", {}) == "ANALYZE (SKIP_LOCKED) \"s\".\"parent\"");
  CHECK_FALSE(is_vacuum(Action::kVacuumAnalyze, 'p'));
  CHECK(is_vacuum(Action::kVacuumAnalyze, 'r'));
  CHECK_FALSE(is_vacuum(Action::kAnalyze, 'r'));
  // A freeze is a VACUUM (FREEZE), never with ANALYZE, and skips a locked table like the others.
  CHECK(statement(Action::kFreeze, 'r', "\"s\"", "\"t\"", {}) == "VACUUM (FREEZE, SKIP_LOCKED, TRUNCATE false) \"s\".\"t\"");
  CHECK(statement(Action::kFreeze, 'm', "\"s\"", "\"mv\"", {true}) == "VACUUM (FREEZE, SKIP_LOCKED) \"s\".\"mv\"");
  CHECK(is_vacuum(Action::kFreeze, 'r'));
  // Tuning runs its advice's ALTER TABLE, never a VACUUM, and is counted apart.
  CHECK(statement(Action::kTune, 'r', "\"s\"", "\"t\"", {}).empty());
  CHECK_FALSE(is_vacuum(Action::kTune, 'r'));
  CHECK(pghealthd::maintenance::action_label(Action::kTune, 'r') == "tune");
  // Quoting failed (no connection): nothing to run.
  CHECK(statement(Action::kVacuumAnalyze, 'r', "", "\"t\"", {}).empty());
  CHECK(statement(Action::kVacuumAnalyze, 'r', "\"s\"", "", {}).empty());
  // Yielding reads pg_locks.waitstart from 14 on; 13 has no such column.
  CHECK(std::string(blocked_sessions_sql(140000)).find("waitstart") != std::string::npos);
  CHECK(std::string(blocked_sessions_sql(180000)).find("waitstart") != std::string::npos);
  CHECK(std::string(blocked_sessions_sql(130023)).find("waitstart") == std::string::npos);
  CHECK(std::string(blocked_sessions_sql(130023)).find("wait_event_type = 'Lock'") != std::string::npos);
}

// --- tuning -------------------------------------------------------------------------------------------------

TEST_CASE("a tuning change is applied only when pg_class.reloptions shows every value", "[outcome]") {
  using pghealthd::maintenance::classify_tuning;
  using pghealthd::maintenance::Result;
  CHECK(classify_tuning(std::nullopt, false, true, true) == Result::kSuccess);
  // No error, but the catalog does not hold the values (a concurrent ALTER TABLE RESET, say): not applied.
  CHECK(classify_tuning(std::nullopt, false, true, false) == Result::kNotProcessed);
  // No error, but the catalog could not be read back: nothing is claimed.
  CHECK(classify_tuning(std::nullopt, false, false, false) == Result::kUnverified);
  pghealthd::pg::Error lock{pghealthd::pg::Error::Kind::kServer, "55P03", "canceling statement due to lock timeout"};
  CHECK(classify_tuning(lock, false, true, false) == Result::kLockNotAvailable);
  pghealthd::pg::Error owner{pghealthd::pg::Error::Kind::kServer, "42501", "must be owner of table t"};
  CHECK(classify_tuning(owner, false, true, false) == Result::kPermissionDenied);
  pghealthd::pg::Error cancel{pghealthd::pg::Error::Kind::kServer, "57014", "canceling statement due to user request"};
  CHECK(classify_tuning(cancel, true, false, false) == Result::kCancelled);
}

// --- reindex ------------------------------------------------------------------------------------------------

TEST_CASE("a REINDEX succeeded only when the index of that name is a new, valid relation", "[outcome][reindex]") {
  using pghealthd::maintenance::classify_reindex;
  using pghealthd::maintenance::IndexState;
  using pghealthd::maintenance::Result;
  const IndexState before{16391, 11829248, true};
  // REINDEX CONCURRENTLY builds a copy and swaps names: another OID, smaller.
  const auto ok = classify_reindex(std::nullopt, false, before, true, IndexState{16392, 1204224, true});
  CHECK(ok.result == Result::kSuccess);
  CHECK(ok.reclaimed_bytes == 11829248 - 1204224);
  // A rebuild that came out larger gave nothing back: never a negative amount.
  CHECK(classify_reindex(std::nullopt, false, before, true, IndexState{16392, 12000000, true}).reclaimed_bytes == 0);
  // No error, but the same relation (nothing was rebuilt) or an invalid one: not claimed.
  CHECK(classify_reindex(std::nullopt, false, before, true, before).result == Result::kNotProcessed);
  CHECK(classify_reindex(std::nullopt, false, before, true, IndexState{16392, 8192, false}).result ==
        Result::kNotProcessed);
  // The name is gone (dropped or renamed meanwhile), or the catalog could not be read.
  CHECK(classify_reindex(std::nullopt, false, before, true, std::nullopt).result == Result::kDropped);
  CHECK(classify_reindex(std::nullopt, false, before, false, std::nullopt).result == Result::kUnverified);
  // Errors: a long transaction makes it wait past lock_timeout; the role may not; a cancel of ours.
  pghealthd::pg::Error lock{pghealthd::pg::Error::Kind::kServer, "55P03", "canceling statement due to lock timeout"};
  CHECK(classify_reindex(lock, false, before, true, before).result == Result::kLockNotAvailable);
  pghealthd::pg::Error owner{pghealthd::pg::Error::Kind::kServer, "42501", "must be owner of index t_v"};
  CHECK(classify_reindex(owner, false, before, true, before).result == Result::kPermissionDenied);
  pghealthd::pg::Error cancel{pghealthd::pg::Error::Kind::kServer, "57014", "canceling statement due to user request"};
  CHECK(classify_reindex(cancel, true, before, false, std::nullopt).result == Result::kCancelled);
  CHECK(classify_reindex(cancel, false, before, false, std::nullopt).result == Result::kTimeout);
  CHECK(classify_reindex(cancel, true, before, true, IndexState{16392, 1, true}).reclaimed_bytes == 0);
}

TEST_CASE("REINDEX and the drop of its leftovers name the quoted schema and index and nothing else",
          "[outcome][reindex]") {
  using pghealthd::maintenance::drop_index_statement;
  using pghealthd::maintenance::reindex_statement;
  using pghealthd::policy::Action;
  CHECK(reindex_statement("\"public\"", "\"a\"\"b\"") == "REINDEX INDEX CONCURRENTLY \"public\".\"a\"\"b\"");
  CHECK(drop_index_statement("\"s\"", "\"t_v_ccnew\"") == "DROP INDEX CONCURRENTLY IF EXISTS \"s\".\"t_v_ccnew\"");
  CHECK(reindex_statement("", "\"i\"").empty());
  CHECK(drop_index_statement("\"s\"", "").empty());
  CHECK(pghealthd::maintenance::statement(Action::kReindex, 'r', "\"s\"", "\"t\"", {}).empty());
  CHECK_FALSE(pghealthd::maintenance::is_vacuum(Action::kReindex, 'r'));
  CHECK(pghealthd::maintenance::action_label(Action::kReindex, 'r') == "reindex");
}
