#include "tests/bench/store_modes.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "hart/referral/v1/feed.grpc.pb.h"
#include "hart/referral/v1/intake.grpc.pb.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"
#include "tests/bench/bench_broker.h"
#include "tests/bench/intake_factory.h"
#include "tests/bench/latency_recorder.h"
#include "tests/bench/load_driver.h"
#include "tests/bench/process_stats.h"
#include "tests/bench/tls_credentials.h"

namespace hart::bench {
namespace {

namespace rv1 = hart::referral::v1;
using std::chrono::duration;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "hart-bench: error: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  return 1;
}

double SecondsSince(BenchClock::time_point start) {
  return duration<double>(BenchClock::now() - start).count();
}

// Bytes of the files directly in `dir` (the store and its WAL).
uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) total += entry.file_size(error);
  }
  return total;
}

std::string RunId() {
  std::random_device random;
  return absl::StrFormat("%08x", random());
}

constexpr auto kServeBound = std::chrono::seconds(120);

}  // namespace

int RunRestart(const BenchConfig& c) {
  const std::string store_dir = c.data_dir + "/data";
  if (!std::filesystem::exists(store_dir)) {
    return Fail("restart", absl::FailedPreconditionError(
                               "nothing to restart: " + store_dir +
                               " does not exist; fill it first, e.g. hart-bench submit "
                               "--data_dir " + c.data_dir + " --max_requests 200000 --duration 3600"));
  }
  auto agencies = BenchAgencies(c, /*make_certs=*/true);
  if (!agencies.ok()) return Fail("reading the agencies of --config", agencies.status());
  auto factory = IntakeFactory::Load(c.intakes_dir, c.intake_bytes, RunId());
  if (!factory.ok()) return Fail("loading example intakes", factory.status());
  const uint64_t store_bytes = DirectoryBytes(store_dir);

  const auto start = BenchClock::now();
  auto started = StartBenchBroker(c);
  if (!started.ok()) return Fail("starting the broker", started.status());
  const double port_s = SecondsSince(start);
  BrokerLauncher& broker = *started->launcher;
  const std::string target = "127.0.0.1:" + std::to_string(broker.port());

  // The first intake it acknowledges (after its fsync): calls wait for the
  // connection (wait_for_ready) and are retried until one succeeds.
  auto careline = ClientCredentials(c.certs_dir, "careline");
  if (!careline.ok()) return Fail("client credentials", careline.status());
  auto intake_stub = rv1::IntakeService::NewStub(DistinctChannel(target, *careline, "careline", 0));
  rv1::SubmitIntakeResponse receipt;
  int refused = 0;
  double intake_s = -1;
  std::string last_error;
  for (uint64_t n = 0; SecondsSince(start) < kServeBound.count(); ++n) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    rv1::SubmitIntakeRequest request;
    factory->Fill(n, &request);
    const grpc::Status status = intake_stub->SubmitIntake(&context, request, &receipt);
    if (status.ok()) {
      intake_s = SecondsSince(start);
      break;
    }
    ++refused;
    last_error = StatusCodeName(status.error_code()) + ": " + status.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // retry pacing, not a wait
  }
  if (intake_s < 0) {
    return Fail("restart", absl::DeadlineExceededError(
                               "no intake acknowledged within 120 s; last error " + last_error));
  }

  // The first event on the feed of a grpc_feed agency the intake went to:
  // its backlog from the store comes first (resume_after 0).
  const std::vector<std::string> feed_ids = FeedAgencyIds(*agencies);
  std::string agency;
  for (const auto& d : receipt.receipt().destinations()) {
    if (std::find(feed_ids.begin(), feed_ids.end(), d.agency_id()) != feed_ids.end()) {
      agency = d.agency_id();
      break;
    }
  }
  if (agency.empty()) {
    return Fail("restart", absl::FailedPreconditionError(
                               "the probe intake went to no grpc_feed agency of --config"));
  }
  auto agency_credentials = ClientCredentials(c.certs_dir, "agency-" + agency);
  if (!agency_credentials.ok()) return Fail("agency credentials", agency_credentials.status());
  auto feed_stub = rv1::FeedService::NewStub(
      DistinctChannel(target, *agency_credentials, "agency-" + agency, 0));
  grpc::ClientContext feed_context;
  feed_context.set_wait_for_ready(true);
  feed_context.set_deadline(std::chrono::system_clock::now() + kServeBound);
  rv1::SubscribeRequest subscribe;
  auto reader = feed_stub->Subscribe(&feed_context, subscribe);
  rv1::FeedEvent event;
  double feed_s = -1;
  uint64_t first_sequence = 0;
  while (reader->Read(&event)) {
    if (event.has_delivery()) {
      feed_s = SecondsSince(start);
      first_sequence = event.sequence();
      break;
    }
  }
  feed_context.TryCancel();
  (void)reader->Finish();
  if (feed_s < 0) {
    return Fail("restart", absl::DeadlineExceededError("no feed event within 120 s for " + agency));
  }
  const auto sample = SampleProcess(broker.pid());
  int exit_status = 0;
  if (auto s = broker.Stop(); !s.ok()) exit_status = Fail("stopping the broker", s);

  std::printf("restart on %s (store %.1f MiB before the start)\n", c.data_dir.c_str(),
              store_bytes / 1048576.0);
  std::printf("  port file written      %8.3f s\n", port_s);
  std::printf("  first intake acked     %8.3f s  (%d refused before it)\n", intake_s, refused);
  std::printf("  first feed event       %8.3f s  (agency %s, sequence %llu)\n", feed_s,
              agency.c_str(), static_cast<unsigned long long>(first_sequence));
  if (sample) std::printf("  broker RSS             %8.1f MiB\n", sample->rss_mib);
  std::cout << absl::StrFormat(
                   "{\"mode\":\"restart\",\"data_dir\":\"%s\",\"store_mib\":%.1f,"
                   "\"port_file_s\":%.3f,\"first_intake_s\":%.3f,\"refused_before\":%d,"
                   "\"first_feed_event_s\":%.3f,\"feed_agency\":\"%s\","
                   "\"first_sequence\":%d,\"broker_rss_mib\":%s}",
                   c.data_dir, store_bytes / 1048576.0, port_s, intake_s, refused, feed_s,
                   agency, first_sequence,
                   sample ? absl::StrFormat("%.1f", sample->rss_mib) : "null")
            << std::endl;
  return exit_status;
}

