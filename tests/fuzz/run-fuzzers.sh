#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan + UBSan: the
# Sanitize build of deploy/build.sh, which installs clang if missing) and fuzzes
# each for SECONDS_PER_TARGET (default 60) on a copy of its seed corpus, so
# the repository is never modified. Replays tests/fuzz/regressions first.
# Exits non-zero if a regression fails or a fuzzer finds a crash, a leak, a
# timeout (> 10 s) or an out-of-memory (> 2 GiB), printing the input's path.
#
# Usage: tests/fuzz/run-fuzzers.sh [SECONDS_PER_TARGET]
# Environment: HART_FUZZ_BUILD_DIR (default build-fuzz/), HART_JOBS (build
# parallelism, default 2), HART_FUZZ_JOBS (fuzzers run at once, default 1),
# HART_FUZZ_TARGETS (space-separated subset).
# Outputs: build-fuzz/fuzz-runs/<timestamp>/<target>/{log,corpus/,artifacts/}.
# A crash input becomes a regression test: copy it to
# tests/fuzz/regressions/<target>-<short-name> (see tests/fuzz/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
build=${HART_FUZZ_BUILD_DIR:-$root/build-fuzz}
read -r -a targets <<<"${HART_FUZZ_TARGETS:-fuzz_intake_json fuzz_intake_binary fuzz_supplement fuzz_config}"
fuzz_jobs=${HART_FUZZ_JOBS:-1}
start=$(date +%s)
cd "$root"

# --- build (clang, ASan + UBSan; configured by deploy/build.sh) ---
# deploy/test-all.sh points HART_FUZZ_BUILD_DIR at its sanitizer build, where
# the targets are already built: then this only checks they are up to date.
bash "$root/deploy/install-deps.sh"
HART_BUILD_DIR="$build" HART_BUILD_TYPE=Sanitize bash "$root/deploy/build.sh" "${targets[@]}"
echo "run-fuzzers: built in $(( $(date +%s) - start )) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()

# --- regressions: every saved crash input must now pass ---
shopt -s nullglob
for input in "$root"/tests/fuzz/regressions/fuzz_*; do
  name=$(basename "$input")
  target=${name%%-*}
  log="$build/regression-$name.log"
  if "$build/tests/fuzz/$target" "$input" >"$log" 2>&1; then
    echo "run-fuzzers: regression $name passes"
  else
    echo "run-fuzzers: REGRESSION $name FAILS ($target $input); log: $log"
    grep -E '^(==[0-9]+==|    #[0-9]+ |SUMMARY|.*runtime error)' "$log" | head -40 || true
    failed+=("regression:$name")
  fi
done

# --- fuzzing ---
runs="$build/fuzz-runs/$(date +%Y%m%d-%H%M%S)"
fuzz_one() {
  local target=$1 out="$runs/$1" extra=()
  mkdir -p "$out/corpus" "$out/artifacts"
  cp -R "$root/tests/fuzz/corpus/$target/." "$out/corpus/"
  case $target in
    fuzz_config) extra=(-dict="$root/tests/fuzz/dict/config.dict") ;;
    fuzz_intake_json | fuzz_supplement) extra=(-dict="$root/tests/fuzz/dict/json.dict") ;;
  esac
  local rc=0
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/" "${extra[@]}" \
    "$out/corpus" >"$out/log" 2>&1 || rc=$?
  echo "$rc" >"$out/rc"
}
report() {
  local target=$1 out="$runs/$1" rc
  rc=$(cat "$out/rc")
  local last execs
  last=$(grep -E '^#[0-9]+' "$out/log" | tail -1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$out/log" | awk '{print $2}' || true)
  echo "run-fuzzers: $target: ${last:-no progress line} (executions: ${execs:-?})"
  if [ "$rc" != 0 ]; then
    echo "run-fuzzers: $target FOUND A PROBLEM (exit $rc); log: $out/log"
    for crash in "$out"/artifacts/*; do echo "run-fuzzers:   input: $crash"; done
    grep -E '^(==[0-9]+==|    #[0-9]+ |SUMMARY|.*runtime error|fuzz_|terminate)' "$out/log" \
      | head -60 || true
    failed+=("$target")
  fi
}
pending=()
for target in "${targets[@]}"; do
  echo "run-fuzzers: fuzzing $target for $seconds s"
  fuzz_one "$target" &
  pending+=("$target")
  if [ ${#pending[@]} -ge "$fuzz_jobs" ]; then
    wait
    for t in "${pending[@]}"; do report "$t"; done
    pending=()
  fi
done
wait
for t in "${pending[@]}"; do report "$t"; done

echo "run-fuzzers: total $(( $(date +%s) - start )) s; runs in $runs"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-fuzzers: FAILED: ${failed[*]}"
  exit 1
fi
echo "run-fuzzers: no crashes"
