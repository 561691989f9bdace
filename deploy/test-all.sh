#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# (unit, integration and end-to-end tests; servers they need are started by
# the tests themselves on 127.0.0.1). With HART_SANITIZE=1 it also builds and
# runs everything again under AddressSanitizer and UBSan in build-asan/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/install-deps.sh
start=$(date +%s)
bash deploy/build.sh
ctest --test-dir build --output-on-failure -j 2
echo "test-all: build and tests took $(( $(date +%s) - start )) s"
if [ "${HART_SANITIZE:-0}" = "1" ]; then
  HART_BUILD_DIR="$root/build-asan" HART_BUILD_TYPE=Debug \
    HART_CMAKE_ARGS="-DHART_SANITIZE=ON" bash deploy/build.sh
  ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j 2
  echo "test-all: sanitizer run passed"
fi
