// hart-bench: load generator for the HART referral broker. See kUsage.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "broker/common/flag_names.h"
#include "grpc/support/log.h"
#include "tests/bench/bench_config.h"
#include "tests/bench/bench_runner.h"

namespace {

constexpr char kUsage[] = R"(hart-bench: load generator for the HART referral broker.

usage: hart-bench MODE [flags]

modes:
  submit   IntakeService.SubmitIntake as the careline identity: each request a ~2 KB intake
           built from the example intakes (unique carelineReportId, receivedAt now), so
           the broker accepts every one; latency = send -> receipt (after the fsync).
  fanout   submit, plus one FeedService.Subscribe stream per grpc_feed agency of --config,
           each over its own mTLS connection as agency-<id>, acknowledging every delivery
           RECEIVED then ACCEPTED; also measures intake sent -> delivered to every feed
           destination of its receipt, waiting up to --drain_seconds after the load.
           Agencies with a push adapter (webhook, ncmec, email, file_drop, ...) never
           deliver on a feed: they are not subscribed and their destinations are left
           out of the counts (reported as push_destinations_excluded). The started
           broker still tries them against the config's unserved loopback endpoints and
           retries with backoff during the run, which costs it a little CPU.
  echo     a trivial unary gRPC service (hart.bench.v1.Echo/Call) that hart-bench serves
           itself on 127.0.0.1:0 over the same mTLS set-up (broker.crt, client
           certificate required) with the same payload size: the ceiling that any
           intake API reaches on this machine.
  restart  start the broker on --data_dir (a store filled before: see below) and time how
           long until it acknowledges an intake (calls retried until one succeeds) and
           until a feed delivers its first event (the backlog of a grpc_feed agency the
           probe intake went to); also the broker's RSS then.
  reads    SupervisorService as the supervisor identity: --read_ids referral ids listed
           first, then GetReferral (a random listed id) and ListReferrals (first page of
           50) alternately; latency per method. Use --data_dir with a filled store.
  idle     --subscribers feed streams held open with nothing but heartbeats (the config's
           grpc_feed agencies' certificates in turn, at most 90 streams per connection,
           the started broker's per-identity stream limit lifted); the broker's RSS and
           CPU while they are held for --duration.

A store to restart and read is filled by the broker itself through its API, and kept:
  hart-bench submit --data_dir DIR --max_requests 200000 --duration 3600 --warmup 0
(the Connecticut config routes ~5 feed and push deliveries per intake, none acknowledged:
200,000 intakes leave about 1,000,000 pending deliveries). --data_dir also works for submit
and fanout; a directory is never deleted by hart-bench.

By default hart-bench starts the broker itself (--broker_binary with --config, a temporary
data directory under $TMPDIR, --listen 127.0.0.1:0, --log-level warn), making dev
certificates in --certs_dir first (deploy/make-dev-certs.sh for every agency id of
--config; existing ones are reused) and the push adapters' dev secrets in its --key-dir
(deploy/make-dev-secrets.sh), and stops it with SIGTERM at the end. It starts the broker
with a copy of --config written to its temporary directory, with the per-certificate
rate limit (server.rate_limit_per_second / rate_limit_burst, default 200/s, burst 400)
raised to 1000000: every intake goes out under the one careline certificate and each
feed agency acknowledges under its own, so that abuse limit would otherwise cap the
throughput measured (as RESOURCE_EXHAUSTED errors). --keep_rate_limit measures with the
config's own limit.

With --target it uses a running broker instead (its rate limit is its own); --certs_dir
must then hold certificates that broker trusts, and the broker's CPU and RSS are
reported only with --broker_pid. Subscribers start from sequence 0, so fanout against
a broker whose feeds hold unacknowledged deliveries replays and acknowledges that
backlog too (reported as "not from this run"): use a fresh broker for clean fanout
figures.

--target may list several brokers, HOST:PORT,HOST:PORT,...: replicas sharing one
PostgreSQL database, any of which accepts intakes and serves any agency's feed. The load
channels are spread round-robin over them (channel i to target i mod n; --channels is
raised to the number of targets when lower, and the report says so), so every replica
takes intakes. In fanout the k-th grpc_feed agency of --config subscribes at target
(k+1) mod n, another replica than channel 0's, so deliveries cross replicas.
--broker_pid then takes the replicas' pids, PID,PID,...: their CPU time and peak RSS
are reported summed, and per pid.

The first Ctrl-C (SIGINT or SIGTERM) ends the load early; the run still reports and
stops the broker. A second one exits at once (a started broker then gets SIGTERM).

load (stops at --warmup + --duration or after --max_requests sends, whichever is first):
  --concurrency N      closed loop: N requests always in flight (default 64)
  --rate R             open loop: R requests per second at fixed intervals, whatever the
                       responses do; latency counts from the intended send time, so stalls
                       are not hidden (default 0: closed loop)
  --max_in_flight N    open loop: a due send is counted as dropped while N requests are
                       outstanding (default 4096)
  --channels N         client channels, each its own TCP+TLS connection, round-robin over
                       the --target entries; at least one per target (default 4)
  --duration S         seconds measured after the warm-up (default 10)
  --warmup S           seconds of load before measuring, excluded from the stats (default 1)
  --max_requests N     sends in total, warm-up included (default 200000)
  --intake_bytes N     serialized request size; the narrative is padded (default 2048)
  --rpc_timeout S      deadline of every call (default 10)
  --drain_seconds S    fanout: wait this long after the load for deliveries (default 10)
  --ack_batch N        fanout: acknowledge with AcknowledgeBatch calls of up to N acks, one in
                       flight per subscriber (default 0: one Acknowledge call per ack)
  --ack_stream         fanout, with --ack_batch N: send those batches over one
                       AcknowledgeStream per subscriber instead (on its connection), one
                       unanswered per stream; ack_calls then counts the batches. Batches
                       still unanswered 15 s after the drain fail their acks (CANCELLED)
  --timeline FILE      submit, fanout: a CSV of each answered (fanout: delivered) intake's
                       send time (CLOCK_MONOTONIC seconds, as perf and /proc stamp events),
                       latency (ms) and, sampled, the disk's stall during it (ms)
  --io_pressure_ms N   submit, fanout: read /proc/pressure/io every N ms (default 5; 0: off)
                       and report the time the whole machine waited on the disk, its most
                       in any 100 ms, and the latencies less the stall in each one's life

server:
  --target HOST:PORT[,HOST:PORT...]
                       use running brokers (replicas sharing one database) instead of
                       starting one (not for echo)
  --broker_pid PID[,PID...]
                       with --target: the brokers' pids, for their CPU time and peak RSS
                       (summed over them, and per pid)
  --certs_dir DIR      dev certificates: ca.crt, broker, careline, agency-<id>
                       (default: <build>/bench-certs)
  --broker_binary PATH the hart-broker to start (default: the one built with hart-bench)
  --config PATH        broker config (default: deploy/config/connecticut.yaml)
  --intakes_dir DIR    example intakes, every *.json except invalid-*
                       (default: tests/testdata/intakes)
  --broker_log_level L --log-level of the started broker: debug|info|warn|error (default warn)
  --keep_data          keep the started broker's temporary data directory and log
  --data_dir DIR       start the broker on DIR (data/, keys/, broker.log; made when missing,
                       kept) instead of a temporary directory
  --subscribers N      idle: streams to open (default 20000)
  --read_ids N         reads: referral ids to list before reading (default 10000)
  --first_pass         reads: GetReferral every listed id once, one call at a time, before
                       the load, reported apart as "first reads": the load's random reads
                       then meet the page cache those warmed (a store read just after a
                       reboot or `echo 1 > /proc/sys/vm/drop_caches` shows disk reads in
                       the first pass only)
  --keep_rate_limit    start the broker with --config's own per-certificate rate limit
                       instead of lifting it (not with --target, whose limit is its own)

output: a table on stdout, then one line of JSON (the last line, starting with '{'):
  mode, loop, broker_started, rate_limit_lifted (the started broker's per-certificate
  limit raised), rate_limit_per_s and rate_limit_burst (the started broker's; null with
  --target or echo), sent_total, requests (sent after the warm-up), ok, errors, errors_by_code,
  dropped, throughput_per_s (ok / measured_s), latency_ms {count, mean, p50, p90, p99,
  p999, max}, broker_cpu_s and client_cpu_s over cpu_window_s (end of warm-up to end of
  run, fanout including the drain), broker_peak_rss_mib (VmHWM) and broker_threads (all
  three summed over the broker pids; null unless every one was sampled),
  broker_thread_cpu_s {thread name: CPU seconds over the window, summed over the pids;
  threads that ended within it are only in broker_cpu_s}, broker_thread_run_queue_s
  {thread name: seconds runnable but waiting for a core, from .../schedstat; 0 where
  the kernel keeps none}, broker_cpu_us_per_ok
  (broker_cpu_s per successful request, in microseconds), broker_switches_per_ok
  (the broker threads' context switches per successful request) with
  broker_voluntary_switches and broker_involuntary_switches {thread name: count over
  the window; voluntary = it waited, involuntary = it was preempted}, target (the
  targets joined with ','), targets [HOST:PORT...], channels (used) and
  channels_requested (--channels), broker_pids [...] and brokers [{pid, cpu_s,
  peak_rss_mib, threads}] (the started broker or --broker_pid, per pid), and for fanout:
  intakes, delivered, deliveries_expected/arrived (feed destinations only), push_agencies,
  push_destinations_excluded, push_only_intakes, acks_ok/errors, ack_calls (calls, or
  AcknowledgeStream batches), ack_batch, ack_transport (single|batch|stream),
  delivery_latency_ms.
Progress and errors go to stderr.

examples:
  hart-bench echo --duration 5
  hart-bench submit --duration 5 --concurrency 64
  hart-bench submit --rate 500 --duration 5
  hart-bench fanout --rate 200 --duration 5
  hart-bench fanout --rate 200 --duration 5 --certs_dir var/certs \
      --target 127.0.0.1:7451,127.0.0.1:7452,127.0.0.1:7453 --broker_pid 4242,4243,4244
                       (three replicas as deploy/run-replicas.sh starts them)

Flags may be written with dashes or underscores (--max-requests, --max_requests).
Exit status: 0 the run completed and some request succeeded, 1 otherwise, 2 usage error.
)";

bool g_parsing_flags = false;

// absl::ParseCommandLine exits with status 1 on a bad flag; usage errors are 2.
void ExitAsUsageErrorWhileParsing() {
  if (!g_parsing_flags) return;
  std::cerr << "Run 'hart-bench --help' for usage." << std::endl;
  std::fflush(nullptr);
  std::_Exit(2);
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return false;
    if (std::strcmp(arg, "-h") == 0 || std::strncmp(arg, "--help", 6) == 0 ||
        std::strncmp(arg, "-help", 5) == 0) {
      return true;
    }
  }
  return argc >= 2 && std::strcmp(argv[1], "help") == 0;
}

void PrintAssertionsOnly(gpr_log_func_args* args) {
  if (args->message != nullptr && std::strncmp(args->message, "assertion failed", 16) == 0) {
    std::fprintf(stderr, "grpc: %s:%d: %s\n", args->file, args->line, args->message);
  }
}

}  // namespace

int main(int argc, char** argv) {
#ifdef NDEBUG
  // As in hart-broker: absl's lock-order graph takes a process-wide lock on
  // every Mutex acquisition, gRPC's included (5.5 % of this client's
  // samples at fanout --rate 1000), and this client shares the machine's
  // cores with the broker it measures.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  absl::SetProgramUsageMessage(kUsage);
  if (WantsHelp(argc, argv)) {
    std::cout << kUsage;
    return 0;
  }
  hart::NormalizeFlagNames(argc, argv);
  std::atexit(ExitAsUsageErrorWhileParsing);
  g_parsing_flags = true;
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  g_parsing_flags = false;

  if (positional.size() != 2) {
    std::cerr << (positional.size() < 2 ? "hart-bench: missing MODE (echo, submit or fanout)"
                                        : "hart-bench: expected one MODE, got extra arguments")
              << "\nRun 'hart-bench --help' for usage.\n";
    return 2;
  }
  auto config = hart::bench::ConfigFromFlags(positional[1]);
  if (!config.ok()) {
    std::cerr << "hart-bench: " << config.status().message()
              << "\nRun 'hart-bench --help' for usage.\n";
    return 2;
  }
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(PrintAssertionsOnly);
  return hart::bench::RunBench(*config);
}
