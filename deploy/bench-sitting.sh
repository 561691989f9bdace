#!/usr/bin/env bash
# One sitting of the performance goal's eight targets, as the README's
# performance table reports them: echo and targets 1-4, --runs times each
# (each target's runs alternating with the others', so an hour's drift
# reaches all alike), then target 6 once; targets 5 and 7 on a kept store with --store (a million
# referrals, filled as the README says: restart three times, then reads
# from a dropped page cache when run as root); the RabbitMQ peer with
# --peer (the directory of its run.sh). Each run's JSON line goes to OUT/,
# and target 3's timelines (each delivered intake's send time and latency,
# hart-bench --timeline) to OUT/t3b-N.csv, t3s-N.csv;
# tests/bench/sitting_summary.sh prints the medians and which targets
# hold. Builds hart-bench optimised as deploy/bench.sh does, unless --bench
# names one (one that knows --timeline, from 2026-12-07 on).
# Usage: deploy/bench-sitting.sh [--out DIR] [--runs N] [--store DIR] [--peer DIR] [--bench BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/var/bench-sitting runs=3 store="" peer="" bench=""
while [ $# -gt 0 ]; do
  case $1 in
    --out | --runs | --store | --peer | --bench)
      [ $# -ge 2 ] || { echo "bench-sitting: $1 wants a value" >&2; exit 2; } ;;&
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --peer) peer=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    *) echo "bench-sitting: unknown argument '$1' (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-sitting: --runs wants a positive number, not '$runs'" >&2; exit 2; }
[ -z "$store" ] || [ -f "$store/data/hart.db" ] ||
  { echo "bench-sitting: --store $store holds no data/hart.db (fill one with hart-bench submit --data_dir)" >&2; exit 2; }
[ -z "$peer" ] || [ -f "$peer/run.sh" ] || { echo "bench-sitting: --peer $peer has no run.sh" >&2; exit 2; }
if [ -z "$bench" ]; then
  bash "$root/deploy/install-deps.sh" >/dev/null
  HART_BUILD_DIR="$root/build-bench" HART_BUILD_TYPE=Release \
    bash "$root/deploy/build.sh" hart-broker hart-bench >/dev/null
  bench=$root/build-bench/tests/bench/hart-bench
fi
mkdir -p "$out"
rm -f "$out"/*.jsonl "$out"/*.log "$out"/*.csv "$out/rabbitmq.txt"
run() {  # NAME hart-bench arguments...: appends the run's JSON line to OUT/NAME.jsonl
  local name=$1
  shift
  echo "$(date -u +%H:%M:%S) $name: hart-bench $*" >&2
  # Its progress and errors go to OUT/NAME.log.
  "$bench" "$@" 2>>"$out/$name.log" | grep '^{' >>"$out/$name.jsonl" ||
    echo "  $name failed: see $out/$name.log" >&2
}
date -u +%Y-%m-%dT%H:%M:%SZ >"$out/started"
for i in $(seq "$runs"); do
  run echo echo --duration 5
  run t1 submit --duration 5
  run t2 submit --duration 5 --rate 1000
  run t3b fanout --duration 5 --rate 1000 --ack_batch 64 --timeline "$out/t3b-$i.csv"
  run t3s fanout --duration 5 --rate 1000 --timeline "$out/t3s-$i.csv"
  run t4b fanout --duration 5 --ack_batch 64
  run t4s fanout --duration 5
done
run t6 idle --subscribers 20000 --duration 10
if [ -n "$store" ]; then
  for _ in $(seq "$runs"); do run t5 restart --data_dir "$store"; done
  # Target 7 is read from the disk, not from pages an earlier run left.
  if [ "$(id -u)" = 0 ]; then sync; echo 1 >/proc/sys/vm/drop_caches; fi
  for _ in $(seq "$runs"); do
    run t7 reads --data_dir "$store" --duration 5 --concurrency 1 --first_pass
  done
fi
if [ -n "$peer" ]; then
  echo "$(date -u +%H:%M:%S) rabbitmq: bash $peer/run.sh $runs 20000" >&2
  (cd "$peer" && bash run.sh "$runs" 20000) >"$out/rabbitmq.txt" 2>&1 || echo "  the peer failed" >&2
fi
date -u +%Y-%m-%dT%H:%M:%SZ >"$out/ended"
bash "$root/tests/bench/sitting_summary.sh" "$out"
