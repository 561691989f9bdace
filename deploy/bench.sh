#!/usr/bin/env bash
# Builds the broker and hart-bench optimised (Release, in build-bench/) and
# runs one benchmark against a broker hart-bench starts itself (with the
# per-certificate rate limit lifted in a copy of the config; --keep_rate_limit
# measures with the config's own).
# Usage: deploy/bench.sh echo|submit|fanout [hart-bench flags]   (see hart-bench --help)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh" >/dev/null
HART_BUILD_DIR="$root/build-bench" HART_BUILD_TYPE=Release \
  bash "$root/deploy/build.sh" hart-broker hart-bench >/dev/null
exec "$root/build-bench/tests/bench/hart-bench" "$@"
