#include "tests/bench/bench_config.h"

#include <cmath>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(double, duration, 10, "Seconds of measured load after the warm-up.");
ABSL_FLAG(double, warmup, 1, "Seconds of load before measuring (excluded from the stats).");
ABSL_FLAG(uint64_t, max_requests, 200000, "Stop after this many sends (warm-up included).");
ABSL_FLAG(int, concurrency, 64, "Closed loop: requests kept in flight.");
ABSL_FLAG(double, rate, 0, "Open loop: requests per second at fixed intervals (0: closed loop).");
ABSL_FLAG(int, max_in_flight, 4096,
          "Open loop: a due send is counted as dropped while this many are in flight.");
ABSL_FLAG(int, channels, 4, "Client channels (TCP+TLS connections) for the load.");
ABSL_FLAG(uint64_t, intake_bytes, 2048, "Serialized size of a request (narrative padding).");
ABSL_FLAG(double, drain_seconds, 10,
          "fanout: seconds to wait after the load for deliveries still on their way.");
ABSL_FLAG(double, rpc_timeout, 10, "Deadline of every call, seconds.");
ABSL_FLAG(std::string, target, "",
          "Use a running broker at HOST:PORT instead of starting one.");
ABSL_FLAG(int, broker_pid, 0, "With --target: the broker's pid, for its CPU time and RSS.");
ABSL_FLAG(std::string, certs_dir, HART_BENCH_CERTS_DIR,
          "Dev certificates (made here when missing unless --target is given).");
ABSL_FLAG(std::string, broker_binary, HART_BROKER_BINARY, "The hart-broker to start.");
ABSL_FLAG(std::string, config, HART_SOURCE_DIR "/deploy/config/connecticut.yaml",
          "Broker config: started with it; its agencies get certificates, its grpc_feed "
          "agencies (fanout) subscribers.");
ABSL_FLAG(std::string, intakes_dir, HART_SOURCE_DIR "/tests/testdata/intakes",
          "Example intakes (*.json except invalid-*).");
ABSL_FLAG(std::string, broker_log_level, "warn", "--log-level of the started broker.");
ABSL_FLAG(bool, keep_data, false, "Keep the started broker's data directory and log.");
ABSL_FLAG(bool, keep_rate_limit, false,
          "Start the broker with --config's own per-certificate rate limit (by default it is "
          "lifted in a copy of the config, so the abuse limit does not cap the load).");

namespace hart::bench {
namespace {

absl::Status Bad(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::StatusOr<BenchConfig> ConfigFromFlags(const std::string& mode) {
  BenchConfig c;
  if (mode != "echo" && mode != "submit" && mode != "fanout") {
    return Bad(absl::StrCat("unknown mode '", mode, "'; modes: echo, submit, fanout"));
  }
  c.mode = mode;
  c.duration_seconds = absl::GetFlag(FLAGS_duration);
  c.warmup_seconds = absl::GetFlag(FLAGS_warmup);
  c.max_requests = absl::GetFlag(FLAGS_max_requests);
  c.concurrency = absl::GetFlag(FLAGS_concurrency);
  c.rate = absl::GetFlag(FLAGS_rate);
  c.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  c.channels = absl::GetFlag(FLAGS_channels);
  c.intake_bytes = absl::GetFlag(FLAGS_intake_bytes);
  c.drain_seconds = absl::GetFlag(FLAGS_drain_seconds);
  c.rpc_timeout_seconds = absl::GetFlag(FLAGS_rpc_timeout);
  c.target = absl::GetFlag(FLAGS_target);
  c.broker_pid = absl::GetFlag(FLAGS_broker_pid);
  c.certs_dir = absl::GetFlag(FLAGS_certs_dir);
  c.broker_binary = absl::GetFlag(FLAGS_broker_binary);
  c.config = absl::GetFlag(FLAGS_config);
  c.intakes_dir = absl::GetFlag(FLAGS_intakes_dir);
  c.broker_log_level = absl::GetFlag(FLAGS_broker_log_level);
  c.keep_data = absl::GetFlag(FLAGS_keep_data);
  c.keep_rate_limit = absl::GetFlag(FLAGS_keep_rate_limit);

  auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(c.duration_seconds) || c.duration_seconds <= 0 || c.duration_seconds > 86400) {
    return Bad("--duration must be seconds > 0 (at most 86400), e.g. --duration 10");
  }
  if (!finite(c.warmup_seconds) || c.warmup_seconds < 0 || c.warmup_seconds > 3600) {
    return Bad("--warmup must be seconds >= 0 (at most 3600)");
  }
  if (c.max_requests < 1) return Bad("--max_requests must be at least 1");
  if (c.concurrency < 1 || c.concurrency > 100000) {
    return Bad("--concurrency must be between 1 and 100000");
  }
  if (!finite(c.rate) || c.rate < 0 || c.rate > 1e6) {
    return Bad("--rate must be requests per second between 0 (closed loop) and 1000000");
  }
  if (c.max_in_flight < 1) return Bad("--max_in_flight must be at least 1");
  if (c.channels < 1 || c.channels > 256) return Bad("--channels must be between 1 and 256");
  if (c.intake_bytes > 60000) {
    return Bad("--intake_bytes must be at most 60000 (the narrative limit is 64 KiB)");
  }
  if (!finite(c.drain_seconds) || c.drain_seconds < 0 || c.drain_seconds > 3600) {
    return Bad("--drain_seconds must be seconds >= 0 (at most 3600)");
  }
  if (!finite(c.rpc_timeout_seconds) || c.rpc_timeout_seconds <= 0 ||
      c.rpc_timeout_seconds > 3600) {
    return Bad("--rpc_timeout must be seconds > 0 (at most 3600)");
  }
  if (c.broker_pid < 0) return Bad("--broker_pid must be a process id");
  if (c.broker_pid > 0 && c.target.empty()) {
    return Bad("--broker_pid needs --target (without --target hart-bench starts the broker "
               "and measures it itself)");
  }
  if (c.mode == "echo" && !c.target.empty()) {
    return Bad("--target does not apply to echo: the echo server runs inside hart-bench");
  }
  if (c.keep_rate_limit && (c.mode == "echo" || !c.target.empty())) {
    return Bad("--keep_rate_limit applies only to a broker hart-bench starts itself (submit or "
               "fanout without --target)");
  }
  if (!c.target.empty() && c.target.find(':') == std::string::npos) {
    return Bad("--target must be HOST:PORT, e.g. 127.0.0.1:7443");
  }
  if (c.certs_dir.empty()) return Bad("--certs_dir must not be empty");
  if (c.broker_log_level != "debug" && c.broker_log_level != "info" &&
      c.broker_log_level != "warn" && c.broker_log_level != "error") {
    return Bad("--broker_log_level must be debug, info, warn or error");
  }
  return c;
}

}  // namespace hart::bench
