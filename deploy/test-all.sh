#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# (unit, integration and end-to-end tests; servers they need are started by
# the tests themselves on 127.0.0.1); then, in one clang build with
# AddressSanitizer + UBSan and the libFuzzer targets (build-asan/), fuzzes
# each target for a minute, two at a time (tests/fuzz/run-fuzzers.sh), and
# runs the suite again with the fuzz regressions and seeds. Each stage prints
# its time; the output ends with the last suite's summary.
# Faster local runs: HART_SANITIZE=0 skips the sanitizer suite and
# HART_FUZZ_SECONDS=0 the fuzzing; with both, build-asan/ is not built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sanitize=${HART_SANITIZE:-1}
fuzz_seconds=${HART_FUZZ_SECONDS:-60}
begin=$(date +%s)
stage_start=$begin
stage_done() {
  local now
  now=$(date +%s)
  echo "test-all: $1 took $(( now - stage_start )) s ($(( now - begin )) s in all)"
  stage_start=$now
}

bash deploy/install-deps.sh
if [ "$sanitize" = 1 ] || [ "$fuzz_seconds" != 0 ]; then bash deploy/install-clang.sh; fi
stage_done "install"

bash deploy/build.sh
stage_done "build (gcc, RelWithDebInfo, build/)"
ctest --test-dir build --output-on-failure -j 2
stage_done "suite"

asan="$root/build-asan"
if [ "$sanitize" = 1 ]; then
  HART_BUILD_DIR="$asan" HART_BUILD_TYPE=Sanitize bash deploy/build.sh
  stage_done "sanitizer build (clang, ASan + UBSan, libFuzzer targets, build-asan/)"
fi
if [ "$fuzz_seconds" != 0 ]; then
  HART_FUZZ_BUILD_DIR="$asan" HART_FUZZ_JOBS=${HART_FUZZ_JOBS:-2} \
    bash tests/fuzz/run-fuzzers.sh "$fuzz_seconds"
  stage_done "fuzzing"
fi
if [ "$sanitize" = 1 ]; then
  echo "test-all: $(( $(date +%s) - begin )) s so far; last stage: the suite under ASan + UBSan," \
    "with the fuzz regressions and seeds"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$asan" --output-on-failure -j 2
fi
