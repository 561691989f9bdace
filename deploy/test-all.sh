#!/usr/bin/env bash
# Installs what is missing, builds everything once and runs every test: one
# clang build (build-asan/) with AddressSanitizer + UBSan that also builds the
# libFuzzer targets and the load generator; the whole suite in it (unit,
# integration, end-to-end and the bench's smoke test; servers they need are
# started by the tests themselves on 127.0.0.1); then each fuzz target for
# 30 s, two at a time (tests/fuzz/run-fuzzers.sh; longer runs by hand:
# `bash tests/fuzz/run-fuzzers.sh 600`). Each stage prints its
# time; the output ends with the fuzzers' summary.
# One build instead of a plain one plus a sanitizer one: the sanitized suite
# checks everything the plain one did, and the cold build is most of the time.
# Faster local runs: HART_FUZZ_SECONDS=0 skips the fuzzing; HART_SANITIZE=0
# builds and tests the plain gcc build (build/, what dev-up.sh runs) instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sanitize=${HART_SANITIZE:-1}
fuzz_seconds=${HART_FUZZ_SECONDS:-30}
begin=$(date +%s)
stage_start=$begin
stage_done() {
  local now
  now=$(date +%s)
  echo "test-all: $1 took $(( now - stage_start )) s ($(( now - begin )) s in all)"
  stage_start=$now
}

bash deploy/install-deps.sh
if [ "$sanitize" = 1 ]; then bash deploy/install-clang.sh; fi
stage_done "install"

if [ "$sanitize" = 1 ]; then
  build="$root/build-asan"
  HART_BUILD_DIR="$build" HART_BUILD_TYPE=Sanitize bash deploy/build.sh
  stage_done "build (clang, ASan + UBSan, libFuzzer targets, hart-bench; build-asan/)"
  # A failed test runs once more (its first failure stays in the log); a
  # real regression fails twice. Seen failing once under ASan: the stream
  # limit test of SecurityE2ETest (a feed stream answered UNIMPLEMENTED on
  # 2026-12-02: gRPC's answer when a handler throws, most likely spdlog's
  # duplicate-logger throw fixed in 3fd7838, not seen since; and, before
  # 529e2a4, a stream slot freed by the test's own cancel), and
  # fault_runner.postgres's kill@rot round (a webhook delivery DEAD after
  # its first attempt: a real defect, fixed in 00cf676, where the replica
  # signalled second could not open data keys the first had wrapped with
  # the new key).
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$build" --output-on-failure -j 2 --repeat until-pass:2
  stage_done "suite under ASan + UBSan"
  if [ "$fuzz_seconds" != 0 ]; then
    HART_FUZZ_BUILD_DIR="$build" HART_FUZZ_JOBS=${HART_FUZZ_JOBS:-2} \
      bash tests/fuzz/run-fuzzers.sh "$fuzz_seconds"
    stage_done "fuzzing"
  fi
else
  bash deploy/build.sh
  stage_done "build (gcc, RelWithDebInfo, build/)"
  ctest --test-dir build --output-on-failure -j 2 --repeat until-pass:2
  stage_done "suite"
fi
