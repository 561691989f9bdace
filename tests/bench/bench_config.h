// hart-bench's flags, validated into one value.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hart::bench {

struct BenchConfig {
  std::string mode;  // echo | submit | fanout | restart | reads | idle
  double duration_seconds = 10;
  double warmup_seconds = 1;
  uint64_t max_requests = 200000;
  int concurrency = 64;
  double rate = 0;  // > 0: open loop
  int max_in_flight = 4096;
  int channels = 4;
  size_t intake_bytes = 2048;
  double drain_seconds = 10;
  double rpc_timeout_seconds = 10;
  // --target as given, and its comma-separated HOST:PORT entries (broker
  // replicas sharing one database); both empty: start the broker.
  std::string target;
  std::vector<std::string> targets;
  // With --target: the brokers' pids, for CPU and RSS (summed over them).
  std::vector<pid_t> broker_pids;
  std::string certs_dir;
  std::string broker_binary;
  std::string config;
  std::string intakes_dir;
  std::string broker_log_level;
  bool keep_data = false;
  // Start the broker with --config's own per-certificate rate limit instead
  // of lifting it.
  bool keep_rate_limit = false;
  // fanout: 0, an Acknowledge call per ack; N, AcknowledgeBatch of up to N.
  uint64_t ack_batch = 0;
  // fanout, with ack_batch N: the batches go over one AcknowledgeStream per
  // subscriber instead of AcknowledgeBatch calls.
  bool ack_stream = false;
  // submit, fanout: a CSV of each answered (delivered) intake's send time
  // and latency.
  std::string timeline;
  // submit, fanout: ms between samples of the machine's I/O stalls; 0: off.
  int io_pressure_ms = 5;
  // Set: the started broker's directory (kept), instead of a temporary one.
  std::string data_dir;
  int subscribers = 20000;  // idle
  uint64_t read_ids = 10000;  // reads
  // reads: GetReferral of every listed id once before the load, reported apart.
  bool first_pass = false;
};

// Reads and checks the flags (after absl::ParseCommandLine); `mode` is the
// positional argument. Errors name the flag and the accepted values.
absl::StatusOr<BenchConfig> ConfigFromFlags(const std::string& mode);

}  // namespace hart::bench
