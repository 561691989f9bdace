#!/usr/bin/env bash
# Configures and builds the project in build/ (or $HART_BUILD_DIR) with -j2.
# Usage: deploy/build.sh [cmake-target ...]   (default: everything)
# HART_BUILD_TYPE: RelWithDebInfo (default), Debug, Release, or Sanitize: the
# clang build with ASan + UBSan and the libFuzzer targets that
# deploy/test-all.sh and tests/fuzz/run-fuzzers.sh use (installs clang if
# missing). HART_CMAKE_ARGS: more -D options (no spaces inside one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HART_BUILD_DIR:-$root/build}

# ccache: paths under the repository are hashed relative to it and the
# compile directory not at all (it is in -g output), so a fresh clone in
# another folder (CI) hits what an earlier clone compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

type=${HART_BUILD_TYPE:-RelWithDebInfo}
configure=(-DCMAKE_BUILD_TYPE="$type")
if [ "$type" = RelWithDebInfo ]; then
  # -g1: function names, files and lines (profilers, backtraces) without
  # types and locals; compiles in about a third less time than -g.
  configure+=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
fi
if [ "$type" = Sanitize ]; then
  bash "$root/deploy/install-clang.sh" >/dev/null
  # -O1 with line tables only: faster to compile, link and run than -O0 -g,
  # and sanitizer stack traces keep function, file and line. Debug keeps
  # NDEBUG off (library assertions checked).
  # lld (deploy/install-clang.sh) links the ~70 sanitized binaries in a
  # fraction of GNU ld's time.
  configure=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only"
             -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld
             -DHART_SANITIZE=ON -DHART_FUZZ=ON -DHART_BENCH=ON)
  if [ -f "$build/CMakeCache.txt" ] &&
     ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$build/CMakeCache.txt"; then
    echo "build: $build was configured with another compiler; configuring it afresh for clang"
    configure+=(--fresh)
  fi
  export CC=clang CXX=clang++
fi
# shellcheck disable=SC2086 # HART_CMAKE_ARGS is a list of words
cmake -S "$root" -B "$build" "${configure[@]}" ${HART_CMAKE_ARGS:-} >/dev/null
if [ $# -eq 0 ]; then
  cmake --build "$build" -j "${HART_JOBS:-2}"
else
  cmake --build "$build" -j "${HART_JOBS:-2}" --target "$@"
fi
