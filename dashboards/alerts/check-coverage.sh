#!/usr/bin/env bash
# Checks that every alert of pghealthd-rules.yml is documented and tested:
#   - it has a severity (critical or warning), a summary and a description;
#   - its runbook_url is https://github.com/pghealthd/pghealthd#runbook-<alertname in lower case>;
#   - RUNBOOK.md and README.md (where the anchor resolves) each have exactly one heading "Runbook: <AlertName>" (GitHub's anchor for it is that
#     fragment), and no runbook heading names an alert that does not exist;
#   - pghealthd-rules.test.yml has an evaluation where it fires (exp_labels) and one where it stays
#     quiet (exp_alerts: []).
# Exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
rules=$here/pghealthd-rules.yml
tests=$here/pghealthd-rules.test.yml
runbook=$here/RUNBOOK.md
readme=$here/../../README.md
base=https://github.com/pghealthd/pghealthd#runbook-
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# name severity has-summary has-description runbook_url, one line per alert.
alerts=$(awk '
  function flush() { if (name != "") print name, sev, sum, desc, url; name = "" }
  /^[[:space:]]*- (alert|record):/ { flush() }
  /^[[:space:]]*- alert:/ { name = $3; sev = "-"; sum = 0; desc = 0; url = "-" }
  name != "" && /^[[:space:]]*severity:/ { sev = $2 }
  name != "" && /^[[:space:]]*summary:/ { sum = 1 }
  name != "" && /^[[:space:]]*description:/ { desc = 1 }
  name != "" && /^[[:space:]]*runbook_url:/ { url = $2 }
  END { flush() }
' "$rules")

# For each alertname in the test file: "fires" when an exp_labels follows, "quiet" for exp_alerts: [].
tested=$(awk '
  /^[[:space:]]*alertname:/ { name = $2 }
  /^[[:space:]]*exp_alerts:[[:space:]]*\[\]/ && name != "" { print name, "quiet" }
  /^[[:space:]]*- exp_labels:/ && name != "" { print name, "fires" }
' "$tests" | sort -u)

count=0
while read -r name severity summary description url; do
  count=$((count + 1))
  lower=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')
  case $severity in critical | warning) ;; *) fail "$name: severity '$severity'" ;; esac
  [ "$summary" = 1 ] || fail "$name: no summary annotation"
  [ "$description" = 1 ] || fail "$name: no description annotation"
  [ "$url" = "$base$lower" ] || fail "$name: runbook_url '$url', expected '$base$lower'"
  headings=$(grep -Ec "^#+ Runbook: $name\$" "$runbook")
  [ "$headings" = 1 ] || fail "$name: $headings headings 'Runbook: $name' in RUNBOOK.md, expected 1"
  # The runbook_url's anchor is on the project's front page: README.md carries the same runbooks.
  headings=$(grep -Ec "^#+ Runbook: $name\$" "$readme")
  [ "$headings" = 1 ] || fail "$name: $headings headings 'Runbook: $name' in README.md, expected 1"
  grep -qx "$name fires" <<<"$tested" || fail "$name: no test case where it fires"
  grep -qx "$name quiet" <<<"$tested" || fail "$name: no test case where it stays quiet"
done <<<"$alerts"
[ "$count" -ge 10 ] || fail "found only $count alerts in $rules"

# No runbook for an alert that does not exist (renamed or removed).
while read -r name; do
  grep -q "^$name " <<<"$alerts" || fail "RUNBOOK.md has a runbook for $name, which is no alert"
done < <(sed -n 's/^#\{1,\} Runbook: \([A-Za-z0-9]*\)$/\1/p' "$runbook")

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all $count alerts have a runbook entry, a firing test and a quiet test"
