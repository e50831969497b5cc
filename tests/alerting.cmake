# Tests of the alerting examples under dashboards/: the Prometheus rules, their unit tests, the
# Alertmanager routing and inhibition, the example Prometheus configuration and the runbook. No build
# needed: `ctest -L alerting`. Included from tests/CMakeLists.txt; paths are relative to the project.
#
# Needs promtool (Debian: prometheus), amtool and prometheus-alertmanager (prometheus-alertmanager) and
# curl; scripts/install-deps installs them. A test whose tool is missing is reported as not run
# (disabled) rather than failed.

find_program(PGHEALTHD_PROMTOOL promtool)
find_program(PGHEALTHD_AMTOOL amtool)
find_program(PGHEALTHD_ALERTMANAGER NAMES prometheus-alertmanager alertmanager)
find_program(PGHEALTHD_CURL curl)

set(PGHEALTHD_ALERTING_DIR ${PROJECT_SOURCE_DIR}/dashboards)

# pghealthd_alerting_test(NAME <name> NEEDS <tool variables...> COMMAND <command...>
#                         [WORKING_DIRECTORY <dir>] [TIMEOUT <seconds>])
function(pghealthd_alerting_test)
  cmake_parse_arguments(ARG "" "NAME;WORKING_DIRECTORY;TIMEOUT" "NEEDS;COMMAND" ${ARGN})
  set(missing "")
  set(environment "")
  foreach(tool IN LISTS ARG_NEEDS)
    if(NOT ${tool})
      list(APPEND missing ${tool})
    endif()
  endforeach()
  if(NOT ARG_WORKING_DIRECTORY)
    set(ARG_WORKING_DIRECTORY ${PGHEALTHD_ALERTING_DIR})
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  set(name "alerting: ${ARG_NAME}")
  if(missing)
    message(STATUS "${name}: disabled, not found: ${missing}")
    add_test(NAME "${name}" COMMAND ${CMAKE_COMMAND} -E echo "not found: ${missing}")
    set_tests_properties("${name}" PROPERTIES LABELS alerting DISABLED TRUE)
    return()
  endif()
  add_test(NAME "${name}" COMMAND ${ARG_COMMAND} WORKING_DIRECTORY ${ARG_WORKING_DIRECTORY})
  # The scripts use the tools CMake found, not whatever is first on ctest's PATH.
  set_tests_properties("${name}" PROPERTIES
    LABELS alerting
    TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "AMTOOL=${PGHEALTHD_AMTOOL};ALERTMANAGER=${PGHEALTHD_ALERTMANAGER};PROMTOOL=${PGHEALTHD_PROMTOOL}")
endfunction()

# The rules file parses, and its expressions and templates are valid.
pghealthd_alerting_test(NAME "promtool check rules"
  NEEDS PGHEALTHD_PROMTOOL
  COMMAND ${PGHEALTHD_PROMTOOL} check rules ${PGHEALTHD_ALERTING_DIR}/alerts/pghealthd-rules.yml)

# Every alert fires on its case with exact labels and annotations, and stays quiet on its near misses;
# recording rules give the expected samples. (rule_files in the test file are relative to it.)
pghealthd_alerting_test(NAME "promtool test rules"
  NEEDS PGHEALTHD_PROMTOOL
  WORKING_DIRECTORY ${PGHEALTHD_ALERTING_DIR}/alerts
  COMMAND ${PGHEALTHD_PROMTOOL} test rules pghealthd-rules.test.yml)

# Every alert has runbook_url #runbook-<name>, a RUNBOOK.md entry with that anchor, and a unit test.
pghealthd_alerting_test(NAME "every alert has a runbook entry and a unit test"
  COMMAND ${PGHEALTHD_ALERTING_DIR}/alerts/check-coverage.sh)

# amtool check-config, and every alert of the rules reaches the receiver its severity calls for.
pghealthd_alerting_test(NAME "alertmanager config and routes"
  NEEDS PGHEALTHD_AMTOOL
  COMMAND ${PGHEALTHD_ALERTING_DIR}/alertmanager/routes-test.sh)

# A real Alertmanager on a free local port: PghealthdDown and PghealthdDatabaseUnreachable mute what
# they should, and nothing else.
pghealthd_alerting_test(NAME "alertmanager inhibit rules"
  NEEDS PGHEALTHD_AMTOOL PGHEALTHD_ALERTMANAGER PGHEALTHD_CURL
  COMMAND ${PGHEALTHD_ALERTING_DIR}/alertmanager/inhibit-test.sh)

# The example Prometheus configuration, its rule file and its file_sd target files; run from the
# configuration's directory like a server started there.
pghealthd_alerting_test(NAME "promtool check config of the example prometheus.yml"
  NEEDS PGHEALTHD_PROMTOOL
  WORKING_DIRECTORY ${PGHEALTHD_ALERTING_DIR}/prometheus
  COMMAND ${PGHEALTHD_PROMTOOL} check config prometheus.yml)
