#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan + UBSan) and fuzzes
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

# --- clang with the libFuzzer runtime (Debian: clang + libclang-rt-N-dev) ---
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
apt_install() {
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "run-fuzzers: installing ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}
can_link_fuzzer() {
  local dir rc=0
  dir=$(mktemp -d)
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
    >"$dir/probe.cc"
  clang++ -fsanitize=fuzzer,address,undefined "$dir/probe.cc" -o "$dir/probe" \
    >/dev/null 2>&1 || rc=$?
  rm -rf "$dir"
  return $rc
}
if ! command -v clang++ >/dev/null 2>&1; then apt_install clang; fi
if ! can_link_fuzzer; then
  clang_major=$(clang++ -dumpversion | cut -d. -f1)
  apt_install "libclang-rt-${clang_major}-dev"
  can_link_fuzzer || { echo "run-fuzzers: clang++ cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi
bash "$root/deploy/install-deps.sh"

# --- configure (once) and build ---
if [ -f "$build/CMakeCache.txt" ]; then
  if ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$build/CMakeCache.txt"; then
    echo "run-fuzzers: $build was configured with another compiler; remove it" >&2
    exit 1
  fi
  generator=()
else
  generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
fi
CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHART_FUZZ=ON -DHART_SANITIZE=ON -DHART_BENCH=OFF \
  >/dev/null
cmake --build "$build" -j "${HART_JOBS:-2}" --target "${targets[@]}"
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
