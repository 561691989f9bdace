#include "tests/bench/bench_runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "echo.grpc.pb.h"
#include "absl/strings/str_join.h"
#include "hart/referral/v1/intake.grpc.pb.h"
#include "tests/bench/agency_adapters.h"
#include "tests/bench/bench_broker.h"
#include "tests/bench/bench_report.h"
#include "tests/bench/broker_launcher.h"
#include "tests/bench/delivery_tracker.h"
#include "tests/bench/echo_server.h"
#include "tests/bench/feed_subscribers.h"
#include "tests/bench/idle_subscribers.h"
#include "tests/bench/intake_factory.h"
#include "tests/bench/io_stalls.h"
#include "tests/bench/latency_recorder.h"
#include "tests/bench/load_driver.h"
#include "tests/bench/process_stats.h"
#include "tests/bench/rate_limit_config.h"
#include "tests/bench/store_modes.h"
#include "tests/bench/timeline.h"
#include "tests/bench/tls_credentials.h"

namespace hart::bench {
namespace {

namespace rv1 = hart::referral::v1;
using std::chrono::duration;
using std::chrono::nanoseconds;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "hart-bench: error: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  return 1;
}

// Set by the first SIGINT/SIGTERM: the run ends early but still reports and
// stops the broker. A second signal has the default effect.
std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

void InstallInterruptHandler() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

nanoseconds Seconds(double s) { return nanoseconds(static_cast<int64_t>(s * 1e9)); }

// "1.5", "10", "0.25": seconds or a rate for progress messages.
std::string Short(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string RandomRunId() {
  std::random_device random;
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%08x", random());
  return buffer;
}

struct SubmitCall {
  grpc::ClientContext context;
  rv1::SubmitIntakeRequest request;
  rv1::SubmitIntakeResponse response;
};

struct EchoCall {
  grpc::ClientContext context;
  v1::EchoRequest request;
  v1::EchoReply reply;
};

// A payload that makes the serialized EchoRequest `request_bytes` long.
std::string EchoPayload(size_t request_bytes) {
  size_t n = request_bytes > 3 ? request_bytes - 3 : 0;  // tag + 2-byte length
  std::string payload(n, '\0');
  std::mt19937 random(42);
  for (char& c : payload) c = static_cast<char>(random());
  return payload;
}

}  // namespace

int RunBench(const BenchConfig& c) {
  if (c.mode == "restart") return RunRestart(c);
  if (c.mode == "reads") return RunReads(c);
  if (c.mode == "idle") return RunIdle(c);
  const bool start_broker = c.mode != "echo" && c.target.empty();

  // Certificates: made (idempotently) for every agency of the config unless
  // the target is somebody else's broker. Fanout subscribes to the feed
  // (grpc_feed) agencies only: push adapters never deliver on a feed.
  std::vector<AgencyAdapter> agencies;
  if (c.target.empty() || c.mode == "fanout") {
    auto read = BenchAgencies(c, /*make_certs=*/c.target.empty());
    if (!read.ok()) return Fail("reading the agencies of --config", read.status());
    agencies = std::move(*read);
  }
  const std::vector<std::string> feed_agency_ids = FeedAgencyIds(agencies);
  const std::vector<std::string> push_agency_ids = PushAgencyIds(agencies);
  if (c.mode == "fanout" && feed_agency_ids.empty()) {
    return Fail("fanout", absl::FailedPreconditionError(
                              c.config + " has no agency with adapter type grpc_feed to "
                                         "subscribe for"));
  }
  auto factory = IntakeFactory::Load(c.intakes_dir, c.intake_bytes, RandomRunId());
  if (!factory.ok()) return Fail("loading example intakes", factory.status());
  // A timeline that cannot be written fails now, not after the run.
  if (!c.timeline.empty()) {
    if (absl::Status writable = CheckTimelineWritable(c.timeline);
        !writable.ok()) {
      return Fail("--timeline", writable);
    }
  }

  // The server under test.
  std::unique_ptr<BrokerLauncher> broker;
  std::unique_ptr<EchoServer> echo;
  // Replicas sharing one database: any of them takes intakes and serves any
  // agency's feed.
  std::vector<std::string> targets = c.targets;
  std::vector<pid_t> server_pids = c.broker_pids;
  std::optional<RateLimit> config_rate_limit;
  std::optional<RateLimit> rate_limit;
  if (c.mode == "echo") {
    auto credentials = BrokerServerCredentials(c.certs_dir);
    if (!credentials.ok()) return Fail("echo server credentials", credentials.status());
    auto server = EchoServer::Start(*credentials);
    if (!server.ok()) return Fail("starting the echo server", server.status());
    echo = std::move(*server);
    targets = {"127.0.0.1:" + std::to_string(echo->port())};
  } else if (start_broker) {
    auto started = StartBenchBroker(c);
    if (!started.ok()) return Fail("starting the broker", started.status());
    broker = std::move(started->launcher);
    rate_limit = started->rate_limit;
    config_rate_limit = started->config_rate_limit;
    targets = {"127.0.0.1:" + std::to_string(broker->port())};
    server_pids = {broker->pid()};
  }

  const std::string target_list = absl::StrJoin(targets, ",");
  const size_t n_targets = targets.size();
  // Load channels, all presenting careline.crt, spread round-robin over the
  // targets (channel i -> target i mod n), at least one per target.
  const int n_channels = std::max(c.channels, static_cast<int>(n_targets));
  if (n_channels != c.channels) {
    Progress("--channels " + std::to_string(c.channels) + " raised to " +
             std::to_string(n_channels) + ": one channel per target at least");
  }
  auto credentials = ClientCredentials(c.certs_dir, "careline");
  if (!credentials.ok()) return Fail("client credentials", credentials.status());
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n_channels; ++i) {
    channels.push_back(DistinctChannel(targets[i % n_targets], *credentials, "careline", i));
  }
  {
    for (const auto& channel : channels) channel->GetState(/*try_to_connect=*/true);
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(15);
    for (size_t t = 0; t < n_targets; ++t) {
      std::vector<std::shared_ptr<grpc::Channel>> to_target;
      for (size_t i = t; i < channels.size(); i += n_targets) to_target.push_back(channels[i]);
      if (auto s = WaitForConnected(to_target, deadline, "load"); !s.ok()) {
        return Fail("connecting to " + targets[t], s);
      }
    }
  }

