#!/usr/bin/env bash
# The figures of the performance goal's eight targets from one sitting's
# runs (deploy/bench-sitting.sh writes them): the median of each target's
# measure over its runs, the range, and whether the target is reached by
# the issue's thresholds. Reads OUT/<run>.jsonl (hart-bench's JSON lines)
# and OUT/rabbitmq.txt (the peer's run.sh output); a missing file leaves its
# rows out. Under targets 1 to 3 a line says what their runs wrote and how
# long the machine waited on the disk. Usage: tests/bench/sitting_summary.sh OUT
set -euo pipefail
out=${1:?usage: sitting_summary.sh OUT (a directory deploy/bench-sitting.sh wrote)}
[ -d "$out" ] || { echo "sitting_summary: $out is not a directory" >&2; exit 2; }

# The value of "key":NUMBER in each line of a file, one per line (a null
# or missing value gives none). With an object name, the key is looked up
# inside that object ("latency_ms" p99).
number='-?[0-9][0-9.e+-]*'
values() {  # FILE KEY [OBJECT]
  local file=$1 key=$2 object=${3:-}
  [ -s "$file" ] || return 0
  if [ -n "$object" ]; then
    { grep -o "\"$object\":{[^}]*}" "$file" || true; } |
      { grep -oE "\"$key\":$number" || true; } | cut -d: -f2
  else
    { grep -oE "\"$key\":$number" "$file" || true; } | cut -d: -f2
  fi
}
# Median, lowest and highest of numbers on stdin: "MEDIAN LOW HIGH", or
# nothing for no input.
stats() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%g %g %g\n", m, v[1], v[NR] }'
}
# Each run's broker cores: broker_cpu_s / cpu_window_s (a run whose broker
# was not sampled gives none).
cores() {  # FILE
  [ -s "$1" ] || return 0
  local line cpu window
  while IFS= read -r line; do
    cpu=$({ grep -oE "\"broker_cpu_s\":$number" <<<"$line" || true; } | cut -d: -f2)
    window=$({ grep -oE "\"cpu_window_s\":$number" <<<"$line" || true; } | cut -d: -f2)
    if [ -n "$cpu" ] && [ -n "$window" ]; then
      awk -v c="$cpu" -v w="$window" 'BEGIN { if (w > 0) printf "%.3f\n", c / w }'
    fi
  done <"$1"
}
yes_no() { [ "$1" = 1 ] && echo yes || echo no; }
# 1 when a number (not empty: a run without the figure) is within the limit.
at_most() { awk -v v="$1" -v limit="$2" 'BEGIN { exit !(v != "" && v + 0 <= limit) }' && echo 1 || echo 0; }
at_least() { awk -v v="$1" -v limit="$2" 'BEGIN { exit !(v != "" && v + 0 >= limit) }' && echo 1 || echo 0; }
# "MEDIAN (LOW-HIGH)" of "MEDIAN LOW HIGH".
shown() {
  if [ -z "$1" ]; then echo "n/a"; else awk '{ printf "%g (%g-%g)", $1, $2, $3 }' <<<"$1"; fi
}
median() { cut -d' ' -f1 <<<"$1"; }
# What a target's runs wrote and how long the machine waited on the disk
# (hart-bench's broker_disk_write_kib_per_ok and io_stalls), a line under
# its verdict; nothing where the runs have neither.
disk() {  # FILE
  local written stalled less
  written=$(values "$1" broker_disk_write_kib_per_ok | stats)
  stalled=$(values "$1" full_stall_s | stats)
  less=$(values "$1" p99 latency_less_stalls_ms | stats)
  [ -n "$written$stalled" ] || return 0
  echo "  disk: written $(shown "$written") KiB a request, every busy task waiting on it $(shown "$stalled") s a run, p99 less that wait $(shown "$less") ms"
}

echo_stats=$(values "$out/echo.jsonl" throughput_per_s | stats)
[ -n "$echo_stats" ] && echo "echo: $(shown "$echo_stats") calls/s"
rabbit_stats=""
if [ -s "$out/rabbitmq.txt" ]; then
  rabbit_stats=$({ grep -o 'intakes/s=[0-9.]*' "$out/rabbitmq.txt" || true; } | cut -d= -f2 | stats)
  [ -n "$rabbit_stats" ] && echo "rabbitmq: $(shown "$rabbit_stats") intakes/s"
