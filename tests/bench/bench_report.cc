#include "tests/bench/bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

namespace hart::bench {
namespace {

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string Percent(double cpu_seconds, double window_seconds) {
  if (window_seconds <= 0) return "n/a";
  return Fixed(100.0 * cpu_seconds / window_seconds, 0) + "%";
}

std::string Percentiles(const LatencySummary& l) {
  if (l.count == 0) return "n/a";
  return Fixed(l.p50_ms, 2) + " / " + Fixed(l.p90_ms, 2) + " / " + Fixed(l.p99_ms, 2) + " / " +
         Fixed(l.p999_ms, 2) + "  (max " + Fixed(l.max_ms, 2) + ")";
}

std::string Limit(const RateLimit& limit) {
  return std::to_string(limit.per_second) + "/s, burst " + std::to_string(limit.burst);
}

std::string CodeCounts(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [code, n] : counts) {
    out += (out.empty() ? "" : ", ") + code + " " + std::to_string(n);
  }
  return out;
}

// The broker's CPU per successful request, in microseconds; unset when the
// broker was not sampled or nothing succeeded.
std::optional<double> CpuMicrosPerOk(const BenchReport& r) {
  if (!r.broker_cpu_seconds || r.ok == 0) return std::nullopt;
  return 1e6 * *r.broker_cpu_seconds / static_cast<double>(r.ok);
}

// What the broker wrote to storage per successful request, in KiB; unset
// when it was not read or nothing succeeded.
std::optional<double> DiskKibPerOk(const BenchReport& r) {
  if (!r.broker_disk_write_mib || r.ok == 0) return std::nullopt;
  return *r.broker_disk_write_mib * 1024 / static_cast<double>(r.ok);
}

// All the broker's threads together.
ThreadUsage TotalUsage(const std::map<std::string, ThreadUsage>& by_name) {
  ThreadUsage total;
  for (const auto& [name, usage] : by_name) total += usage;
  return total;
}

std::optional<double> SwitchesPerOk(const BenchReport& r, const ThreadUsage& total) {
  if (r.ok == 0) return std::nullopt;
  return static_cast<double>(total.voluntary_switches + total.involuntary_switches) /
         static_cast<double>(r.ok);
}

// One figure of each thread name.
template <typename Field>
std::vector<std::pair<std::string, double>> ByThread(
    const std::map<std::string, ThreadUsage>& usage, Field field) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, u] : usage) out.emplace_back(name, static_cast<double>(field(u)));
  return out;
}

// The thread names with the most of `field` first, in cores (its seconds
// over the window), the rest summed as "others".
template <typename Field>
std::string ThreadCores(const std::map<std::string, ThreadUsage>& usage, double window_seconds,
                        Field field) {
  if (window_seconds <= 0 || usage.empty()) return "n/a";
  std::vector<std::pair<std::string, double>> busiest = ByThread(usage, field);
  std::sort(busiest.begin(), busiest.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  constexpr size_t kShown = 6;
  std::string out;
  double others = 0;
  for (size_t i = 0; i < busiest.size(); ++i) {
    if (i >= kShown) {
      others += busiest[i].second;
      continue;
    }
    out += (out.empty() ? "" : ", ") + busiest[i].first + " " +
           Fixed(busiest[i].second / window_seconds, 2);
  }
  if (busiest.size() > kShown) out += ", others " + Fixed(others / window_seconds, 2);
  return out + " cores";
}

// An ordered JSON object writer for one line.
class Json {
 public:
  Json& Key(const std::string& key) {
    Comma();
    out_ += Quote(key) + ":";
    pending_value_ = true;
    return *this;
  }
  Json& Str(const std::string& value) { return Raw(Quote(value)); }
  Json& Num(double value) {
    if (!std::isfinite(value)) return Raw("null");
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
      return Raw(std::to_string(static_cast<long long>(value)));
    }
    return Raw(Fixed(value, 3));
  }
  Json& Uint(uint64_t value) { return Raw(std::to_string(value)); }
  Json& Bool(bool value) { return Raw(value ? "true" : "false"); }
  Json& Null() { return Raw("null"); }
  Json& Begin() {
    Comma();
    out_ += "{";
    first_.push_back(true);
    pending_value_ = false;
    return *this;
  }
  Json& End() {
    out_ += "}";
    first_.pop_back();
    return *this;
  }
  Json& BeginArray() {
    Comma();
    out_ += "[";
    first_.push_back(true);
    pending_value_ = false;
    return *this;
  }
  Json& EndArray() {
    out_ += "]";
    first_.pop_back();
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  void Comma() {
    if (pending_value_) return;  // a value right after its key
    if (!first_.empty()) {
      if (!first_.back()) out_ += ",";
      first_.back() = false;
    }
  }
  Json& Raw(const std::string& text) {
    Comma();
    out_ += text;
    pending_value_ = false;
    return *this;
  }
  static std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
            out += buffer;
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    return out + "\"";
  }

  std::string out_;
  std::vector<bool> first_;
  bool pending_value_ = false;
};

