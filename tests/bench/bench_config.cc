#include "tests/bench/bench_config.h"

#include <cmath>
#include <limits>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(double, duration, 10, "Seconds of measured load after the warm-up.");
ABSL_FLAG(double, warmup, 1, "Seconds of load before measuring (excluded from the stats).");
ABSL_FLAG(uint64_t, max_requests, 200000, "Stop after this many sends (warm-up included).");
ABSL_FLAG(int, concurrency, 64, "Closed loop: requests kept in flight.");
ABSL_FLAG(double, rate, 0, "Open loop: requests per second at fixed intervals (0: closed loop).");
ABSL_FLAG(int, max_in_flight, 4096,
          "Open loop: a due send is counted as dropped while this many are in flight.");
ABSL_FLAG(int, channels, 4,
          "Client channels (TCP+TLS connections) for the load, spread round-robin over the "
          "--target entries (raised to their number when fewer).");
ABSL_FLAG(uint64_t, intake_bytes, 2048, "Serialized size of a request (narrative padding).");
ABSL_FLAG(double, drain_seconds, 10,
          "fanout: seconds to wait after the load for deliveries still on their way.");
ABSL_FLAG(double, rpc_timeout, 10, "Deadline of every call, seconds.");
ABSL_FLAG(std::string, target, "",
          "Use running brokers at HOST:PORT[,HOST:PORT...] (replicas sharing one database) "
          "instead of starting one.");
ABSL_FLAG(std::string, broker_pid, "",
          "With --target: the brokers' pids PID[,PID...], for their CPU time and RSS (summed).");
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
ABSL_FLAG(std::string, data_dir, "",
          "Start the broker on this directory (data/, keys/, broker.log; made when missing, "
          "always kept) instead of a temporary one: fill a store once, then measure restart "
          "and reads on it.");
ABSL_FLAG(int, subscribers, 20000, "idle: feed streams to open and hold.");
ABSL_FLAG(uint64_t, read_ids, 10000,
          "reads: referral ids to list first; GetReferral picks among them at random.");
ABSL_FLAG(bool, first_pass, false,
          "reads: read every listed referral once, one call at a time, before the load, and "
          "report those first reads apart (a cold page cache shows there).");
ABSL_FLAG(uint64_t, ack_batch, 0,
          "fanout: 0 acknowledges each delivery with its own Acknowledge calls; N sends "
          "AcknowledgeBatch calls of up to N acks (1-1000), one in flight per subscriber.");
ABSL_FLAG(bool, ack_stream, false,
          "fanout, with --ack_batch N: send the batches of up to N acks over one "
          "AcknowledgeStream per subscriber, one unanswered at a time, instead of "
          "AcknowledgeBatch calls.");
ABSL_FLAG(std::string, timeline, "",
          "submit, fanout: write each answered (fanout: delivered) intake's send time "
          "(CLOCK_MONOTONIC seconds), latency (ms) and the disk's stall in its life (ms) to "
          "this CSV file, to find when a slow stretch happened.");
ABSL_FLAG(int, io_pressure_ms, 5,
          "submit, fanout: sample /proc/pressure/io every N ms to tell the disk's stalls "
          "from the broker's time (0: off).");
ABSL_FLAG(bool, keep_rate_limit, false,
          "Start the broker with --config's own per-certificate rate limit (by default it is "
          "lifted in a copy of the config, so the abuse limit does not cap the load).");