fi

t1=$(values "$out/t1.jsonl" throughput_per_s | stats)
if [ -n "$t1" ] && [ -n "$echo_stats" ]; then
  share=$(awk -v a="$(median "$t1")" -v b="$(median "$echo_stats")" 'BEGIN { printf "%.1f", 100 * a / b }')
  echo "1 submit closed loop: $(shown "$t1")/s = $share % of echo (>= 50 %): $(yes_no "$(at_least "$share" 50)")"
  disk "$out/t1.jsonl"
fi

t2=$(values "$out/t2.jsonl" p99 latency_ms | stats)
if [ -n "$t2" ]; then
  echo "2 submit --rate 1000: p99 $(shown "$t2") ms (<= 5 ms), cores $(shown "$(cores "$out/t2.jsonl" | stats)"): $(yes_no "$(at_most "$(median "$t2")" 5)")"
  disk "$out/t2.jsonl"
fi

for run in t3b t3s; do
  file=$out/$run.jsonl
  p99=$(values "$file" p99 delivery_latency_ms | stats)
  [ -n "$p99" ] || continue
  failed=$(values "$file" ack_errors | sort -g | tail -n 1)
  rss=$(values "$file" broker_peak_rss_mib | sort -g | tail -n 1)
  core=$(cores "$file" | stats)
  all=$(( $(at_most "$(median "$p99")" 20) && $(at_most "$failed" 0) && $(at_most "$rss" 256) &&
          $(at_most "$(median "$core")" 1.2) ))
  label=$([ "$run" = t3b ] && echo "batched acks" || echo "one call per ack")
  echo "3 fanout --rate 1000, $label: delivered p99 $(shown "$p99") ms (<= 20), failed acks at most ${failed:-n/a} (0), RSS at most ${rss:-n/a} MiB (<= 256), cores $(shown "$core") (<= 1.2): $(yes_no "$all")"
  disk "$file"
done

for run in t4b t4s; do
  t4=$(values "$out/$run.jsonl" throughput_per_s | stats)
  [ -n "$t4" ] || continue
  label=$([ "$run" = t4b ] && echo "batched acks" || echo "one call per ack")
  if [ -n "$rabbit_stats" ]; then
    ratio=$(awk -v a="$(median "$t4")" -v b="$(median "$rabbit_stats")" 'BEGIN { printf "%.2f", a / b }')
    echo "4 fanout closed loop, $label: $(shown "$t4")/s = $ratio x RabbitMQ (>= 2.5): $(yes_no "$(at_least "$ratio" 2.5)")"
  else
    echo "4 fanout closed loop, $label: $(shown "$t4")/s (no RabbitMQ figure to compare)"
  fi
done

t5=$(values "$out/t5.jsonl" first_intake_s | stats)
[ -n "$t5" ] && echo "5 restart: first intake $(shown "$t5") s, first feed event $(shown "$(values "$out/t5.jsonl" first_feed_event_s | stats)") s (<= 5): $(yes_no "$(at_most "$(median "$t5")" 5)")"

port=$(values "$out/t5.jsonl" port_file_s | stats)
[ -n "$port" ] && echo "8 start-up at the kept store: port file $(shown "$port") s (< 1 s): $(yes_no "$(at_most "$(median "$port")" 0.999)"); the log's bound is sqlite_wal_test's"

t6=$(values "$out/t6.jsonl" broker_peak_rss_mib | sort -g | tail -n 1)
[ -n "$t6" ] && echo "6 idle subscribers: RSS $t6 MiB (<= 2048): $(yes_no "$(at_most "$t6" 2048)")"

get=$(values "$out/t7.jsonl" p99 get_referral_ms | stats)
list=$(values "$out/t7.jsonl" p99 list_referrals_ms | stats)
if [ -n "$get" ] && [ -n "$list" ]; then
  both=$(( $(at_most "$(median "$get")" 10) && $(at_most "$(median "$list")" 10) ))
  echo "7 reads: GetReferral p99 $(shown "$get") ms, ListReferrals p99 $(shown "$list") ms (<= 10): $(yes_no "$both")"
fi