void LatencyJson(Json& json, const LatencySummary& l) {
  json.Begin();
  json.Key("count").Uint(l.count);
  if (l.count == 0) {
    json.End();
    return;
  }
  json.Key("mean").Num(l.mean_ms).Key("p50").Num(l.p50_ms).Key("p90").Num(l.p90_ms);
  json.Key("p99").Num(l.p99_ms).Key("p999").Num(l.p999_ms).Key("max").Num(l.max_ms);
  json.End();
}

void CountsJson(Json& json, const std::map<std::string, uint64_t>& counts) {
  json.Begin();
  for (const auto& [code, n] : counts) json.Key(code).Uint(n);
  json.End();
}

}  // namespace

void PrintTable(const BenchReport& r, std::ostream& out) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto row = [&](const std::string& k, const std::string& v) { rows.emplace_back(k, v); };
  std::string load = r.loop == "open"
                         ? "open loop, " + Fixed(r.rate, 0) + "/s (in-flight cap " +
                               std::to_string(r.max_in_flight) + ")"
                         : "closed loop, " + std::to_string(r.concurrency) + " in flight";
  std::string channels = std::to_string(r.channels) + " channels";
  if (r.targets.size() > 1) {
    channels += " round-robin over " + std::to_string(r.targets.size()) + " targets";
  }
  if (r.channels_requested > 0 && r.channels != r.channels_requested) {
    channels += "; raised from --channels " + std::to_string(r.channels_requested) +
                " to one per target";
  }
  row("mode", r.mode + " (" + load + ", " + channels + ")");
  std::string targets;
  for (const auto& t : r.targets) targets += (targets.empty() ? "" : ", ") + t;
  if (targets.empty()) targets = r.target;
  if (r.targets.size() > 1) targets += " (" + std::to_string(r.targets.size()) + " brokers)";
  row("target", targets + (r.broker_started ? " (broker started by hart-bench)" : ""));
  if (r.rate_limit && r.config_rate_limit) {
    row("rate limit", r.rate_limit_lifted
                          ? "lifted to " + Limit(*r.rate_limit) + " per certificate (--config: " +
                                Limit(*r.config_rate_limit) + "; --keep_rate_limit keeps it)"
                          : Limit(*r.rate_limit) + " per certificate, --config's own "
                                                   "(--keep_rate_limit)");
  } else if (r.mode != "echo") {
    row("rate limit", "the target broker's own (not changed by hart-bench)");
  }
  row("payload", std::to_string(r.payload_bytes) + " bytes per request");
  row("duration", Fixed(r.measured_seconds, 2) + " s measured after " + Fixed(r.warmup_seconds, 1) +
                      " s warm-up (stopped by " + r.stopped_by + ")");
  row("requests", std::to_string(r.requests) + " measured, " + std::to_string(r.sent_total) +
                      " sent in total");
  row("ok", std::to_string(r.ok));
  row("errors", std::to_string(r.errors) +
                    (r.errors_by_code.empty() ? "" : " (" + CodeCounts(r.errors_by_code) + ")"));
  if (r.loop == "open") {
    row("dropped (cap)", std::to_string(r.dropped));
    row("send lag max", Fixed(r.schedule_lag_max_ms, 2) + " ms");
  }
  if (r.unfinished > 0) row("unfinished", std::to_string(r.unfinished));
  row("throughput", Fixed(r.throughput_per_second, 1) + " ok/s");
  row("latency ms", "p50 / p90 / p99 / p99.9 = " + Percentiles(r.latency));
  const bool several = r.brokers.size() > 1;
  const std::string summed = several ? " summed over " + std::to_string(r.brokers.size()) +
                                           " broker processes"
                                     : "";
  if (r.broker_cpu_seconds) {
    row("broker CPU", Fixed(*r.broker_cpu_seconds, 2) + " s" + summed + " (" +
                          Percent(*r.broker_cpu_seconds, r.cpu_window_seconds) + " of one core over " +
                          Fixed(r.cpu_window_seconds, 2) + " s; " + std::to_string(r.cores) +
                          " cores)");
  } else {
    row("broker CPU", r.mode == "echo"       ? "n/a (echo server is in-process)"
                      : r.brokers.empty()     ? "unavailable (give --broker_pid)"
                                              : "unavailable (a broker process could not be "
                                                "sampled)");
  }
  if (r.broker_thread_usage) {
    row("broker threads",
        ThreadCores(*r.broker_thread_usage, r.cpu_window_seconds,
                    [](const ThreadUsage& u) { return u.cpu_seconds; }));
    // Runnable, not running: a thread every request goes through (the
    // writer) that waits here waits for the other threads' CPU, not its own.
    row("broker run queue",
        ThreadCores(*r.broker_thread_usage, r.cpu_window_seconds,
                    [](const ThreadUsage& u) { return u.run_queue_seconds; }) +
            " (runnable, waiting for one)");
  }
  if (r.broker_thread_usage && r.cpu_window_seconds > 0) {
    const ThreadUsage total = TotalUsage(*r.broker_thread_usage);
    if (const auto per_ok = SwitchesPerOk(r, total)) {
      row("broker switches",
          Fixed(*per_ok, 1) + " context switches per successful request (" +
              Fixed(static_cast<double>(total.voluntary_switches) / r.cpu_window_seconds, 0) +
              " voluntary, " +
              Fixed(static_cast<double>(total.involuntary_switches) / r.cpu_window_seconds, 0) +
              " involuntary a second)");
    }
  }
  if (const auto per_ok = CpuMicrosPerOk(r)) {
    row("broker CPU / ok",
        Fixed(*per_ok, 0) + " us per successful request (the drain's CPU included)");
  }
  if (r.broker_peak_rss_mib) {
    row("broker peak RSS", Fixed(*r.broker_peak_rss_mib, 1) + " MiB" + summed +
                               (r.broker_threads ? " (" + std::to_string(*r.broker_threads) +
                                                       " threads)"
                                                 : ""));
  } else {
    row("broker peak RSS", "unavailable");
  }
  if (several) {
    for (const auto& b : r.brokers) {
      row("broker pid " + std::to_string(b.pid),
          b.cpu_seconds ? "CPU " + Fixed(*b.cpu_seconds, 2) + " s (" +
                              Percent(*b.cpu_seconds, r.cpu_window_seconds) + "), peak RSS " +
                              (b.peak_rss_mib ? Fixed(*b.peak_rss_mib, 1) + " MiB" : "n/a") +
                              (b.threads ? ", " + std::to_string(*b.threads) + " threads" : "")
                        : "unavailable (not running, or /proc not readable)");
    }
  }
  if (r.broker_disk_write_mib) {
    const double mib = *r.broker_disk_write_mib;
    const std::optional<double> kib_per_ok = DiskKibPerOk(r);
    row("broker disk writes",
        Fixed(mib, 1) + " MiB (" +
            (r.cpu_window_seconds > 0 ? Fixed(mib / r.cpu_window_seconds, 1) : "n/a") +
            " MiB/s; " + (kib_per_ok ? Fixed(*kib_per_ok, 1) : "n/a") +
            " KiB per successful request)");
  }
  row("client CPU", Fixed(r.client_cpu_seconds, 2) + " s (" +
                        Percent(r.client_cpu_seconds, r.cpu_window_seconds) +
                        " of one core" + (r.mode == "echo" ? ", echo server included" : "") + ")");
  if (r.fanout) {
    const FanoutReport& f = *r.fanout;
    row("subscribers", std::to_string(f.subscribers) + " streams" +
                           (f.streams_failed ? ", " + std::to_string(f.streams_failed) + " failed"
                                             : ""));
    row("delivered", std::to_string(f.delivered) + " of " + std::to_string(f.intakes) +
                         " intakes to every feed destination (" + std::to_string(f.deliveries_arrived) +
                         " of " + std::to_string(f.deliveries_expected) + " deliveries, " +
                         Fixed(f.deliveries_per_second, 1) + "/s); drain " +
                         Fixed(f.drain_seconds, 2) + " s");
    row("push excluded",
        std::to_string(f.push_destinations_excluded) + " destinations at " +
            std::to_string(f.push_agencies) + " push-adapter agencies, not on a feed" +
            (f.push_only_intakes ? " (" + std::to_string(f.push_only_intakes) +
                                       " intakes had only push destinations)"
                                 : ""));
    row("delivery ms", "p50 / p90 / p99 / p99.9 = " + Percentiles(f.latency));
    row("acks", std::to_string(f.acks_ok) + " ok, " + std::to_string(f.ack_errors) + " errors" +
                    (f.ack_errors_by_code.empty() ? "" : " (" + CodeCounts(f.ack_errors_by_code) + ")"));
    const std::string up_to = " (up to " + std::to_string(f.ack_batch) + " acks each)";
    row("ack calls", std::to_string(f.ack_calls) +
                         (f.ack_transport == "stream" ? " AcknowledgeStream batches" + up_to
                          : f.ack_batch == 0          ? " Acknowledge (one per ack)"
                                                      : " AcknowledgeBatch" + up_to));
    if (f.repeats || f.foreign) {
      row("other events", std::to_string(f.repeats) + " repeats, " + std::to_string(f.foreign) +
                              " not from this run");
    }
  }
  if (r.io_stalls) {
    const IoStallSummary& s = *r.io_stalls;
    row("disk stalls", Fixed(s.full_stall_seconds, 3) +
                           " s with every busy task waiting on the disk, at most " +
                           Fixed(s.longest_stall_ms, 1) + " ms in any " +
                           std::to_string(kLongestStallSpan.count()) + " ms");
    row(r.fanout ? "delivery less stalls" : "latency less stalls",
        "p50 / p90 / p99 / p99.9 = " + Percentiles(s.latency_less_stalls));
  }
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  for (const auto& [k, v] : rows) {
    out << "  " << k << std::string(width - k.size() + 2, ' ') << v << "\n";
  }
  for (const auto& [code, message] : r.first_error_messages) {
    out << "  first " << code << ": " << message << "\n";
  }
}

