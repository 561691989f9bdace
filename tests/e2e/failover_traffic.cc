#include "tests/e2e/failover_traffic.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"

namespace hart::testing {
namespace {

// Retry pacing (not synchronisation): how long a client or partner waits
// before trying again after a failed call, so an outage is not a busy loop.
constexpr auto kRetryPause = std::chrono::milliseconds(100);
// A feed stream is cancelled by Stop(); the deadline only bounds a test
// that forgot to.
constexpr auto kStreamDeadline = std::chrono::seconds(300);

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + kCallDeadline;
}

// The example intakes, two of them moved to Stamford so that a share of the
// referrals go to the webhook partner as well as to feeds.
std::vector<v1::Intake> IntakeTemplates() {
  std::vector<v1::Intake> out;
  for (const char* name : {"school-sex-trafficking-hartford", "urgent-hotel-bridgeport",
                           "labor-trafficking-waterbury", "missing-from-foster-care-new-haven"}) {
    out.push_back(LoadIntake(name));
  }
  for (int i : {0, 3}) {
    v1::Intake moved = out[i];
    moved.mutable_child()->set_town("Stamford");
    out.push_back(moved);
  }
  return out;
}

}  // namespace

IntakeLoad::IntakeLoad(ReplicaCluster& cluster, FeedPartners& partners,
                       const std::string& scenario, int threads, double per_second)
    : cluster_(cluster), partners_(partners), scenario_(scenario), templates_(IntakeTemplates()) {
  if (per_second > 0) {
    interval_ = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(threads / per_second));
  }
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Run(t); });
}

void IntakeLoad::Stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void IntakeLoad::Run(int thread) {
  // One channel per replica for this client, as a real client keeps one.
  std::vector<std::unique_ptr<v1::IntakeService::Stub>> stubs;
  for (int i = 0; i < cluster_.size(); ++i) {
    stubs.push_back(cluster_.replica(i).Intake());
  }
  size_t turn = static_cast<size_t>(thread);
  auto next_start = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (interval_.count() > 0) {
      // A steady rate: a slow answer uses up its slot, it does not bunch
      // the next ones together.
      next_start = std::max(next_start + interval_, std::chrono::steady_clock::now());
      std::this_thread::sleep_until(next_start);
    }
    const int replica = cluster_.Pick(turn++);
    if (replica < 0) {  // every replica down or paused: a client tries again
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    const uint64_t id = next_id_++;
    v1::SubmitIntakeRequest request;
    v1::Intake& intake = *request.mutable_intake();
    intake = templates_[id % templates_.size()];
    intake.set_careline_report_id(absl::StrCat("FO-", scenario_, "-", id));
    // Received just now: no deadline passes during the test (no escalations).
    const absl::Time now = absl::Now();
    *intake.mutable_received_at() = ToProtoTime(now - absl::Minutes(1));
    if (intake.missing().is_missing()) {
      *intake.mutable_missing()->mutable_missing_since() = ToProtoTime(now - absl::Hours(10));
    }
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::SubmitIntakeResponse response;
    SubmitCall call;
    call.replica = replica;
    call.started = std::chrono::steady_clock::now();
    const grpc::Status status = stubs[replica]->SubmitIntake(&context, request, &response);
    call.finished = std::chrono::steady_clock::now();
    call.code = status.error_code();
    if (status.ok()) partners_.EnsureFor(response.receipt());
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(call);
      if (status.ok()) receipts_.push_back(response.receipt());
    }
    if (!status.ok()) std::this_thread::sleep_for(kRetryPause);
  }
}

size_t IntakeLoad::acknowledged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return receipts_.size();
}

std::vector<v1::Receipt> IntakeLoad::Receipts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return receipts_;
}

std::vector<SubmitCall> IntakeLoad::Calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

FeedPartner::FeedPartner(ReplicaCluster& cluster, const std::string& agency_id,
                         int preferred_replica)
    : cluster_(cluster), agency_id_(agency_id), preferred_replica_(preferred_replica) {
  thread_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { WatchForSilence(); });
}

void FeedPartner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (open_stream_ != nullptr) open_stream_->TryCancel();
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

void FeedPartner::WatchForSilence() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // How often silence is looked for, not a synchronisation.
    stop_requested_.wait_for(lock, std::chrono::milliseconds(250));
    const auto heard = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_heard_.load()));
    if (open_stream_ != nullptr && std::chrono::steady_clock::now() - heard > kFeedSilenceLimit) {
      open_stream_->TryCancel();
      ++silent_streams_;
      Heard();  // once per silence
    }
  }
}

size_t FeedPartner::silent_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return silent_streams_;
}

