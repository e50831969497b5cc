#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and fuzzes each for SECONDS (default 60) on a copy
# of its seed corpus. Prints the executions per target; exits non-zero on any crash, leak, timeout or
# out-of-memory, leaving the input that caused it in build-fuzz/crashes/ and the log beside it.
#
#   fuzz/run.sh [SECONDS]          e.g. nice -n 10 fuzz/run.sh 120
#
# Environment: FUZZ_TARGETS="fuzz_config fuzz_rows" runs only those; FUZZ_BUILD_DIR moves build-fuzz.
set -uo pipefail

per_target="${1:-60}"
if ! [[ "$per_target" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]   (a whole number of seconds per target, default 60)" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets=(${FUZZ_TARGETS:-fuzz_config fuzz_web_config fuzz_rows fuzz_http})

for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install clang libclang-rt-14-dev cmake)" >&2; exit 1; }
done

generator=()
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
mkdir -p "$build"
echo "== configuring and building in $build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DPGHEALTHD_FUZZ=ON -DPGHEALTHD_BUILD_TESTS=OFF \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; echo "run.sh: cmake failed" >&2; exit 1; }
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}" || { echo "run.sh: build failed" >&2; exit 1; }

# UBSan findings stop the run (the code is built with -fno-sanitize-recover) and print where they happened.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

crashes="$build/crashes"
logs="$build/fuzz-logs"
mkdir -p "$crashes" "$logs"

failed=0
declare -A execs result
for t in "${targets[@]}"; do
  work="$build/corpus/$t"
  rm -rf "$work"
  mkdir -p "$work"
  cp -R "$root/fuzz/corpus/$t/." "$work/"
  dict=()
  [[ -f "$root/fuzz/dict/$t.dict" ]] && dict=("-dict=$root/fuzz/dict/$t.dict")
  log="$logs/$t.log"
  echo "== $t: ${per_target}s from $(ls "$work" | wc -l) seed inputs (log: $log)"
  "$build/fuzz/$t" -max_total_time="$per_target" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$crashes/$t-" "$work" >"$log" 2>&1
  rc=$?
  execs[$t]="$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)"
  [[ -z "${execs[$t]}" ]] && execs[$t]="$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
  if [[ $rc -eq 0 ]]; then
    result[$t]="ok"
  else
    failed=1
    artifact="$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/^Test unit written to //')"
    kind="$(grep -Eo 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [a-zA-Z-]+' "$log" | head -n 1)"
    [[ -z "$kind" ]] && kind="$(grep -Eo 'runtime error: .*' "$log" | head -n 1)"
    result[$t]="FAILED (exit $rc) ${kind:-see the log} ${artifact:+-> $artifact}"
    cp "$log" "$crashes/$t.log"
    echo "-- $t failed; the report:"
    grep -E -A40 'ERROR: |runtime error:|==ERROR|SUMMARY' "$log" | head -n 80
  fi
done

echo
echo "== executions per target (${per_target}s each)"
for t in "${targets[@]}"; do
  printf '%-16s %12s  %s\n' "$t" "${execs[$t]:-?}" "${result[$t]}"
done
if [[ $failed -ne 0 ]]; then
  echo "run.sh: crashes, leaks or timeouts found: inputs and logs in $crashes" >&2
  exit 1
fi
