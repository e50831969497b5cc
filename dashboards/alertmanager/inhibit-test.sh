#!/usr/bin/env bash
# Checks the inhibit rules of the example Alertmanager configuration against a real Alertmanager.
#
#   dashboards/alertmanager/inhibit-test.sh [alertmanager.yml]
#
# Starts prometheus-alertmanager on a free local port (no clustering, a temporary data directory, the
# webhook URLs pointed at a closed port), posts a set of alerts with amtool and checks which of them
# Alertmanager reports as inhibited:
#   - PghealthdDown mutes every other pghealthd alert of the same instance, and nothing of another one;
#   - PghealthdDatabaseUnreachable mutes collector, table and vacuum alerts of the same instance, target
#     and database, and nothing of another database;
#   - the critical PghealthdWraparoundApproaching mutes the warning of the same database, the critical
#     PghealthdSequenceNearExhaustion the warning of the same sequence, and the critical (database-wide)
#     PghealthdAutovacuumDisabled the table warnings of the same database, and nothing else.
# Exits non-zero on any failure. Needs prometheus-alertmanager and amtool (ALERTMANAGER and AMTOOL
# override them) and curl.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
config=${1:-$here/alertmanager.yml}
alertmanager=${ALERTMANAGER:-$(command -v prometheus-alertmanager || command -v alertmanager || echo prometheus-alertmanager)}
amtool=${AMTOOL:-amtool}

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The same configuration, but no test alert may reach the placeholder receivers (port 9 is "discard").
sed 's#http://127\.0\.0\.1:9099/#http://127.0.0.1:9/#' "$config" >"$work/alertmanager.yml"

# Start on a free port: try a few random ones, a port in use makes Alertmanager exit at once.
url=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  port=$((20000 + RANDOM % 40000))
  "$alertmanager" --config.file="$work/alertmanager.yml" --storage.path="$work/data" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn \
    >"$work/alertmanager.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
      url="http://127.0.0.1:$port"
      break 2
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
done
if [ -z "$url" ]; then
  echo "FAIL: could not start $alertmanager"
  cat "$work/alertmanager.log"
  exit 1
fi
echo "alertmanager listening on $url"

am() { "$amtool" --alertmanager.url="$url" "$@"; }

m1=(job=pghealthd instance=pg-mon-1:9188)
m2=(job=pghealthd instance=pg-mon-2:9188)
app=(target=db1 datname=app)
billing=(target=db2 datname=billing)
warehouse=(target=db4 datname=warehouse)

# Alerts as Prometheus would send them (the labels of pghealthd-rules.yml).
post() { am alert add "$@" || { echo "FAIL: amtool alert add $*"; exit 1; }; }
post alertname=PghealthdDown severity=critical "${m1[@]}"
post alertname=PghealthdTableDeadTuplesHigh severity=warning "${m1[@]}" "${app[@]}" schemaname=public relname=orders
post alertname=PghealthdCollectorStale severity=warning "${m1[@]}" "${app[@]}" collector=xmin_horizon
post alertname=PghealthdTableDeadTuplesHigh severity=warning "${m2[@]}" "${app[@]}" schemaname=public relname=orders
post alertname=PghealthdDatabaseUnreachable severity=critical "${m2[@]}" "${billing[@]}"
post alertname=PghealthdCollectorFailing severity=warning "${m2[@]}" "${billing[@]}" collector=stat_user_tables
post alertname=PghealthdVacuumFailing severity=warning "${m2[@]}" "${billing[@]}" schemaname=public relname=invoices result=failed
post alertname=PghealthdCollectorFailing severity=warning "${m2[@]}" "${app[@]}" collector=stat_user_tables
post alertname=PghealthdConfigReloadFailed severity=warning "${m2[@]}"
# Wraparound: billing's critical hides billing's warning, not app's.
post alertname=PghealthdWraparoundApproaching severity=critical "${m2[@]}" "${billing[@]}"
post alertname=PghealthdWraparoundApproaching severity=warning "${m2[@]}" "${billing[@]}"
post alertname=PghealthdWraparoundApproaching severity=warning "${m2[@]}" "${app[@]}"
# Sequences: db1/app's orders_id_seq critical hides its warning, not invoices_id_seq's, nor the warning
# of the same sequence on another server (db3, a replica of db1: each server alerts on its own).
post alertname=PghealthdSequenceNearExhaustion severity=critical "${m2[@]}" "${app[@]}" schemaname=public sequencename=orders_id_seq
post alertname=PghealthdSequenceNearExhaustion severity=warning "${m2[@]}" "${app[@]}" schemaname=public sequencename=orders_id_seq
post alertname=PghealthdSequenceNearExhaustion severity=warning "${m2[@]}" "${app[@]}" schemaname=public sequencename=invoices_id_seq
post alertname=PghealthdSequenceNearExhaustion severity=warning "${m2[@]}" target=db3 datname=app schemaname=public sequencename=orders_id_seq
# Autovacuum off for db4/warehouse hides that database's table warnings, not app's, nor those of a
# database of the same name on another server (db5). Unreachable db2/billing mutes both forms.
post alertname=PghealthdAutovacuumDisabled severity=critical "${m2[@]}" "${warehouse[@]}"
post alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" "${warehouse[@]}" schemaname=public relname=orders
post alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" "${app[@]}" schemaname=public relname=orders
post alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" target=db5 datname=warehouse schemaname=public relname=orders
post alertname=PghealthdAutovacuumDisabled severity=critical "${m2[@]}" "${billing[@]}"
post alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" "${billing[@]}" schemaname=public relname=invoices
# A cluster-wide alert carries no instance: PghealthdDown of pg-mon-1 does not mute it.
post alertname=PghealthdIndexUnusedEverywhere severity=warning cluster=orders datname=app schemaname=public relname=orders indexrelname=orders_created_at_idx

