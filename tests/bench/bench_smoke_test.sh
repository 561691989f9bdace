#!/usr/bin/env bash
# Smoke test of the load generator, so that the tool the performance figures
# come from keeps working: a short open-loop fanout against a broker hart-bench
# starts itself. Passes when every request succeeded, every feed delivery of
# every receipt arrived and every acknowledgement was taken. Timings are not
# asserted (benchmarks measure them; this only proves the bench still runs).
# Usage: bench_smoke_test.sh HART_BENCH_BINARY [more hart-bench flags, e.g.
# --ack_batch 50 for AcknowledgeBatch, --ack_batch 50 --ack_stream for
# AcknowledgeStream]
set -euo pipefail
bench=$1
shift
out=$(mktemp)
timeline=$(mktemp)
trap 'rm -f "$out" "$timeline"' EXIT
"$bench" fanout --rate 20 --duration 2 --warmup 0 --drain_seconds 60 --channels 1 \
  --timeline "$timeline" "$@" >"$out"
summary=$(grep '^{' "$out" | tail -n 1)
field() { grep -o "\"$1\":[0-9]*" <<<"$summary" | head -n 1 | cut -d: -f2; }
text_field() { grep -o "\"$1\":\"[^\"]*\"" <<<"$summary" | head -n 1 | cut -d'"' -f4; }
fail() { echo "bench smoke test: $1"; cat "$out"; exit 1; }
[ -n "$summary" ] || fail "no JSON summary line"
[ "$(field ok)" -gt 0 ] || fail "no intake succeeded"
[ "$(field errors)" = 0 ] || fail "$(field errors) intakes failed"
[ "$(field ack_errors)" = 0 ] || fail "$(field ack_errors) acknowledgements failed"
transport=$(text_field ack_transport)
case " $* " in
  *" --ack_stream "* | *" --ack-stream "*)
    [ "$transport" = stream ] || fail "--ack_stream given, but acks went by '$transport'" ;;
esac
[ "$(field ack_calls)" -gt 0 ] || fail "no acknowledgement call made"
[ "$(field deliveries_expected)" -gt 0 ] || fail "no feed delivery expected"
[ "$(field deliveries_arrived)" = "$(field deliveries_expected)" ] ||
  fail "$(field deliveries_arrived) of $(field deliveries_expected) feed deliveries arrived"
# Each arrived delivery was acknowledged twice (RECEIVED, ACCEPTED); more
# only for redeliveries.
[ "$(field acks_ok)" -ge $(( 2 * $(field deliveries_arrived) )) ] ||
  fail "$(field acks_ok) acknowledgements taken for $(field deliveries_arrived) deliveries (2 each)"
# The broker's CPU by thread: its own named threads are there, and the
# threads' sum is within rounding of the process's total (an error in
# reading /proc/PID/task/*/stat would break one or the other).
threads=$(grep -o '"broker_thread_cpu_s":{[^}]*}' <<<"$summary") || fail "no broker_thread_cpu_s object"
for name in hart-writer hart-answer; do
  grep -q "\"$name\":" <<<"$threads" || fail "no $name thread in $threads"
done
total=$(grep -o '"broker_cpu_s":[0-9.]*' <<<"$summary" | cut -d: -f2)
awk -v total="$total" -v threads="$threads" 'BEGIN {
  n = split(threads, parts, /[:,}]/); sum = 0
  for (i = 1; i <= n; i++) if (parts[i] ~ /^[0-9.]+$/) sum += parts[i]
  exit !(sum > 0 && sum <= total + 0.5) }' ||
  fail "the broker's threads used $threads, against $total s for the whole process"
grep -q '"broker_cpu_us_per_ok":[0-9]' <<<"$summary" || fail "no broker_cpu_us_per_ok"
# Time runnable but waiting for a core (/proc/PID/task/*/schedstat), by
# thread: on two cores shared with hart-bench some thread of the broker
# waited, and all of them together no longer than the window times the
# threads.
run_queue=$(grep -o '"broker_thread_run_queue_s":{[^}]*}' <<<"$summary") ||
  fail "no broker_thread_run_queue_s object"
grep -q '"hart-writer":[0-9]' <<<"$run_queue" || fail "no hart-writer in $run_queue"
if [ -r /proc/self/schedstat ]; then
  awk -v window="$(grep -o '"cpu_window_s":[0-9.]*' <<<"$summary" | cut -d: -f2)" \
      -v threads="$(grep -o '"broker_threads":[0-9]*' <<<"$summary" | cut -d: -f2)" \
      -v waits="$run_queue" 'BEGIN {
    n = split(waits, parts, /[:,}]/); sum = 0
    for (i = 1; i <= n; i++) if (parts[i] ~ /^[0-9.]+$/) sum += parts[i]
    exit !(sum > 0 && sum <= window * threads) }' ||
    fail "run-queue waits $run_queue do not fit the broker's threads over the window"
