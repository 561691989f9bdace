#!/usr/bin/env bash
# The long fault run (issue #14): builds hart-broker, hartctl and the fault
# runner (RelWithDebInfo, build/ or $HART_BUILD_DIR), makes the e2e dev
# certificates, and runs the real broker through N rounds of faults per
# backend (SQLite, then PostgreSQL replicas on a throw-away server started as
# an unprivileged user), printing its table. Every round is bounded in time.
# Usage: deploy/faults.sh [--rounds N] [--seed S] [more fault_runner flags]
#   --rounds N: N rounds of every fault kind and N pauses per backend
#   (default 20, seed 7; PostgreSQL with 3 replicas). The other flags are
#   listed at the top of tests/faults/fault_runner.cc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HART_BUILD_DIR:-$root/build}
bash "$root/deploy/install-deps.sh" >/dev/null
HART_BUILD_DIR="$build" bash "$root/deploy/build.sh" hart-broker hartctl hart-admin fault_runner >/dev/null
ctest --test-dir "$build" -R '^make_e2e_dev_certs$' >/dev/null
args=()
each=20
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds|--each)
      [ $# -ge 2 ] || { echo "faults.sh: $1 needs a number" >&2; exit 2; }
      each=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
args+=(--each "$each")
[[ " ${args[*]} " == *" --seed "* ]] || args+=(--seed 7)
[[ " ${args[*]} " == *" --replicas "* ]] || args+=(--replicas 3)
exec timeout 3h "$build/tests/faults/fault_runner" "${args[@]}"