namespace hart::bench {
namespace {

absl::Status Bad(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

// "HOST:PORT": a host before the last ':' and a port 1-65535 after it.
bool IsHostPort(const std::string& entry) {
  const size_t colon = entry.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string port = entry.substr(colon + 1);
  int number = 0;
  return !port.empty() && port.find_first_not_of("0123456789") == std::string::npos &&
         absl::SimpleAtoi(port, &number) && number >= 1 && number <= 65535;
}

// The comma-separated entries of a list flag, whitespace around them removed.
std::vector<std::string> ListEntries(const std::string& value) {
  std::vector<std::string> entries;
  for (absl::string_view entry : absl::StrSplit(value, ',')) {
    entries.emplace_back(absl::StripAsciiWhitespace(entry));
  }
  return entries;
}

absl::Status ParseTargets(const std::string& value, std::vector<std::string>* targets) {
  const std::vector<std::string> entries = ListEntries(value);
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& entry = entries[i];
    const std::string which = entries.size() > 1 ? absl::StrCat(" entry ", i + 1, " of ",
                                                                entries.size())
                                                 : "";
    if (entry.empty()) {
      return Bad(absl::StrCat("--target", which, " is empty; expected HOST:PORT[,HOST:PORT...], "
                              "e.g. 127.0.0.1:7443,127.0.0.1:7444"));
    }
    if (!IsHostPort(entry)) {
      return Bad(absl::StrCat("--target", which, " '", entry,
                              "' is not HOST:PORT (port 1-65535); expected "
                              "HOST:PORT[,HOST:PORT...], e.g. 127.0.0.1:7443,127.0.0.1:7444"));
    }
    targets->push_back(entry);
  }
  return absl::OkStatus();
}

absl::Status ParsePids(const std::string& value, std::vector<pid_t>* pids) {
  // "0" alone meant "not given" when the flag took one number.
  if (absl::StripAsciiWhitespace(value).empty() || absl::StripAsciiWhitespace(value) == "0") {
    return absl::OkStatus();
  }
  const std::vector<std::string> entries = ListEntries(value);
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& entry = entries[i];
    int64_t pid = 0;
    if (entry.empty() || entry.find_first_not_of("0123456789") != std::string::npos ||
        !absl::SimpleAtoi(entry, &pid) || pid < 1 || pid > std::numeric_limits<pid_t>::max()) {
      return Bad(absl::StrCat("--broker_pid",
                              entries.size() > 1 ? absl::StrCat(" entry ", i + 1, " of ",
                                                                entries.size())
                                                 : "",
                              " '", entry, "' is not a process id; expected PID[,PID...], "
                              "e.g. --broker_pid 4242,4243"));
    }
    pids->push_back(static_cast<pid_t>(pid));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BenchConfig> ConfigFromFlags(const std::string& mode) {
  BenchConfig c;
  if (mode != "echo" && mode != "submit" && mode != "fanout" && mode != "restart" &&
      mode != "reads" && mode != "idle") {
    return Bad(absl::StrCat("unknown mode '", mode,
                            "'; modes: echo, submit, fanout, restart, reads, idle"));
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
  const std::string broker_pid = absl::GetFlag(FLAGS_broker_pid);
  c.certs_dir = absl::GetFlag(FLAGS_certs_dir);
  c.broker_binary = absl::GetFlag(FLAGS_broker_binary);
  c.config = absl::GetFlag(FLAGS_config);
  c.intakes_dir = absl::GetFlag(FLAGS_intakes_dir);
  c.broker_log_level = absl::GetFlag(FLAGS_broker_log_level);
  c.keep_data = absl::GetFlag(FLAGS_keep_data);
  c.keep_rate_limit = absl::GetFlag(FLAGS_keep_rate_limit);
  c.ack_batch = absl::GetFlag(FLAGS_ack_batch);
  c.ack_stream = absl::GetFlag(FLAGS_ack_stream);
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.subscribers = absl::GetFlag(FLAGS_subscribers);
  c.read_ids = absl::GetFlag(FLAGS_read_ids);
  c.first_pass = absl::GetFlag(FLAGS_first_pass);
  c.timeline = absl::GetFlag(FLAGS_timeline);
  c.io_pressure_ms = absl::GetFlag(FLAGS_io_pressure_ms);

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
  if (c.ack_batch > 1000) {
    return Bad("--ack_batch must be 0 (one Acknowledge call per ack) or 1 to 1000 acks per "
               "AcknowledgeBatch call");
  }
  if (c.ack_batch > 0 && c.mode != "fanout") return Bad("--ack_batch applies to fanout only");
  if (c.ack_stream && c.mode != "fanout") return Bad("--ack_stream applies to fanout only");
  if (!c.timeline.empty() && c.mode != "fanout" && c.mode != "submit") {
    return Bad("--timeline applies to submit and fanout only");
  }
  if (c.io_pressure_ms < 0 || c.io_pressure_ms > 1000) {
    return Bad("--io_pressure_ms must be 0 (off) or 1 to 1000 ms between samples");
  }
  if (c.ack_stream && c.ack_batch == 0) {
    return Bad("--ack_stream needs --ack_batch N (1-1000): the most acks per AcknowledgeStream "
               "batch, e.g. --ack_stream --ack_batch 64");
  }
  if (auto s = ParsePids(broker_pid, &c.broker_pids); !s.ok()) return s;
  if (!c.broker_pids.empty() && c.target.empty()) {
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
  if (!c.target.empty()) {
    if (auto s = ParseTargets(c.target, &c.targets); !s.ok()) return s;
    if (c.targets.size() > 256) return Bad("--target takes at most 256 entries");
  }
  if (c.certs_dir.empty()) return Bad("--certs_dir must not be empty");
  if (!c.data_dir.empty() && (c.mode == "echo" || !c.target.empty())) {
    return Bad("--data_dir applies only to a broker hart-bench starts itself (not echo, not "
               "with --target)");
  }
  if (c.mode == "restart" && c.data_dir.empty()) {
    return Bad("restart needs --data_dir: a store filled before, e.g. by hart-bench submit "
               "--data_dir DIR --max_requests 200000 --duration 3600");
  }
  if (c.mode == "idle" && !c.target.empty()) {
    return Bad("idle starts its own broker (with the per-identity stream limit lifted); "
               "--target does not apply");
  }
  if (c.subscribers < 1 || c.subscribers > 200000) {
    return Bad("--subscribers must be between 1 and 200000");
  }
  if (c.read_ids < 1 || c.read_ids > 1000000) {
    return Bad("--read_ids must be between 1 and 1000000");
  }
  if (c.broker_log_level != "debug" && c.broker_log_level != "info" &&
      c.broker_log_level != "warn" && c.broker_log_level != "error") {
    return Bad("--broker_log_level must be debug, info, warn or error");
  }
  return c;
}

}  // namespace hart::bench