int RunReads(const BenchConfig& c) {
  std::unique_ptr<BrokerLauncher> broker;
  std::string target = c.targets.empty() ? "" : c.targets[0];
  if (target.empty()) {
    if (auto agencies = BenchAgencies(c, /*make_certs=*/true); !agencies.ok()) {
      return Fail("reading the agencies of --config", agencies.status());
    }
    auto started = StartBenchBroker(c);
    if (!started.ok()) return Fail("starting the broker", started.status());
    broker = std::move(started->launcher);
    target = "127.0.0.1:" + std::to_string(broker->port());
  }
  auto credentials = ClientCredentials(c.certs_dir, "supervisor");
  if (!credentials.ok()) return Fail("supervisor credentials", credentials.status());
  std::vector<std::unique_ptr<rv1::SupervisorService::Stub>> stubs;
  for (int i = 0; i < c.channels; ++i) {
    stubs.push_back(rv1::SupervisorService::NewStub(
        DistinctChannel(target, *credentials, "supervisor", i)));
  }

  // Referral ids to read, listed page by page (not measured).
  std::vector<std::string> ids;
  const auto list_start = BenchClock::now();
  std::string token;
  while (ids.size() < c.read_ids) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    rv1::ListReferralsRequest request;
    request.set_page_size(500);
    request.set_page_token(token);
    rv1::ListReferralsResponse response;
    const grpc::Status status = stubs[0]->ListReferrals(&context, request, &response);
    if (!status.ok()) {
      return Fail("listing referrals", absl::UnavailableError(StatusCodeName(status.error_code()) +
                                                               ": " + status.error_message()));
    }
    for (const auto& r : response.referrals()) ids.push_back(r.referral_id());
    token = response.next_page_token();
    if (token.empty()) break;
  }
  if (ids.empty()) {
    return Fail("reads", absl::FailedPreconditionError(
                             "the store holds no referral; fill it first, e.g. hart-bench submit "
                             "--data_dir DIR --max_requests 100000 --duration 3600, then reads "
                             "--data_dir DIR"));
  }
  if (ids.size() > c.read_ids) ids.resize(c.read_ids);
  Progress(absl::StrFormat("listed %d referral ids in %.1f s; reading", ids.size(),
                           SecondsSince(list_start)));

  // Each listed referral read once, in list order, one call at a time: the
  // pages these touch come from disk if the cache is cold, and are warm for
  // the load after it.
  std::vector<int64_t> first_ns;
  uint64_t first_errors = 0;
  if (c.first_pass) {
    const auto pass_start = BenchClock::now();
    for (const std::string& id : ids) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(static_cast<int64_t>(c.rpc_timeout_seconds * 1000)));
      rv1::GetReferralRequest request;
      request.set_referral_id(id);
      rv1::ReferralStatus response;
      const auto start = BenchClock::now();
      const grpc::Status status = stubs[0]->GetReferral(&context, request, &response);
      if (!status.ok()) {
        ++first_errors;
        continue;
      }
      first_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             BenchClock::now() - start).count());
    }
    Progress(absl::StrFormat("read each of them once in %.1f s (%d errors)",
                             SecondsSince(pass_start), first_errors));
  }

  // Even requests GetReferral (a random listed id), odd ones the first page
  // of ListReferrals (50 referrals, the dashboard's default view).
  std::mutex mu;
  std::vector<int64_t> get_ns, list_ns;
  std::mt19937_64 random(7);
  IssueFn issue = [&](uint64_t index, BenchClock::time_point start, bool measured, DoneFn done) {
    auto* context = new grpc::ClientContext;
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(c.rpc_timeout_seconds * 1000)));
    auto* stub = stubs[index % stubs.size()].get();
    auto finish = [&, context, start, measured, index, done = std::move(done)](grpc::Status status) {
      const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             BenchClock::now() - start).count();
      if (status.ok() && measured) {
        std::lock_guard<std::mutex> lock(mu);
        (index % 2 == 0 ? get_ns : list_ns).push_back(ns);
      }
      delete context;
      done(status);
    };
    if (index % 2 == 0) {
      auto* request = new rv1::GetReferralRequest;
      auto* response = new rv1::ReferralStatus;
      {
        std::lock_guard<std::mutex> lock(mu);
        request->set_referral_id(ids[random() % ids.size()]);
      }
      stub->async()->GetReferral(context, request, response,
                                 [request, response, finish](grpc::Status s) {
                                   delete request;
                                   delete response;
                                   finish(s);
                                 });
    } else {
      auto* request = new rv1::ListReferralsRequest;
      auto* response = new rv1::ListReferralsResponse;
      request->set_page_size(50);
      stub->async()->ListReferrals(context, request, response,
                                   [request, response, finish](grpc::Status s) {
                                     delete request;
                                     delete response;
                                     finish(s);
                                   });
    }
  };
  LoadOptions load;
  load.concurrency = c.concurrency;
  load.rate = c.rate;
  load.max_in_flight = c.max_in_flight;
  load.warmup = std::chrono::nanoseconds(static_cast<int64_t>(c.warmup_seconds * 1e9));
  load.duration = std::chrono::nanoseconds(static_cast<int64_t>(c.duration_seconds * 1e9));
  load.max_requests = c.max_requests;
  LatencyRecorder recorder;
  const LoadResult result = RunLoad(load, issue, recorder, [] {});
  const LatencySummary get = Summarize(get_ns);
  const LatencySummary list = Summarize(list_ns);
  const LatencySummary first = Summarize(first_ns);
  const double per_s = result.measured_seconds > 0 ? recorder.ok() / result.measured_seconds : 0;
  int exit_status = recorder.ok() > 0 && first_errors == 0 ? 0 : 1;
  if (broker) {
    if (auto s = broker->Stop(); !s.ok()) exit_status = Fail("stopping the broker", s);
  }
  std::printf("reads over %zu referral ids, %s\n", ids.size(),
              c.rate > 0 ? absl::StrFormat("%g/s open loop", c.rate).c_str()
                         : absl::StrFormat("%d in flight", c.concurrency).c_str());
  std::printf("  calls/s          %.1f (%llu ok, %llu errors)\n", per_s,
              static_cast<unsigned long long>(recorder.ok()),
              static_cast<unsigned long long>(recorder.errors()));
  if (c.first_pass) {
    std::printf("  first reads ms   p50 / p90 / p99 / max = %.2f / %.2f / %.2f / %.2f (%zu ids, "
                "%llu errors)\n",
                first.p50_ms, first.p90_ms, first.p99_ms, first.max_ms, first_ns.size(),
                static_cast<unsigned long long>(first_errors));
  }
  std::printf("  GetReferral ms   p50 / p90 / p99 / max = %.2f / %.2f / %.2f / %.2f\n", get.p50_ms,
              get.p90_ms, get.p99_ms, get.max_ms);
  std::printf("  ListReferrals ms p50 / p90 / p99 / max = %.2f / %.2f / %.2f / %.2f\n",
              list.p50_ms, list.p90_ms, list.p99_ms, list.max_ms);
  for (const auto& [code, message] : recorder.FirstErrorMessages()) {
    std::printf("  error %s: %s\n", code.c_str(), message.c_str());
  }
  auto summary = [](const LatencySummary& s) {
    return absl::StrFormat("{\"count\":%d,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
                           s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms);
  };
  std::cout << absl::StrFormat(
                   "{\"mode\":\"reads\",\"referral_ids\":%d,\"concurrency\":%d,\"rate\":%g,"
                   "\"calls_per_s\":%.1f,\"ok\":%d,\"errors\":%d,\"get_referral_ms\":%s,"
                   "\"list_referrals_ms\":%s,\"first_reads_ms\":%s,\"first_read_errors\":%d}",
                   ids.size(), c.concurrency, c.rate, per_s, recorder.ok(), recorder.errors(),
                   summary(get), summary(list), c.first_pass ? summary(first) : "null",
                   first_errors)
            << std::endl;
  return exit_status;
}

}  // namespace hart::bench
