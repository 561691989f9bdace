#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# (unit, integration and end-to-end tests; servers they need are started by
# the tests themselves on 127.0.0.1); then the same suite again under
# AddressSanitizer and UBSan (build-asan/), then each libFuzzer target for a
# minute (tests/fuzz/run-fuzzers.sh, clang, sanitizers).
# Faster local runs: HART_SANITIZE=0 and/or HART_FUZZ_SECONDS=0 skip those.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/install-deps.sh
start=$(date +%s)
bash deploy/build.sh
ctest --test-dir build --output-on-failure -j 2
echo "test-all: build and tests took $(( $(date +%s) - start )) s"
if [ "${HART_SANITIZE:-1}" = "1" ]; then
  start=$(date +%s)
  HART_BUILD_DIR="$root/build-asan" HART_BUILD_TYPE=Debug \
    HART_CMAKE_ARGS="-DHART_SANITIZE=ON -DHART_BENCH=OFF" bash deploy/build.sh
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j 2
  echo "test-all: sanitizer build and tests took $(( $(date +%s) - start )) s"
fi
if [ "${HART_FUZZ_SECONDS:-60}" != "0" ]; then
  start=$(date +%s)
  bash tests/fuzz/run-fuzzers.sh "${HART_FUZZ_SECONDS:-60}"
  echo "test-all: fuzzing took $(( $(date +%s) - start )) s"
fi