# state LABEL=VALUE...: "inhibited", "active" or "missing", as Alertmanager reports the one alert with
# exactly these labels (the label names not given must be absent).
state() {
  local matchers=("$@") known=(alertname severity job instance target datname schemaname relname collector result sequencename cluster indexrelname) name
  for name in "${known[@]}"; do
    [[ " $* " == *" $name="* ]] || matchers+=("$name=\"\"")
  done
  if [ "$(am alert query -o json -i "${matchers[@]}")" != "[]" ] && [ "$(am alert query -o json -a "${matchers[@]}")" = "[]" ]; then
    echo inhibited
  elif [ "$(am alert query -o json -a "${matchers[@]}")" != "[]" ]; then
    echo active
  else
    echo missing
  fi
}

failures=0
expect() {
  local want=$1 got deadline=$((SECONDS + 10))
  shift
  # The inhibitor learns of new alerts asynchronously: allow it a moment.
  while got=$(state "$@"); [ "$got" != "$want" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if [ "$got" = "$want" ]; then
    echo "ok:   $want: $*"
  else
    echo "FAIL: expected $want, got $got: $*"
    failures=$((failures + 1))
  fi
}

# PghealthdDown on pg-mon-1 mutes pg-mon-1's other alerts, not itself and not pg-mon-2's.
expect active alertname=PghealthdDown severity=critical "${m1[@]}"
expect inhibited alertname=PghealthdTableDeadTuplesHigh severity=warning "${m1[@]}" "${app[@]}" schemaname=public relname=orders
expect inhibited alertname=PghealthdCollectorStale severity=warning "${m1[@]}" "${app[@]}" collector=xmin_horizon
expect active alertname=PghealthdTableDeadTuplesHigh severity=warning "${m2[@]}" "${app[@]}" schemaname=public relname=orders
# PghealthdDatabaseUnreachable for pg-mon-2's db2/billing mutes that database's collector and vacuum
# alerts, not another database's, and not the daemon's own.
expect active alertname=PghealthdDatabaseUnreachable severity=critical "${m2[@]}" "${billing[@]}"
expect inhibited alertname=PghealthdCollectorFailing severity=warning "${m2[@]}" "${billing[@]}" collector=stat_user_tables
expect inhibited alertname=PghealthdVacuumFailing severity=warning "${m2[@]}" "${billing[@]}" schemaname=public relname=invoices result=failed
expect active alertname=PghealthdCollectorFailing severity=warning "${m2[@]}" "${app[@]}" collector=stat_user_tables
expect active alertname=PghealthdConfigReloadFailed severity=warning "${m2[@]}"
expect active alertname=PghealthdWraparoundApproaching severity=critical "${m2[@]}" "${billing[@]}"
expect inhibited alertname=PghealthdWraparoundApproaching severity=warning "${m2[@]}" "${billing[@]}"
expect active alertname=PghealthdWraparoundApproaching severity=warning "${m2[@]}" "${app[@]}"
expect active alertname=PghealthdSequenceNearExhaustion severity=critical "${m2[@]}" "${app[@]}" schemaname=public sequencename=orders_id_seq
expect inhibited alertname=PghealthdSequenceNearExhaustion severity=warning "${m2[@]}" "${app[@]}" schemaname=public sequencename=orders_id_seq
expect active alertname=PghealthdSequenceNearExhaustion severity=warning "${m2[@]}" "${app[@]}" schemaname=public sequencename=invoices_id_seq
expect active alertname=PghealthdSequenceNearExhaustion severity=warning "${m2[@]}" target=db3 datname=app schemaname=public sequencename=orders_id_seq
expect active alertname=PghealthdAutovacuumDisabled severity=critical "${m2[@]}" "${warehouse[@]}"
expect inhibited alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" "${warehouse[@]}" schemaname=public relname=orders
expect active alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" "${app[@]}" schemaname=public relname=orders
expect active alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" target=db5 datname=warehouse schemaname=public relname=orders
expect inhibited alertname=PghealthdAutovacuumDisabled severity=critical "${m2[@]}" "${billing[@]}"
expect inhibited alertname=PghealthdAutovacuumDisabled severity=warning "${m2[@]}" "${billing[@]}" schemaname=public relname=invoices
expect active alertname=PghealthdIndexUnusedEverywhere severity=warning cluster=orders datname=app schemaname=public relname=orders indexrelname=orders_created_at_idx

if [ "$failures" -gt 0 ]; then
  echo "$failures inhibition check(s) failed; Alertmanager's log:"
  cat "$work/alertmanager.log"
  exit 1
fi
echo "all inhibition checks passed"
