#include "tests/faults/partner_fault_support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/common/time_util.h"

namespace hart::testing {

Rss ReadRss(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  Rss rss;
  std::string line;
  while (std::getline(in, line)) {
    for (auto [prefix, field] : {std::pair{"VmRSS:", &rss.total}, {"RssAnon:", &rss.anon}}) {
      const std::string_view p(prefix);
      if (line.rfind(p, 0) == 0) std::istringstream(line.substr(p.size())) >> *field;
    }
  }
  return rss;
}

RssSampler::RssSampler(pid_t pid, std::chrono::milliseconds interval)
    : pid_(pid), interval_(interval), thread_([this] { Run(); }) {}

RssSampler::~RssSampler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void RssSampler::RecordLocked(const Rss& rss) {
  if (rss.total == 0) return;  // the process is gone
  ++samples_;
  last_ = rss;
  Rss& peak = peak_[phase_];
  peak.total = std::max(peak.total, rss.total);
  peak.anon = std::max(peak.anon, rss.anon);
}

void RssSampler::BeginPhase(const std::string& phase) {
  const Rss now = ReadRss(pid_);  // the phase starts with a sample
  std::lock_guard lock(mu_);
  phase_ = phase;
  RecordLocked(now);
}

void RssSampler::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const Rss rss = ReadRss(pid_);
    lock.lock();
    RecordLocked(rss);
    stop_cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

Rss RssSampler::Peak(const std::string& phase) const {
  std::lock_guard lock(mu_);
  auto it = peak_.find(phase);
  return it == peak_.end() ? Rss{} : it->second;
}

Rss RssSampler::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

size_t RssSampler::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

v1::Intake FreshIntake(const std::string& example, const std::string& town, const std::string& tag,
                       uint64_t n) {
  v1::Intake intake = LoadIntake(example);
  intake.mutable_child()->set_town(town);
  intake.set_careline_report_id(absl::StrCat(tag, "-", n));
  const absl::Time now = absl::Now();
  *intake.mutable_received_at() = ToProtoTime(now - absl::Minutes(1));
  if (intake.missing().is_missing()) {
    *intake.mutable_missing()->mutable_missing_since() = ToProtoTime(now - absl::Hours(10));
  }
  return intake;
}

namespace {

// The agency's channel with a 64 KiB receive window that never grows.
std::shared_ptr<grpc::Channel> SmallWindowChannel(const BrokerProcess& broker,
                                                  const std::string& agency_id) {
  const std::string cert = DevCertsDir() + "/agency-" + agency_id;
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadText(DevCertsDir() + "/ca.crt");
  ssl.pem_private_key = ReadText(cert + ".key");
  ssl.pem_cert_chain = ReadText(cert + ".crt");
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  args.SetString("hart.test.identity", "small-window-" + agency_id);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(broker.port()),
                                   grpc::SslCredentials(ssl), args);
}

}  // namespace

FeedFollower::FeedFollower(const BrokerProcess& broker, std::string agency_id,
                           std::chrono::milliseconds pace, bool ack, ReceiveWindow window)
    : broker_(broker),
      agency_id_(std::move(agency_id)),
      ack_(ack),
      window_(window),
      pace_ms_(pace.count()),
      thread_([this] { Run(); }) {}

void FeedFollower::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (open_stream_ != nullptr) open_stream_->TryCancel();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FeedFollower::SetPace(std::chrono::milliseconds pace) {
  pace_ms_ = pace.count();
  changed_.notify_all();
}