void FeedPartner::Run() {
  bool first = true;
  while (!stopping_) {
    const int replica = cluster_.Pick(static_cast<size_t>(preferred_replica_));
    if (replica < 0) {  // every replica down or paused: try again shortly
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    if (!first) {
      std::lock_guard<std::mutex> lock(mu_);
      resumed_after_.push_back(cursor_);
    }
    first = false;
    Follow(replica);
    if (!stopping_) std::this_thread::sleep_for(kRetryPause);
  }
}

void FeedPartner::Follow(int replica) {
  auto stub = cluster_.replica(replica).Feed(agency_id_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kStreamDeadline);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    open_stream_ = &context;
    Heard();
  }
  v1::SubscribeRequest request;
  request.set_resume_after(cursor_);
  auto reader = stub->Subscribe(&context, request);
  uint64_t expected_next = cursor_ + 1;
  v1::FeedEvent event;
  while (reader->Read(&event)) {
    Heard();
    if (!event.has_delivery()) continue;  // a heartbeat
    const v1::ReferralDelivery& d = event.delivery();
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({event.sequence(), d.delivery_id(), d.referral_id(), d.kind(),
                       d.redelivery()});
      if (!d.redelivery() && event.sequence() != expected_next) {
        breaks_.push_back(absl::StrCat(agency_id_, " on ", ReplicaCluster::Name(replica),
                                       ": expected sequence ", expected_next, ", got ",
                                       event.sequence(), " (resumed after ", cursor_, ")"));
      }
    }
    if (!d.redelivery()) expected_next = event.sequence() + 1;
    // An acknowledgement that did not go through (the replica or the
    // database is going away): resubscribe from the cursor, which is only
    // moved past events acknowledged in full.
    if (!Acknowledge(*stub, d.delivery_id())) break;
    Heard();  // the acks took their time, not the stream
    if (!d.redelivery() && event.sequence() > cursor_) cursor_ = event.sequence();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_stream_ = nullptr;
  }
  context.TryCancel();
  reader->Finish();
}

bool FeedPartner::Acknowledge(v1::FeedService::Stub& stub, const std::string& delivery_id) {
  for (auto kind : {v1::Acknowledgement::RECEIVED, v1::Acknowledgement::ACCEPTED}) {
    v1::AcknowledgeRequest request;
    request.set_delivery_id(delivery_id);
    request.set_kind(kind);
    v1::AcknowledgeResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    const auto started = std::chrono::steady_clock::now();
    const grpc::Status status = stub.Acknowledge(&context, request, &response);
    std::lock_guard<std::mutex> lock(mu_);
    const auto took = std::chrono::steady_clock::now() - started;
    longest_ack_ = std::max(longest_ack_, took);
    ack_time_ += took;
    ++ack_calls_;
    if (status.ok()) continue;
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++failed_acks_;
    } else {
      unexpected_ack_failures_.push_back(absl::StrCat(
          "Acknowledge ", v1::Acknowledgement::Kind_Name(kind), " by ", agency_id_, " of ",
          delivery_id, " answered ", static_cast<int>(status.error_code())));
    }
    return false;
  }
  return true;
}

size_t FeedPartner::failed_acks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_acks_;
}

std::vector<std::string> FeedPartner::UnexpectedAckFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unexpected_ack_failures_;
}

std::chrono::steady_clock::duration FeedPartner::mean_ack() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ack_calls_ == 0 ? ack_time_ : ack_time_ / static_cast<int64_t>(ack_calls_);
}

std::chrono::steady_clock::duration FeedPartner::longest_ack() const {
  std::lock_guard<std::mutex> lock(mu_);
  return longest_ack_;
}

std::vector<FeedDeliverySeen> FeedPartner::Seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

std::set<std::string> FeedPartner::DeliveryIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> ids;
  for (const auto& s : seen_) ids.insert(s.delivery_id);
  return ids;
}

std::vector<uint64_t> FeedPartner::ResumedAfter() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resumed_after_;
}

std::vector<std::string> FeedPartner::ContinuityBreaks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return breaks_;
}

void FeedPartners::EnsureFor(const v1::Receipt& receipt) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& d : receipt.destinations()) EnsureLocked(d.agency_id());
}

void FeedPartners::Ensure(const std::string& agency_id) {
  std::lock_guard<std::mutex> lock(mu_);
  EnsureLocked(agency_id);
}

void FeedPartners::EnsureLocked(const std::string& agency_id) {
  if (!ReplicaCluster::IsFeedAgency(agency_id) || partners_.count(agency_id)) return;
  const int preferred = static_cast<int>(partners_.size() % static_cast<size_t>(cluster_.size()));
  partners_[agency_id] = std::make_unique<FeedPartner>(cluster_, agency_id, preferred);
}

FeedPartner* FeedPartners::Find(const std::string& agency_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partners_.find(agency_id);
  return it == partners_.end() ? nullptr : it->second.get();
}

std::vector<FeedPartner*> FeedPartners::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FeedPartner*> out;
  for (const auto& [id, partner] : partners_) out.push_back(partner.get());
  return out;
}

void FeedPartners::StopAll() {
  for (FeedPartner* partner : All()) partner->Stop();
}

}  // namespace hart::testing