fi
# Context switches by thread (/proc/PID/task/*/status): the writer waits
# for work between commits, so it switched voluntarily; and the figure per
# request is the threads' sum over the intakes.
voluntary=$(grep -o '"broker_voluntary_switches":{[^}]*}' <<<"$summary") ||
  fail "no broker_voluntary_switches object"
involuntary=$(grep -o '"broker_involuntary_switches":{[^}]*}' <<<"$summary") ||
  fail "no broker_involuntary_switches object"
writer_waits=$(grep -o '"hart-writer":[0-9]*' <<<"$voluntary" | cut -d: -f2)
[ "${writer_waits:-0}" -gt 0 ] || fail "the writer never waited: $voluntary"
per_ok=$(grep -o '"broker_switches_per_ok":[0-9.]*' <<<"$summary" | cut -d: -f2)
awk -v per_ok="$per_ok" -v ok="$(field ok)" -v all="$voluntary $involuntary" 'BEGIN {
  n = split(all, parts, /[:,} ]/); sum = 0
  for (i = 1; i <= n; i++) if (parts[i] ~ /^[0-9]+$/) sum += parts[i]
  exit !(ok > 0 && per_ok != "" && (sum / ok - per_ok) ^ 2 < 0.0001) }' ||
  fail "broker_switches_per_ok $per_ok is not the threads' $voluntary $involuntary over $(field ok) intakes"
# The timeline: a line per delivered intake, in send order, whose slowest
# is the summary's slowest delivery.
expected_header=sent_monotonic_s,delivered_ms
[ -r /proc/pressure/io ] && expected_header=$expected_header,io_full_stall_ms
[ "$(head -n 1 "$timeline")" = "$expected_header" ] ||
  fail "timeline header '$(head -n 1 "$timeline")', not '$expected_header'"
[ "$(( $(wc -l <"$timeline") - 1 ))" = "$(field delivered)" ] ||
  fail "$(( $(wc -l <"$timeline") - 1 )) timeline lines for $(field delivered) delivered intakes"
awk -F, 'NR > 1 { if ($1 < last) exit 1; last = $1 }' "$timeline" ||
  fail "timeline out of send order: $(head -n 5 "$timeline")"
slowest=$(grep -o '"delivery_latency_ms":{[^}]*}' <<<"$summary" | grep -o '"max":[0-9.]*' |
  cut -d: -f2)
awk -F, -v slowest="$slowest" 'NR > 1 && $2 > max { max = $2 }
  END { exit !(slowest != "" && (max - slowest) ^ 2 < 0.000004) }' "$timeline" ||
  fail "the timeline's slowest delivery is not the summary's ($slowest ms): $(head -n 5 "$timeline")"

# What the broker wrote to storage: something, since every intake is stored.
written=$(grep -o '"broker_disk_write_mib":[0-9.]*' <<<"$summary" | cut -d: -f2)
awk -v w="$written" 'BEGIN { exit !(w != "" && w > 0) }' ||
  fail "broker_disk_write_mib is '${written}' after storing $(field ok) intakes"

# The disk's stalls: sampled where the kernel counts them, every delivered
# intake's latency less its share, which can only be shorter.
if [ -r /proc/pressure/io ]; then
  stalls=$(grep -o '"io_stalls":{"full_stall_s":[0-9.]*,"longest_stall_ms":[0-9.]*,"latency_less_stalls_ms":{[^}]*}' <<<"$summary") ||
    fail "no io_stalls object though /proc/pressure/io is readable"
  less_count=$(grep -o '"count":[0-9]*' <<<"$stalls" | cut -d: -f2)
  [ "$less_count" = "$(field delivered)" ] ||
    fail "io_stalls counts $less_count intakes, $(field delivered) were delivered"
  less_max=$(grep -o '"max":[0-9.]*' <<<"$stalls" | cut -d: -f2)
  awk -v less="$less_max" -v slowest="$slowest" 'BEGIN { exit !(less <= slowest + 0.001) }' ||
    fail "a latency less its stall ($less_max ms) above the slowest delivery ($slowest ms)"
else
  grep -q '"io_stalls":null' <<<"$summary" || fail "io_stalls reported without /proc/pressure/io"
fi
echo "bench smoke test: $(field ok) intakes, $(field deliveries_arrived) feed deliveries, all acknowledged ($(field acks_ok) acks in $(field ack_calls) calls, ack_transport $transport)"
