// The result of one hart-bench run, printed as a human table and as one
// JSON line (the last line of stdout) for scripts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/bench/io_stalls.h"
#include "tests/bench/latency_recorder.h"
#include "tests/bench/process_stats.h"
#include "tests/bench/rate_limit_config.h"

namespace hart::bench {

struct FanoutReport {
  uint64_t subscribers = 0;
  uint64_t streams_failed = 0;
  uint64_t intakes = 0;               // measured intakes with a feed destination
  uint64_t delivered = 0;             // ... every feed destination received it within the drain
  uint64_t deliveries_expected = 0;   // feed (grpc_feed) destinations only
  uint64_t deliveries_arrived = 0;
  // Agencies of --config with a push adapter (not grpc_feed): neither
  // subscribed nor waited for; their destinations are left out of the counts.
  uint64_t push_agencies = 0;
  uint64_t push_destinations_excluded = 0;  // of measured intakes
  uint64_t push_only_intakes = 0;           // measured intakes with no feed destination
  uint64_t repeats = 0;               // events for a delivery already received
  uint64_t foreign = 0;               // events for deliveries not made by this run
  uint64_t acks_ok = 0;
  uint64_t ack_calls = 0;  // Acknowledge or AcknowledgeBatch calls, or AcknowledgeStream batches
  uint64_t ack_batch = 0;  // --ack_batch (0: one call per ack)
  std::string ack_transport = "single";  // single (Acknowledge) | batch | stream
  uint64_t ack_errors = 0;
  std::map<std::string, uint64_t> ack_errors_by_code;
  double drain_seconds = 0;           // waited after sending stopped
  double deliveries_per_second = 0;   // arrived / measured window incl. drain
  LatencySummary latency;             // intake sent -> delivered to every destination
};

// One measured broker process (a replica with several --target entries).
struct BrokerProcessReport {
  int pid = 0;
  std::optional<double> cpu_seconds;  // over the CPU window; unset: not sampled
  std::optional<double> peak_rss_mib;
  std::optional<int> threads;
};

struct BenchReport {
  std::string mode;  // echo | submit | fanout
  std::string loop;  // closed | open
  std::string target;                // the targets joined with ','
  std::vector<std::string> targets;  // channel i -> targets[i % size]
  bool broker_started = false;  // started (and stopped) by hart-bench
  // The started broker's per-certificate rate limit, and --config's own;
  // unset with --target (that broker's own applies) and for echo.
  std::optional<RateLimit> rate_limit;
  std::optional<RateLimit> config_rate_limit;
  bool rate_limit_lifted = false;  // hart-bench started the broker with a raised limit
  int concurrency = 0;
  double rate = 0;
  int channels = 0;            // used: at least one per target
  int channels_requested = 0;  // --channels
  int max_in_flight = 0;
  uint64_t payload_bytes = 0;  // serialized request
  double warmup_seconds = 0;
  double duration_seconds = 0;  // configured
  double measured_seconds = 0;  // end of warm-up .. last measured completion
  std::string stopped_by;
  uint64_t sent_total = 0;  // warm-up included
  uint64_t requests = 0;    // sent after the warm-up
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_code;
  std::map<std::string, std::string> first_error_messages;
  uint64_t dropped = 0;
  uint64_t unfinished = 0;
  double throughput_per_second = 0;  // ok / measured_seconds
  LatencySummary latency;
  double schedule_lag_max_ms = 0;
  // CPU over the window from the end of the warm-up to the end of the run
  // (fanout: including the drain); 100% = one core.
  double cpu_window_seconds = 0;
  // Summed over every measured broker process; unset unless all were sampled.
  std::optional<double> broker_cpu_seconds;
  std::optional<double> broker_peak_rss_mib;
  std::optional<int> broker_threads;
  // Bytes the brokers wrote (or dirtied) to storage over the window, from
  // /proc/<pid>/io; unset unless every one was read at both ends.
  std::optional<double> broker_disk_write_mib;
  // The same CPU, and the context switches, by thread name, summed over the
  // processes (threads that ended within the window are only in the CPU
  // total); unset as above.
  std::optional<std::map<std::string, ThreadUsage>> broker_thread_usage;
  std::vector<BrokerProcessReport> brokers;  // per pid (started broker or --broker_pid)
  double client_cpu_seconds = 0;
  int cores = 0;
  std::optional<FanoutReport> fanout;
  // The machine waiting on the disk over the CPU window, and the latency
  // the target judges (submit's responses, fanout's deliveries) less it;
  // unset for echo, with --io_pressure_ms 0, or without /proc/pressure/io.
  std::optional<IoStallSummary> io_stalls;
};

void PrintTable(const BenchReport& report, std::ostream& out);
// One line of JSON, no trailing newline.
std::string JsonLine(const BenchReport& report);

}  // namespace hart::bench
