# Writes a copy of daemon/maintenance/outcome.cpp with one deliberate break, for the check that the outcome
# tests catch it (tests/CMakeLists.txt). Each break brings back one untruth the engine used to tell. A
# pattern that no longer matches is an error here, so the check cannot silently turn vacuous.
#   cmake -DIN=outcome.cpp -DOUT=copy.cpp -DBREAK=name -P break_outcome.cmake
file(READ "${IN}" text)
if(BREAK STREQUAL "horizon_as_permission")
  # Every plain WARNING (01000) counted as a permission problem, as before engine v2.
  set(from "  if (code == pg::sqlstate::kInsufficientPrivilege ||")
  set(to "  if (code == pg::sqlstate::kInsufficientPrivilege || code == pg::sqlstate::kWarning ||")
elseif(BREAK STREQUAL "success_without_proof")
  # A statement without an error counted as success, whether or not its counter moved.
  set(from "  else if (counter_moved(run.vacuum, *run.before, *run.after)) out.result = Result::kSuccess;")
  set(to "  else if (true) out.result = Result::kSuccess;")
elseif(BREAK STREQUAL "cancel_is_timeout")
  # Our own cancel (a yield, a reload, shutdown) reported as statement_timeout.
  set(from "return cancelled_by_us ? Result::kCancelled : Result::kTimeout;")
  set(to "return (void)cancelled_by_us, Result::kTimeout;")
elseif(BREAK STREQUAL "tuning_without_proof")
  # An ALTER TABLE without an error counted as applied, whatever pg_class.reloptions says.
  set(from "return proven ? Result::kSuccess : Result::kNotProcessed;")
  set(to "return (void)proven, Result::kSuccess;")
elseif(BREAK STREQUAL "reindex_without_proof")
  # A REINDEX without an error counted as a rebuild, whether or not the index of that name is a new relation.
  set(from "  if (after->oid == before.oid || !after->valid) return {Result::kNotProcessed, 0};")
  set(to "  if (false) return {Result::kNotProcessed, 0};")
else()
  message(FATAL_ERROR "unknown break ${BREAK}")
endif()
string(FIND "${text}" "${from}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "break ${BREAK}: its pattern is no longer in ${IN}; update tests/break_outcome.cmake")
endif()
string(REPLACE "${from}" "${to}" text "${text}")
file(WRITE "${OUT}" "${text}")
