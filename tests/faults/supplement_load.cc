#include "tests/faults/supplement_load.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"

namespace hart::testing {
namespace {

// Pacing (not synchronisation): after a failed call, and while no intake
// is acknowledged yet to supplement.
constexpr auto kRetryPause = std::chrono::milliseconds(100);
// How long the deliveries of acknowledged supplements get to arrive.
constexpr auto kArrivalBound = std::chrono::seconds(40);

}  // namespace

SupplementLoad::SupplementLoad(ReplicaCluster& cluster, FeedPartners& partners,
                               const IntakeLoad& intakes, const std::string& scenario)
    : cluster_(cluster), partners_(partners), intakes_(intakes), scenario_(scenario) {
  thread_ = std::thread([this] { Run(); });
}

void SupplementLoad::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<SupplementAck> SupplementLoad::Acked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return acked_;
}

void SupplementLoad::Run() {
  std::vector<std::unique_ptr<v1::IntakeService::Stub>> stubs;
  for (int i = 0; i < cluster_.size(); ++i) stubs.push_back(cluster_.replica(i).Intake());
  size_t next = 0;  // the next receipt of the round to supplement
  size_t turn = 0;
  while (!stopping_) {
    const std::vector<v1::Receipt> receipts = intakes_.Receipts();
    if (next >= receipts.size()) {
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    const v1::Receipt& receipt = receipts[next];
    v1::SupplementIntakeRequest request;
    request.set_referral_id(receipt.referral_id());
    v1::Supplement& supplement = *request.mutable_supplement();
    supplement.set_supplement_id(absl::StrCat("SUP-", scenario_, "-", next));
    // Before the broker's now even after the clock rounds' steps back
    // (the bench keeps the broker's clock ahead of the wall clock).
    *supplement.mutable_received_at() = ToProtoTime(absl::Now() - absl::Seconds(30));
    supplement.set_narrative_addendum("Follow-up call: the school counselor reported more.");
    const int replica = cluster_.Pick(turn++);
    if (replica < 0) {
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::SupplementIntakeResponse response;
    const grpc::Status status = stubs[static_cast<size_t>(replica)]->SupplementIntake(
        &context, request, &response);
    if (!status.ok()) {  // the same supplement id again: it is the idempotency key
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    partners_.EnsureFor(response.receipt());
    std::lock_guard<std::mutex> lock(mu_);
    acked_.push_back({receipt.referral_id(), supplement.supplement_id(), response});
    ++next;
  }
}

bool ReachedPartner(const FeedPartners& feeds, const WebhookPartner& webhook,
                    const std::string& agency_id, const std::string& delivery_id) {
  if (!ReplicaCluster::IsFeedAgency(agency_id)) {
    for (const WebhookPost& post : webhook.Posts()) {
      if (post.delivery_id == delivery_id) return true;
    }
    return false;
  }
  const FeedPartner* partner = feeds.Find(agency_id);
  return partner != nullptr && partner->DeliveryIds().count(delivery_id) > 0;
}

SupplementReport CheckSupplements(ReplicaCluster& cluster, const FeedPartners& feeds,
                                  const WebhookPartner& webhook,
                                  const std::vector<SupplementAck>& acked) {
  SupplementReport report;
  report.acknowledged = acked.size();
  std::vector<std::pair<std::string, std::string>> expected;  // agency, delivery id
  size_t turn = 0;
  for (const SupplementAck& ack : acked) {
    v1::GetReferralRequest request;
    request.set_referral_id(ack.referral_id);
    v1::ReferralStatus stored;
    // Not OK until a call answered OK (a default grpc::Status is OK).
    grpc::Status status(grpc::StatusCode::UNAVAILABLE, "no replica to ask");
    for (int attempt = 0; attempt < 3 && !status.ok(); ++attempt) {
      const int replica = cluster.Pick(turn++);
      if (replica < 0) break;
      stored.Clear();
      status = cluster.replica(replica).Supervisor()->GetReferral(CallContext().get(), request,
                                                                  &stored);
    }
    if (!status.ok()) {
      ++report.lost;
      report.problems.push_back(absl::StrCat("supplement ", ack.supplement_id, ": GetReferral ",
                                             static_cast<int>(status.error_code())));
      continue;
    }
    for (const std::string& agency : ack.response.updated_agency_ids()) {
      std::string update;
      for (const auto& d : stored.deliveries()) {
        if (d.kind() == v1::UPDATE && d.agency_id() == agency) update = d.delivery_id();
      }
      if (update.empty()) {
        ++report.lost;
        report.problems.push_back(absl::StrCat("supplement ", ack.supplement_id, ": no UPDATE to ",
                                               agency, " stored"));
        continue;
      }
      ++report.updates;
      expected.emplace_back(agency, update);
    }
    for (const std::string& agency : ack.response.new_agency_ids()) {
      for (const auto& d : ack.response.receipt().destinations()) {
        if (d.agency_id() == agency) expected.emplace_back(agency, d.delivery_id());
      }
    }
  }
  PollFor(
      [&] {
        for (const auto& [agency, id] : expected) {
          if (!ReachedPartner(feeds, webhook, agency, id)) return false;
        }
        return true;
      },
      kArrivalBound, std::chrono::milliseconds(200));
  for (const auto& [agency, id] : expected) {
    if (ReachedPartner(feeds, webhook, agency, id)) continue;
    ++report.lost;
    report.problems.push_back(absl::StrCat("supplement delivery ", id, " never reached ", agency));
  }
  return report;
}

}  // namespace hart::testing
