# Grafana dashboards (dashboards/): included from tests/CMakeLists.txt. No build step: the tests read the
# JSON files in the source tree. Run them alone with `ctest -L dashboards`.
#
# The type-check tests share dashboards/typecheck/node_modules (npm ci rewrites it), so they never run at
# the same time.

set(PGHEALTHD_DASHBOARDS ${PROJECT_SOURCE_DIR}/dashboards)

# Each dashboard, as `const d: Dashboard = <json>`, must satisfy @grafana/schema's types (tsc --noEmit).
add_test(NAME "dashboards: type-check against @grafana/schema"
  COMMAND bash ${PGHEALTHD_DASHBOARDS}/typecheck/check.sh)

# The type check is not vacuous: a copy whose "panels" is a string must fail it.
add_test(NAME "dashboards: type-check rejects a broken dashboard"
  COMMAND bash -c "jq '.panels = \"oops\"' \"$1\" >broken-dashboard.json || exit 1; \
if out=$(bash \"$2\" broken-dashboard.json 2>&1); then echo \"$out\"; echo 'FAIL: a broken dashboard passed'; exit 1; fi; \
echo \"$out\"; grep -q 'error TS' <<<\"$out\" || { echo 'FAIL: no type error reported'; exit 1; }; \
echo 'the broken dashboard was rejected with a type error, as it should be'"
    bash ${PGHEALTHD_DASHBOARDS}/pghealthd-overview.json ${PGHEALTHD_DASHBOARDS}/typecheck/check.sh
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})

# JSON parses, fixed uids, unique panel ids, ${datasource} everywhere, a refId and non-empty expr for every
# query, [$__rate_interval] in every range, known metric names, and panel-queries.sh prints one non-empty
# PromQL line per query that promtool parses.
add_test(NAME "dashboards: JSON, uids, panel ids and queries"
  COMMAND bash ${PGHEALTHD_DASHBOARDS}/lint.sh)

set_tests_properties(
  "dashboards: type-check against @grafana/schema"
  "dashboards: type-check rejects a broken dashboard"
  "dashboards: JSON, uids, panel ids and queries"
  PROPERTIES LABELS dashboards TIMEOUT 300)
set_tests_properties(
  "dashboards: type-check against @grafana/schema"
  "dashboards: type-check rejects a broken dashboard"
  PROPERTIES RESOURCE_LOCK pghealthd-dashboards-typecheck)
