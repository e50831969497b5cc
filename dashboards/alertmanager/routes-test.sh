#!/usr/bin/env bash
# Checks the example Alertmanager configuration and where its routing tree sends alerts.
#
#   dashboards/alertmanager/routes-test.sh [alertmanager.yml [pghealthd-rules.yml]]
#
# 1. `amtool check-config` accepts the file.
# 2. Hand-written cases: critical pages, warning and anything else goes to the team chat.
# 3. Every alert of the rules file, with the severity the rules give it, reaches the receiver that
#    severity calls for (so a new alert or a changed severity cannot silently go nowhere, or page).
# Exits non-zero on any failure. Needs amtool (Debian: prometheus-alertmanager); AMTOOL overrides it.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
config=${1:-$here/alertmanager.yml}
rules=${2:-$here/../alerts/pghealthd-rules.yml}
amtool=${AMTOOL:-amtool}
failures=0

if ! "$amtool" check-config "$config"; then
  echo "FAIL: amtool check-config $config"
  exit 1
fi

# expect RECEIVER LABEL=VALUE...: the alert with these labels is routed to exactly RECEIVER.
expect() {
  local want=$1 got
  shift
  # --verify.receivers makes amtool exit 1 when the resolved receivers differ. Its warning that
  # --config.file overrides --alertmanager.url goes to stderr and is dropped.
  if got=$("$amtool" config routes test --config.file="$config" --verify.receivers="$want" "$@" 2>/dev/null); then
    echo "ok:   $* -> $want"
  else
    echo "FAIL: $* -> expected $want, got ${got//$'\n'/ }"
    failures=$((failures + 1))
  fi
}

# The routing policy.
expect pager     severity=critical alertname=PghealthdDown instance=pg-mon-1:9188 job=pghealthd
expect pager     severity=critical alertname=PghealthdDatabaseUnreachable target=db1 datname=app
expect team-chat severity=warning alertname=PghealthdTableDeadTuplesHigh target=db1 datname=app schemaname=public relname=orders
expect team-chat severity=warning alertname=PghealthdVacuumFailing target=db1 datname=app result=timeout
# A cluster-wide alert has no target or instance label, and is routed by its severity all the same.
expect team-chat severity=warning alertname=PghealthdIndexUnusedEverywhere cluster=orders datname=app schemaname=public relname=orders indexrelname=orders_created_at_idx
# The default route: no severity, or one the tree does not know.
expect team-chat alertname=SomethingElse
expect team-chat severity=info alertname=PghealthdAutovacuumLate
# A critical alert from any other source pages as well: the route matches on severity only.
expect pager     severity=critical alertname=PostgresqlDown

# Every alert in the rules file, with its own severity.
alerts=0
while read -r name severity; do
  alerts=$((alerts + 1))
  case $severity in
    critical) expect pager "severity=$severity" "alertname=$name" ;;
    warning) expect team-chat "severity=$severity" "alertname=$name" ;;
    *)
      echo "FAIL: $name has severity '$severity'; the rules use critical or warning only"
      failures=$((failures + 1))
      ;;
  esac
done < <(awk '
  /^[[:space:]]*- alert:/ { if (name != "") print name, sev; name = $3; sev = "none" }
  /^[[:space:]]*- record:/ { if (name != "") print name, sev; name = "" }
  name != "" && /^[[:space:]]*severity:/ { sev = $2 }
  END { if (name != "") print name, sev }
' "$rules")
if [ "$alerts" -lt 10 ]; then
  echo "FAIL: found only $alerts alerts in $rules"
  failures=$((failures + 1))
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures routing check(s) failed"
  exit 1
fi
echo "all routing checks passed ($alerts alerts from the rules file)"