  DeliveryTracker tracker(feed_agency_ids);
  std::unique_ptr<FeedSubscribers> subscribers;
  if (c.mode == "fanout") {
    FeedSubscribers::Options options;
    options.certs_dir = c.certs_dir;
    options.agency_ids = feed_agency_ids;
    // The k-th feed agency subscribes at target (k+1) mod n: another replica
    // than channel 0's where there are several, so deliveries cross replicas.
    for (size_t k = 0; k < feed_agency_ids.size(); ++k) {
      options.targets.push_back(targets[(k + 1) % n_targets]);
    }
    options.ack_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(c.rpc_timeout_seconds * 1000));
    options.ack_batch = c.ack_batch;
    options.ack_stream = c.ack_stream;
    subscribers = std::make_unique<FeedSubscribers>(options, tracker);
    if (auto s = subscribers->Start(); !s.ok()) return Fail("opening feed subscriptions", s);
    // Every Subscribe held by the broker before the first intake.
    if (auto s = subscribers->WaitUntilSubscribed(std::chrono::seconds(30)); !s.ok()) {
      return Fail("opening feed subscriptions", s);
    }
    Progress(std::to_string(feed_agency_ids.size()) + " feed subscribers connected" +
             (n_targets > 1 ? " across " + std::to_string(n_targets) + " targets" : ""));
    if (!push_agency_ids.empty()) {
      Progress(std::to_string(push_agency_ids.size()) +
               " push-adapter agencies not subscribed, their destinations excluded: " +
               absl::StrJoin(push_agency_ids, ", "));
    }
  }

  const auto rpc_timeout = Seconds(c.rpc_timeout_seconds);
  std::vector<std::unique_ptr<rv1::IntakeService::Stub>> intake_stubs;
  std::vector<std::unique_ptr<v1::Echo::Stub>> echo_stubs;
  for (const auto& channel : channels) {
    intake_stubs.push_back(rv1::IntakeService::NewStub(channel));
    echo_stubs.push_back(v1::Echo::NewStub(channel));
  }
  DeliveryTracker* track = c.mode == "fanout" ? &tracker : nullptr;
  const std::string echo_payload = EchoPayload(factory->mean_request_bytes());

  IssueFn issue;
  if (c.mode == "echo") {
    issue = [&](uint64_t index, BenchClock::time_point, bool, DoneFn done) {
      auto* call = new EchoCall;
      call->request.set_payload(echo_payload);
      call->context.set_deadline(std::chrono::system_clock::now() + rpc_timeout);
      echo_stubs[index % echo_stubs.size()]->async()->Call(
          &call->context, &call->request, &call->reply,
          [call, done = std::move(done)](grpc::Status status) {
            delete call;
            done(status);
          });
    };
  } else {
    issue = [&](uint64_t index, BenchClock::time_point start, bool measured, DoneFn done) {
      auto* call = new SubmitCall;
      factory->Fill(index, &call->request);
      call->context.set_deadline(std::chrono::system_clock::now() + rpc_timeout);
      intake_stubs[index % intake_stubs.size()]->async()->SubmitIntake(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done), track, index, start, measured](grpc::Status status) {
            if (status.ok() && track != nullptr) {
              track->OnReceipt(index, start, measured, call->response.receipt());
            }
            delete call;
            done(status);
          });
    };
  }

  LoadOptions load;
  load.concurrency = c.concurrency;
  load.rate = c.rate;
  load.max_in_flight = c.max_in_flight;
  load.warmup = Seconds(c.warmup_seconds);
  load.duration = Seconds(c.duration_seconds);
  load.max_requests = c.max_requests;
  load.drain_timeout = rpc_timeout + std::chrono::seconds(5);
  load.interrupted = &g_interrupted;
  InstallInterruptHandler();

  BenchClock::time_point window_start;
  std::vector<std::optional<ProcessSample>> server_start_samples;
  std::vector<std::map<pid_t, ThreadSample>> server_start_threads;
  double client_cpu_start = 0;
  auto on_measure_start = [&] {
    window_start = BenchClock::now();
    server_start_samples.clear();
    server_start_threads.clear();
    for (pid_t pid : server_pids) {
      server_start_threads.push_back(SampleThreads(pid));
      server_start_samples.push_back(SampleProcess(pid));
    }
    client_cpu_start = SelfCpuSeconds();
  };

  Progress("running " + c.mode + ": " +
           (c.rate > 0 ? Short(c.rate) + "/s open loop" : std::to_string(c.concurrency) + " in flight") +
           " over " + std::to_string(n_channels) + " channels" +
           (n_targets > 1 ? " to " + std::to_string(n_targets) + " targets (" + target_list + ")"
                          : "") +
           ", " + Short(c.warmup_seconds) +
           " s warm-up + " + Short(c.duration_seconds) + " s, at most " +
           std::to_string(c.max_requests) + " requests");
  // The disk's stalls, sampled from before the load to after the drain.
  std::unique_ptr<IoPressureSampler> io_pressure;
  if (c.mode != "echo" && c.io_pressure_ms > 0) {
    auto sampler = IoPressureSampler::Start(IoPressureSampler::kMachinePressure,
                                            std::chrono::milliseconds(c.io_pressure_ms));
    if (sampler.ok()) {
      io_pressure = std::move(*sampler);
    } else {
      Progress("no disk-stall figures: " + std::string(sampler.status().message()));
    }
  }
  LatencyRecorder recorder;
  const LoadResult result = RunLoad(load, issue, recorder, on_measure_start);
  if (result.stopped_by == "interrupt") Progress("interrupted: finishing the run early");

  std::optional<FanoutReport> fanout;
  absl::Status timeline_written;
  if (subscribers) {
    Progress("load done; waiting up to " + Short(c.drain_seconds) + " s for deliveries");
    const auto drain_start = BenchClock::now();
    const auto drain_end = drain_start + Seconds(c.drain_seconds);
    while (!g_interrupted.load() &&
           !tracker.WaitAllDelivered(std::min(drain_end, BenchClock::now() +
                                                             std::chrono::milliseconds(100))) &&
           BenchClock::now() < drain_end) {
    }
    FanoutReport f;
    f.drain_seconds = duration<double>(BenchClock::now() - drain_start).count();
    fanout = f;
  }
  const auto window_end = BenchClock::now();
  std::vector<std::optional<ProcessSample>> server_end_samples;
  std::vector<std::map<pid_t, ThreadSample>> server_end_threads;
  for (pid_t pid : server_pids) {
    server_end_samples.push_back(SampleProcess(pid));
    server_end_threads.push_back(SampleThreads(pid));
  }
  const double client_cpu_end = SelfCpuSeconds();
  // What the target judges: submit's answers, fanout's deliveries.
  const std::vector<Lifetime> judged =
      subscribers ? tracker.DeliveredLifetimes() : recorder.Lifetimes();
  const std::vector<IoPressureSample> io_samples =
      io_pressure ? io_pressure->Stop() : std::vector<IoPressureSample>{};
  std::optional<IoStallSummary> io_stalls;
  if (io_pressure) io_stalls = SummarizeIoStalls(io_samples, window_start, window_end, judged);
  if (!c.timeline.empty()) {
    timeline_written = WriteTimeline(c.timeline, judged,
                                     subscribers ? "delivered_ms" : "answered_ms", io_samples);
  }

  if (subscribers) {
    subscribers->Stop(std::chrono::seconds(15));
    const auto stats = subscribers->stats();
    const auto delivered = tracker.Summarize();
    FanoutReport& f = *fanout;
    f.subscribers = stats.streams;
    f.streams_failed = stats.streams_failed;
    f.intakes = delivered.intakes;
    f.delivered = delivered.delivered;
    f.deliveries_expected = delivered.deliveries_expected;
    f.deliveries_arrived = delivered.deliveries_arrived;
    f.push_agencies = push_agency_ids.size();
    f.push_destinations_excluded = delivered.push_destinations_excluded;
    f.push_only_intakes = delivered.push_only_intakes;
    f.repeats = delivered.repeats;
    f.foreign = delivered.foreign;
    f.acks_ok = stats.acks_ok;
    f.ack_calls = stats.ack_calls;
    f.ack_batch = c.ack_batch;
    f.ack_transport = c.ack_stream ? "stream" : c.ack_batch > 0 ? "batch" : "single";
    f.ack_errors = stats.ack_errors;
    f.ack_errors_by_code = stats.ack_errors_by_code;
    f.latency = delivered.latency;
    const double window = duration<double>(window_end - window_start).count();
    f.deliveries_per_second = window > 0 ? f.deliveries_arrived / window : 0;
    for (const auto& [code, message] : stats.stream_errors) {
      Progress("a feed stream failed with " + code + ": " + message);
    }
    for (const auto& [code, message] : stats.ack_stream_errors) {
      Progress("an AcknowledgeStream failed with " + code + ": " + message);
    }
  }

  BenchReport r;
  r.mode = c.mode;
  r.loop = c.rate > 0 ? "open" : "closed";
  r.target = target_list;
  r.targets = targets;
  r.broker_started = start_broker;
  r.rate_limit = rate_limit;
  r.config_rate_limit = config_rate_limit;
  r.rate_limit_lifted = start_broker && !c.keep_rate_limit;
  r.concurrency = c.concurrency;
  r.rate = c.rate;
  r.channels = n_channels;
  r.channels_requested = c.channels;
  r.max_in_flight = c.max_in_flight;
  r.payload_bytes = c.mode == "echo" ? 3 + echo_payload.size() : factory->mean_request_bytes();
  r.warmup_seconds = c.warmup_seconds;
  r.duration_seconds = c.duration_seconds;
  r.measured_seconds = result.measured_seconds;
  r.stopped_by = result.stopped_by;
  r.sent_total = result.sent;
  r.requests = result.measured_sent;
  r.ok = recorder.ok();
  r.errors = recorder.errors();
  r.errors_by_code = recorder.ErrorsByCode();
  r.first_error_messages = recorder.FirstErrorMessages();
  r.dropped = result.dropped;
  r.unfinished = result.unfinished;
  r.throughput_per_second = result.measured_seconds > 0 ? r.ok / result.measured_seconds : 0;
  r.latency = recorder.Latency();
  r.schedule_lag_max_ms = result.schedule_lag_max_ms;
  r.cpu_window_seconds = duration<double>(window_end - window_start).count();
  if (c.mode != "echo") {
    // Summed over the broker processes, reported only when every one was
    // sampled at both ends of the window.
    bool all_sampled = !server_pids.empty() && server_start_samples.size() == server_pids.size();
    double cpu = 0, rss = 0, written = 0;
    bool all_written = true;
    int threads = 0;
    std::map<std::string, ThreadUsage> thread_usage;
    for (size_t i = 0; i < server_pids.size(); ++i) {
      BrokerProcessReport b;
      b.pid = static_cast<int>(server_pids[i]);
      const bool sampled = i < server_start_samples.size() && server_start_samples[i] &&
                           server_end_samples[i];
      if (sampled) {
        b.cpu_seconds = server_end_samples[i]->cpu_seconds - server_start_samples[i]->cpu_seconds;
        b.peak_rss_mib = server_end_samples[i]->peak_rss_mib;
        b.threads = server_end_samples[i]->threads;
        cpu += *b.cpu_seconds;
        rss += *b.peak_rss_mib;
        const auto& wrote_start = server_start_samples[i]->disk_write_bytes;
        const auto& wrote_end = server_end_samples[i]->disk_write_bytes;
        if (wrote_start && wrote_end) {
          written += (*wrote_end - *wrote_start) / (1024.0 * 1024.0);
        } else {
          all_written = false;
        }
        threads += *b.threads;
        for (const auto& [name, usage] :
             ThreadUsageBetween(server_start_threads[i], server_end_threads[i])) {
          thread_usage[name] += usage;
        }
      } else {
        all_sampled = false;
        Progress("broker pid " + std::to_string(server_pids[i]) +
                 " could not be sampled (not running, or /proc not readable)");
      }
      r.brokers.push_back(b);
    }
    if (all_sampled) {
      r.broker_cpu_seconds = cpu;
      r.broker_peak_rss_mib = rss;
      r.broker_threads = threads;
      if (all_written) r.broker_disk_write_mib = written;
      r.broker_thread_usage = std::move(thread_usage);
    }
  }
  r.client_cpu_seconds = client_cpu_end - client_cpu_start;
  r.cores = static_cast<int>(std::thread::hardware_concurrency());
  r.fanout = fanout;
  r.io_stalls = io_stalls;

  int exit_status = r.ok > 0 ? 0 : 1;
  if (r.ok == 0) Progress("no request succeeded");
  if (!timeline_written.ok()) exit_status = Fail("--timeline", timeline_written);
  if (broker) {
    if (auto s = broker->Stop(); !s.ok()) {
      Fail("stopping the broker", s);
      exit_status = 1;
    } else {
      Progress("hart-broker stopped");
    }
  }
  if (echo) echo->Stop();

  PrintTable(r, std::cout);
  std::cout << JsonLine(r) << std::endl;
  return exit_status;
}

}  // namespace hart::bench
