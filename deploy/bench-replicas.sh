#!/usr/bin/env bash
# Measures N hart-broker replicas sharing one PostgreSQL with hart-bench: a
# throw-away PostgreSQL (deploy/dev-postgres.sh in a temporary directory, a
# free port, fsync on), N replicas started by deploy/run-replicas.sh on free
# ports, then hart-bench with every replica as a target (intakes spread over
# them, each feed agency subscribed on another replica than the first) and
# their pids for CPU and RSS. Everything is stopped and removed at the end.
# The per-certificate rate limit is lifted in the replicas' config, as
# hart-bench does for a broker it starts itself.
#
# Usage: deploy/bench-replicas.sh N submit|fanout [hart-bench flags]
#   e.g. deploy/bench-replicas.sh 3 fanout --rate 300 --duration 10
# Each run measures a new database; HART_PG_AUTOVACUUM_NAPTIME=1s (see
# deploy/dev-postgres.sh) has its tables analysed within a second, closer to
# a database in service (with --warmup 3, say).
# Uses the binaries in build/ (or $HART_BUILD_DIR); build them first:
#   deploy/build.sh hart-broker hart-bench
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench-replicas: $*" >&2; exit 1; }

[[ $# -ge 2 && $1 =~ ^[1-9]$ && $2 =~ ^(submit|fanout)$ ]] ||
  { echo "usage: $(basename "$0") N(1-9) submit|fanout [hart-bench flags]" >&2; exit 2; }
n=$1 mode=$2
shift 2
build=${HART_BUILD_DIR:-$root/build}
bench=$build/tests/bench/hart-bench
[[ -x $bench ]] || die "no $bench; build it: deploy/build.sh hart-broker hart-bench"

work=$(mktemp -d /tmp/hart-bench-replicas.XXXXXX)
chmod 755 "$work"   # the postgres user (when run as root) must reach its data
runner=0
cleanup() {
  if [[ $runner -gt 0 ]]; then
    kill -TERM "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
  HART_PG_DIR=$work/pg bash "$root/deploy/dev-postgres.sh" destroy >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The config with the per-certificate rate limit lifted: one careline
# certificate sends every intake.
config=$work/connecticut-bench.yaml
sed '/^server:$/a\  rate_limit_per_second: 1000000\n  rate_limit_burst: 1000000' \
  "$root/deploy/config/connecticut.yaml" >"$config"
grep -q 'rate_limit_per_second: 1000000' "$config" || die "could not lift the rate limit in $config"

export HART_PG_DIR=$work/pg HART_PG_PORT=auto
bash "$root/deploy/dev-postgres.sh" start >/dev/null
HART_REPLICAS_DIR=$work/replicas HART_REPLICA_BASE_PORT=0 HART_NO_BUILD=1 \
  HART_LOG_LEVEL=warn HART_REPLICAS_SOURCE_CONFIG=$config HART_CERTS_DIR=$work/certs \
  bash "$root/deploy/run-replicas.sh" "$n" >"$work/replicas.log" 2>&1 &
runner=$!

# Bounded wait for every replica's port file (run-replicas starts them in turn).
for _ in $(seq 1 1200); do
  ready=0
  for i in $(seq 1 "$n"); do [[ -s $work/replicas/replica-$i.port ]] && ready=$((ready + 1)); done
  [[ $ready -eq $n ]] && break
  kill -0 "$runner" 2>/dev/null || { tail -n 30 "$work/replicas.log" >&2; die "the replicas did not start"; }
  sleep 0.1
done
[[ $ready -eq $n ]] || { tail -n 30 "$work/replicas.log" >&2; die "the replicas did not start within 120 s"; }

targets=() pids=()
for i in $(seq 1 "$n"); do
  targets+=("127.0.0.1:$(cat "$work/replicas/replica-$i.port")")
  pid=$(pgrep -f -- "hart-broker --config $work/replicas/replica-$i.yaml " | head -n 1 || true)
  [[ -n $pid ]] || die "cannot find replica-$i's pid"
  pids+=("$pid")
done
IFS=,
"$bench" "$mode" --target "${targets[*]}" --broker_pid "${pids[*]}" \
  --certs_dir "$work/certs" --config "$config" "$@"
