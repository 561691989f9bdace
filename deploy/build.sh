#!/usr/bin/env bash
# Configures and builds the project in build/ (or $HART_BUILD_DIR) with -j2.
# Usage: deploy/build.sh [cmake-target ...]   (default: everything)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HART_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${HART_BUILD_TYPE:-RelWithDebInfo}" \
  ${HART_CMAKE_ARGS:-} >/dev/null
if [ $# -eq 0 ]; then
  cmake --build "$build" -j "${HART_JOBS:-2}"
else
  cmake --build "$build" -j "${HART_JOBS:-2}" --target "$@"
fi
