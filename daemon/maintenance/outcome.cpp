#include "maintenance/outcome.h"

#include <algorithm>
#include <array>

#include "model/stats.h"

namespace pghealthd::maintenance {
namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

NoticeKind classify_notice(const pg::Notice& n) {
  const std::string_view m = n.message, code = n.sqlstate;
  // The codes first where PostgreSQL gives one of its own; the texts (PostgreSQL 13-18, vacuum.c and
  // analyze.c) where it does not: 01000 is the default of every WARNING. Texts are matched on the parts
  // that are the same for VACUUM and ANALYZE and across versions.
  if (code == pg::sqlstate::kLockNotAvailable || contains(m, "--- lock not available")) return NoticeKind::kLockNotAvailable;
  if (code == pg::sqlstate::kUndefinedTable || contains(m, "--- relation no longer exists")) return NoticeKind::kRelationGone;
  if (code == pg::sqlstate::kInsufficientPrivilege || m.starts_with("permission denied to ") ||
      (m.starts_with("skipping \"") && contains(m, "\" --- only ") && (contains(m, " can vacuum it") || contains(m, " can analyze it"))))
    return NoticeKind::kPermission;
  if (contains(m, "is far in the past")) return NoticeKind::kHorizon;
  return NoticeKind::kUnknown;
}

std::string_view name(Result r) {
  static constexpr std::array<std::string_view, kResultCount> kNames{
      "success",           "not_processed", "unverified", "lock_not_available", "permission_denied",
      "dropped",           "timeout",       "cancelled",  "failed"};
  return kNames[static_cast<std::size_t>(r)];
}

bool counters_prove(char relkind, int server_version) { return relkind != 'p' || server_version >= 150000; }

bool counter_moved(bool vacuum, const Counters& before, const Counters& after) {
  return vacuum ? after.vacuum_count > before.vacuum_count : after.analyze_count > before.analyze_count;
}

Result result_of(const pg::Error& e, bool cancelled_by_us) {
  switch (e.kind) {
    case pg::Error::Kind::kServer:
      if (e.sqlstate == pg::sqlstate::kQueryCanceled) return cancelled_by_us ? Result::kCancelled : Result::kTimeout;
      if (e.sqlstate == pg::sqlstate::kLockNotAvailable) return Result::kLockNotAvailable;
      if (e.sqlstate == pg::sqlstate::kInsufficientPrivilege) return Result::kPermissionDenied;
      if (e.sqlstate == pg::sqlstate::kUndefinedTable) return Result::kDropped;
      return Result::kFailed;
    // Our own deadline cancelled it; a closed connection is ours too (shutdown, reload).
    case pg::Error::Kind::kTimeout: return cancelled_by_us ? Result::kCancelled : Result::kTimeout;
    case pg::Error::Kind::kClosed: return Result::kCancelled;
    case pg::Error::Kind::kConnection: return Result::kFailed;
  }
  return Result::kFailed;
}

Result classify_tuning(const std::optional<pg::Error>& error, bool cancelled_by_us, bool read_back, bool proven) {
  if (error) return result_of(*error, cancelled_by_us);
  if (!read_back) return Result::kUnverified;
  return proven ? Result::kSuccess : Result::kNotProcessed;
}

ReindexOutcome classify_reindex(const std::optional<pg::Error>& error, bool cancelled_by_us, const IndexState& before,
                                bool read_back, const std::optional<IndexState>& after) {
  if (error) return {result_of(*error, cancelled_by_us), 0};
  if (!read_back) return {Result::kUnverified, 0};
  if (!after) return {Result::kDropped, 0};
  if (after->oid == before.oid || !after->valid) return {Result::kNotProcessed, 0};
  return {Result::kSuccess, std::max<std::int64_t>(0, before.bytes - after->bytes)};
}

Outcome classify(const RunReport& run) {
  Outcome out;
  bool lock = false, permission = false, gone = false;
  for (const auto& n : run.notices) {
    switch (classify_notice(n)) {
      case NoticeKind::kLockNotAvailable: lock = true; break;
      case NoticeKind::kPermission: permission = true; break;
      case NoticeKind::kRelationGone: gone = true; break;
      case NoticeKind::kHorizon: out.horizon_warning = true; break;
      case NoticeKind::kUnknown:
        out.unknown_notices.push_back(n.severity + (n.sqlstate.empty() ? "" : " " + n.sqlstate) + ": " + n.message);
        break;
    }
  }
  if (run.error) {
    out.result = result_of(*run.error, run.cancelled_by_us);
    return out;
  }
  // The statement succeeded: what the server skipped, it said in a notice; what it did, the counter shows.
  // (A VACUUM of several relations could both skip and process; ours names exactly one.)
  if (lock) out.result = Result::kLockNotAvailable;
  else if (permission) out.result = Result::kPermissionDenied;
  else if (gone) out.result = Result::kDropped;
  else if (!run.before || !run.after) out.result = Result::kUnverified;
  else if (counter_moved(run.vacuum, *run.before, *run.after)) out.result = Result::kSuccess;
  else out.result = Result::kNotProcessed;
  return out;
}

Accounting account(const Counters& before, const Counters& after, bool horizon_warning, double dead_tuple_ratio,
                   std::int64_t min_dead_tuples) {
  Accounting a;
  a.dead_after = std::max<std::int64_t>(after.dead_tuples, 0);
  a.removed = std::max<std::int64_t>(0, before.dead_tuples - a.dead_after);
  a.dead_ratio_after = model::dead_tuple_ratio(after.live_tuples, a.dead_after);
  const bool too_many = a.dead_ratio_after && *a.dead_ratio_after > dead_tuple_ratio && a.dead_after >= min_dead_tuples;
  a.diagnose_horizon = too_many || (horizon_warning && a.dead_after > 0);
  return a;
}

}  // namespace pghealthd::maintenance