std::string JsonLine(const BenchReport& r) {
  Json j;
  j.Begin();
  j.Key("mode").Str(r.mode).Key("loop").Str(r.loop).Key("target").Str(r.target);
  j.Key("broker_started").Bool(r.broker_started);
  j.Key("rate_limit_lifted").Bool(r.rate_limit_lifted);
  j.Key("rate_limit_per_s");
  r.rate_limit ? j.Uint(r.rate_limit->per_second) : j.Null();
  j.Key("rate_limit_burst");
  r.rate_limit ? j.Uint(r.rate_limit->burst) : j.Null();
  j.Key("concurrency").Num(r.concurrency).Key("rate").Num(r.rate);
  j.Key("channels").Num(r.channels).Key("max_in_flight").Num(r.max_in_flight);
  j.Key("payload_bytes").Uint(r.payload_bytes);
  j.Key("warmup_s").Num(r.warmup_seconds).Key("duration_s").Num(r.duration_seconds);
  j.Key("measured_s").Num(r.measured_seconds).Key("stopped_by").Str(r.stopped_by);
  j.Key("sent_total").Uint(r.sent_total).Key("requests").Uint(r.requests);
  j.Key("ok").Uint(r.ok).Key("errors").Uint(r.errors);
  j.Key("errors_by_code");
  CountsJson(j, r.errors_by_code);
  j.Key("dropped").Uint(r.dropped).Key("unfinished").Uint(r.unfinished);
  j.Key("throughput_per_s").Num(r.throughput_per_second);
  j.Key("latency_ms");
  LatencyJson(j, r.latency);
  j.Key("schedule_lag_max_ms").Num(r.schedule_lag_max_ms);
  j.Key("cpu_window_s").Num(r.cpu_window_seconds);
  j.Key("broker_cpu_s");
  r.broker_cpu_seconds ? j.Num(*r.broker_cpu_seconds) : j.Null();
  j.Key("broker_peak_rss_mib");
  r.broker_peak_rss_mib ? j.Num(*r.broker_peak_rss_mib) : j.Null();
  j.Key("broker_threads");
  r.broker_threads ? j.Num(*r.broker_threads) : j.Null();
  j.Key("broker_disk_write_mib");
  r.broker_disk_write_mib ? j.Num(*r.broker_disk_write_mib) : j.Null();
  j.Key("broker_disk_write_kib_per_ok");
  const auto kib_per_ok = DiskKibPerOk(r);
  kib_per_ok ? j.Num(*kib_per_ok) : j.Null();
  j.Key("broker_cpu_us_per_ok");
  const auto per_ok = CpuMicrosPerOk(r);
  per_ok ? j.Num(*per_ok) : j.Null();
  // By thread name: {"hart-writer": 1.2, ...}, or null.
  auto by_thread = [&](const std::string& key, auto field) {
    j.Key(key);
    if (!r.broker_thread_usage) {
      j.Null();
      return;
    }
    j.Begin();
    for (const auto& [name, value] : ByThread(*r.broker_thread_usage, field)) {
      j.Key(name).Num(value);
    }
    j.End();
  };
  by_thread("broker_thread_cpu_s", [](const ThreadUsage& u) { return u.cpu_seconds; });
  by_thread("broker_thread_run_queue_s",
            [](const ThreadUsage& u) { return u.run_queue_seconds; });
  j.Key("broker_switches_per_ok");
  const auto switches_per_ok =
      r.broker_thread_usage ? SwitchesPerOk(r, TotalUsage(*r.broker_thread_usage)) : std::nullopt;
  switches_per_ok ? j.Num(*switches_per_ok) : j.Null();
  by_thread("broker_voluntary_switches",
            [](const ThreadUsage& u) { return u.voluntary_switches; });
  by_thread("broker_involuntary_switches",
            [](const ThreadUsage& u) { return u.involuntary_switches; });
  j.Key("client_cpu_s").Num(r.client_cpu_seconds).Key("cores").Num(r.cores);
  j.Key("targets").BeginArray();
  for (const auto& t : r.targets) j.Str(t);
  j.EndArray();
  j.Key("channels_requested").Num(r.channels_requested);
  j.Key("broker_pids").BeginArray();
  for (const auto& b : r.brokers) j.Num(b.pid);
  j.EndArray();
  j.Key("brokers").BeginArray();
  for (const auto& b : r.brokers) {
    j.Begin();
    j.Key("pid").Num(b.pid);
    j.Key("cpu_s");
    b.cpu_seconds ? j.Num(*b.cpu_seconds) : j.Null();
    j.Key("peak_rss_mib");
    b.peak_rss_mib ? j.Num(*b.peak_rss_mib) : j.Null();
    j.Key("threads");
    b.threads ? j.Num(*b.threads) : j.Null();
    j.End();
  }
  j.EndArray();
  j.Key("fanout");
  if (r.fanout) {
    const FanoutReport& f = *r.fanout;
    j.Begin();
    j.Key("subscribers").Uint(f.subscribers).Key("streams_failed").Uint(f.streams_failed);
    j.Key("intakes").Uint(f.intakes).Key("delivered").Uint(f.delivered);
    j.Key("deliveries_expected").Uint(f.deliveries_expected);
    j.Key("deliveries_arrived").Uint(f.deliveries_arrived);
    j.Key("deliveries_per_s").Num(f.deliveries_per_second);
    j.Key("push_agencies").Uint(f.push_agencies);
    j.Key("push_destinations_excluded").Uint(f.push_destinations_excluded);
    j.Key("push_only_intakes").Uint(f.push_only_intakes);
    j.Key("repeats").Uint(f.repeats).Key("foreign").Uint(f.foreign);
    j.Key("acks_ok").Uint(f.acks_ok).Key("ack_errors").Uint(f.ack_errors);
    j.Key("ack_calls").Uint(f.ack_calls).Key("ack_batch").Uint(f.ack_batch);
    j.Key("ack_transport").Str(f.ack_transport);
    j.Key("ack_errors_by_code");
    CountsJson(j, f.ack_errors_by_code);
    j.Key("drain_s").Num(f.drain_seconds);
    j.Key("delivery_latency_ms");
    LatencyJson(j, f.latency);
    j.End();
  } else {
    j.Null();
  }
  j.Key("io_stalls");
  if (r.io_stalls) {
    const IoStallSummary& s = *r.io_stalls;
    j.Begin();
    j.Key("full_stall_s").Num(s.full_stall_seconds);
    j.Key("longest_stall_ms").Num(s.longest_stall_ms);
    j.Key("latency_less_stalls_ms");
    LatencyJson(j, s.latency_less_stalls);
    j.End();
  } else {
    j.Null();
  }
  j.End();
  return j.str();
}

}  // namespace hart::bench
