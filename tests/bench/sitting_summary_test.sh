#!/usr/bin/env bash
# sitting_summary.sh on runs made up here: medians, ranges, the ratios to
# echo and RabbitMQ, and each target judged by its threshold, including a
# target missed by one run's failed acks and one by its median only.
# Usage: sitting_summary_test.sh SITTING_SUMMARY_SH
set -euo pipefail
summary=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
line() { echo "{\"mode\":\"x\",$1}"; }
for v in 200 100 300; do line "\"throughput_per_s\":$v"; done >"$dir/echo.jsonl"
for v in 60 40 50; do line "\"throughput_per_s\":$v,\"latency_ms\":{\"p99\":9}"; done >"$dir/t1.jsonl"
for run in 4:0.4 6:0.6 4.5:0.5; do
  v=${run%:*} stall=${run#*:}
  line "\"latency_ms\":{\"count\":3,\"p99\":$v},\"broker_cpu_s\":4,\"cpu_window_s\":5,\"broker_peak_rss_mib\":90,\"broker_disk_write_kib_per_ok\":14$v,\"io_stalls\":{\"full_stall_s\":$stall,\"longest_stall_ms\":20,\"latency_less_stalls_ms\":{\"count\":3,\"p99\":3}}"
done >"$dir/t2.jsonl"
# Batched: every measure within its limit. One call per ack: one run failed an ack.
for errors in 0 0 0; do
  line "\"broker_cpu_s\":5.5,\"cpu_window_s\":5,\"broker_peak_rss_mib\":111,\"fanout\":{\"ack_errors\":$errors,\"ack_errors_by_code\":{},\"delivery_latency_ms\":{\"count\":5,\"p99\":12}}"
done >"$dir/t3b.jsonl"
for errors in 0 1 0; do
  line "\"broker_cpu_s\":5.5,\"cpu_window_s\":5,\"broker_peak_rss_mib\":111,\"fanout\":{\"ack_errors\":$errors,\"ack_errors_by_code\":{\"DEADLINE_EXCEEDED\":$errors},\"delivery_latency_ms\":{\"count\":5,\"p99\":12}}"
done >"$dir/t3s.jsonl"
for v in 250 240 260; do line "\"throughput_per_s\":$v"; done >"$dir/t4b.jsonl"
printf 'rmq x intakes/s=110 deliveries/s=660\nrmq x intakes/s=90 deliveries/s=540\nrmq x intakes/s=100 deliveries/s=600\n' >"$dir/rabbitmq.txt"
for v in 0.3 0.5 0.4; do line "\"port_file_s\":0.2,\"first_intake_s\":$v,\"first_feed_event_s\":0.6"; done >"$dir/t5.jsonl"
line "\"broker_peak_rss_mib\":462" >"$dir/t6.jsonl"
for v in 7 12 11; do
  line "\"get_referral_ms\":{\"count\":1,\"p99\":$v},\"list_referrals_ms\":{\"count\":1,\"p99\":2}"
done >"$dir/t7.jsonl"

got=$(bash "$summary" "$dir")
fail() { echo "sitting summary test: $1"; echo "$got"; exit 1; }
expect() { grep -qF -- "$1" <<<"$got" || fail "expected a line with: $1"; }
expect "echo: 200 (100-300) calls/s"
expect "rabbitmq: 100 (90-110) intakes/s"
expect "1 submit closed loop: 50 (40-60)/s = 25.0 % of echo (>= 50 %): no"
expect "2 submit --rate 1000: p99 4.5 (4-6) ms (<= 5 ms), cores 0.8 (0.8-0.8): yes"
expect "  disk: written 144.5 (144-146) KiB a request, every busy task waiting on it 0.5 (0.4-0.6) s a run, p99 less that wait 3 (3-3) ms"
# Runs without the disk's figures (hart-bench before them) print no disk line.
grep -A1 "^1 submit closed loop" <<<"$got" | grep -q "disk:" && fail "a disk line for runs without its figures"
expect "3 fanout --rate 1000, batched acks: delivered p99 12 (12-12) ms (<= 20), failed acks at most 0 (0), RSS at most 111 MiB (<= 256), cores 1.1 (1.1-1.1) (<= 1.2): yes"
expect "3 fanout --rate 1000, one call per ack: delivered p99 12 (12-12) ms (<= 20), failed acks at most 1 (0)"
grep -F "one call per ack: delivered" <<<"$got" | grep -q ": no$" || fail "a failed ack must miss target 3"
expect "4 fanout closed loop, batched acks: 250 (240-260)/s = 2.50 x RabbitMQ (>= 2.5): yes"
expect "5 restart: first intake 0.4 (0.3-0.5) s"
expect "8 start-up at the kept store: port file 0.2 (0.2-0.2) s (< 1 s): yes"
expect "6 idle subscribers: RSS 462 MiB (<= 2048): yes"
expect "7 reads: GetReferral p99 11 (7-12) ms, ListReferrals p99 2 (2-2) ms (<= 10): no"
# A run without a figure (a broker not sampled: null) does not pass its
# target, and a peer that failed leaves its ratio out.
nulls=$(mktemp -d -p "$dir")
line "\"broker_cpu_s\":null,\"cpu_window_s\":5,\"broker_peak_rss_mib\":null,\"fanout\":{\"ack_errors\":0,\"delivery_latency_ms\":{\"count\":3,\"p99\":5}}" >"$nulls/t3b.jsonl"
echo "the peer failed to start" >"$nulls/rabbitmq.txt"
line "\"throughput_per_s\":250" >"$nulls/t4b.jsonl"
got=$(bash "$summary" "$nulls") || fail "figures with nulls failed the summary"
expect "RSS at most n/a MiB (<= 256), cores n/a (<= 1.2): no"
expect "4 fanout closed loop, batched acks: 250 (250-250)/s (no RabbitMQ figure to compare)"
# A directory without runs prints nothing and fails nothing; a missing one is an error.
[ -z "$(bash "$summary" "$(mktemp -d -p "$dir")")" ] || fail "an empty sitting printed figures"
if bash "$summary" "$dir/none" 2>/dev/null; then fail "a missing directory was accepted"; fi
echo "sitting summary test: every target judged as expected"
