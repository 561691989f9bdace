#!/usr/bin/env bash
# Smoke test of hart-bench's store modes (issue #15, targets 5-7): fill a kept
# store through the broker, restart on it, read it as a supervisor, and hold
# idle feed streams. Passes when each mode measured what it reports; timings
# are not asserted (benchmarks measure them).
# Usage: bench_store_modes_test.sh HART_BENCH_BINARY [more hart-bench flags]
set -euo pipefail
bench=$1
shift
work=$(mktemp -d)
out=$work/out
trap 'rm -rf "$work"' EXIT
fail() { echo "bench store modes test: $1"; cat "$out"; exit 1; }
summary() { grep '^{' "$out" | tail -n 1; }
number() { grep -o "\"$1\":[0-9.]*" <<<"$(summary)" | head -n 1 | cut -d: -f2; }

"$bench" submit --data_dir "$work/store" --max_requests 300 --duration 600 --warmup 0 \
  --channels 1 "$@" >"$out" || fail "filling the store failed"
[ "$(number ok)" = 300 ] || fail "$(number ok) of 300 intakes stored"

"$bench" restart --data_dir "$work/store" "$@" >"$out" || fail "restart failed"
[ -n "$(number first_intake_s)" ] || fail "no first_intake_s"
[ -n "$(number first_feed_event_s)" ] || fail "no first_feed_event_s"
[ "$(number first_sequence)" = 1 ] || fail "the restarted feed did not start at its backlog"

"$bench" reads --data_dir "$work/store" --duration 1 --warmup 0 --concurrency 4 --first_pass \
  "$@" >"$out" || fail "reads failed"
[ "$(number referral_ids)" = 301 ] || fail "listed $(number referral_ids) referrals, not 301"
[ "$(number errors)" = 0 ] || fail "$(number errors) reads failed"
grep -q '"get_referral_ms":{"count":[1-9]' <<<"$(summary)" || fail "no GetReferral measured"
grep -q '"first_reads_ms":{"count":301,' <<<"$(summary)" ||
  fail "the first pass did not read each of the 301 referrals once"
[ "$(number first_read_errors)" = 0 ] || fail "$(number first_read_errors) first reads failed"

"$bench" idle --subscribers 200 --duration 1 "$@" >"$out" || fail "idle failed"
[ "$(number open)" = 200 ] || fail "$(number open) of 200 idle streams opened"
[ "$(number failed)" = 0 ] || fail "$(number failed) idle streams failed"
echo "bench store modes test: filled 300, restarted, read (each once first), held 200 idle streams"