void FeedFollower::Run() {
  auto stub = window_ == ReceiveWindow::kSmall
                  ? v1::FeedService::NewStub(SmallWindowChannel(broker_, agency_id_))
                  : broker_.Feed(agency_id_);
  uint64_t resume_after = 0;
  for (;;) {
    grpc::ClientContext context;
    // Stop() cancels the stream; the deadline only bounds a test that hung.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      open_stream_ = &context;
    }
    v1::SubscribeRequest request;
    request.set_resume_after(resume_after);
    auto reader = stub->Subscribe(&context, request);
    v1::FeedEvent event;
    while (reader->Read(&event)) {
      if (!event.has_delivery()) continue;
      const std::string& id = event.delivery().delivery_id();
      if (ack_) {
        v1::AcknowledgeRequest ack;
        ack.set_delivery_id(id);
        ack.set_kind(v1::Acknowledgement::RECEIVED);
        v1::AcknowledgeResponse response;
        (void)stub->Acknowledge(CallContext().get(), ack,
                                &response);  // a redelivery repeats it
      }
      std::unique_lock lock(mu_);
      const bool redelivery = event.delivery().redelivery();
      arrivals_.push_back({event.sequence(), id, redelivery, SteadyClock::now()});
      ids_.insert(id);
      if (!redelivery) resume_after = std::max(resume_after, event.sequence());
      changed_.notify_all();
      // The subscriber's reading rate (not synchronisation): the next Read
      // waits this long, or less once SetPace speeds it up.
      const int64_t pace = pace_ms_;
      if (pace > 0) {
        changed_.wait_for(lock, std::chrono::milliseconds(pace),
                          [&] { return stopping_ || pace_ms_ < pace; });
      }
      if (stopping_) break;
    }
    {
      std::lock_guard lock(mu_);
      open_stream_ = nullptr;
    }
    const grpc::Status status = reader->Finish();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    ++resubscriptions_;
    ADD_FAILURE() << agency_id_ << "'s stream ended: " << status.error_code() << " "
                  << status.error_message();
    // Retry pacing after a broken stream, so a dead broker is not a busy loop.
    changed_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
  }
}

size_t FeedFollower::delivery_count() const {
  std::lock_guard lock(mu_);
  return ids_.size();
}

std::vector<FeedArrival> FeedFollower::Arrivals() const {
  std::lock_guard lock(mu_);
  return arrivals_;
}

std::map<std::string, SteadyClock::time_point> FeedFollower::FirstArrivals() const {
  std::lock_guard lock(mu_);
  std::map<std::string, SteadyClock::time_point> first;
  for (const FeedArrival& a : arrivals_) first.emplace(a.delivery_id, a.at);
  return first;
}

bool FeedFollower::WaitForIds(const std::set<std::string>& ids,
                              std::chrono::milliseconds bound) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, bound, [&] {
    for (const std::string& id : ids) {
      if (!ids_.count(id)) return false;
    }
    return true;
  });
}

std::vector<std::string> FeedFollower::SequenceProblems() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> problems;
  uint64_t previous = 0;
  std::map<std::string, uint64_t> sequence_of;
  for (const FeedArrival& a : arrivals_) {
    auto [it, fresh] = sequence_of.emplace(a.delivery_id, a.sequence);
    if (!fresh && it->second != a.sequence) {
      problems.push_back(absl::StrCat(agency_id_, ": ", a.delivery_id, " under sequences ",
                                      it->second, " and ", a.sequence));
    }
    if (a.redelivery) continue;
    if (a.sequence != previous + 1) {
      problems.push_back(absl::StrCat(agency_id_, ": sequence ", a.sequence, " after ", previous));
    }
    previous = a.sequence;
  }
  return problems;
}

size_t FeedFollower::resubscriptions() const {
  std::lock_guard lock(mu_);
  return resubscriptions_;
}

bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds bound,
               std::chrono::milliseconds interval) {
  const auto deadline = SteadyClock::now() + bound;
  for (;;) {
    if (condition()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);  // the polling rate, bounded by `bound`
  }
}

void PrintFigures(const std::string& title,
                  const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = absl::StrCat("\n", title, "\n\n| figure | value |\n|---|---|\n");
  for (const auto& [label, value] : rows) absl::StrAppend(&out, "| ", label, " | ", value, " |\n");
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

std::string Mib(uint64_t kib) { return absl::StrFormat("%.1f MiB", kib / 1024.0); }

std::string Mib(const Rss& rss) {
  return absl::StrCat(Mib(rss.total), " (anon ", Mib(rss.anon), ")");
}

std::string Seconds(SteadyClock::duration d) {
  return absl::StrFormat("%.2f s", std::chrono::duration<double>(d).count());
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long long parsed = std::strtoll(value, &end, 10);
  return (end != nullptr && *end == '\0' && parsed > 0) ? parsed : fallback;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

uint64_t MemoryBoundMib(const char* name, uint64_t plain) {
  return static_cast<uint64_t>(
      EnvInt(name, static_cast<int64_t>(kAddressSanitizer ? 4 * plain : plain)));
}

void ShrinkChildQuarantine() {
  if (!kAddressSanitizer) return;
  const char* current = std::getenv("ASAN_OPTIONS");
  std::string options = current != nullptr ? current : "";
  if (!options.empty()) options += ":";
  options += "quarantine_size_mb=8";
  setenv("ASAN_OPTIONS", options.c_str(), /*overwrite=*/1);
}

}  // namespace hart::testing
