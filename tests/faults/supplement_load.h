// Supplements in a fault round's load: a careline client that sends one
// supplement (new facts: a narrative addendum, so every destination gets an
// UPDATE message) for each intake the round's IntakeLoad got acknowledged,
// retrying the same supplement id after a failure (the idempotency key),
// alongside the intakes and the partners' acknowledgements. CheckSupplements
// then holds every acknowledged supplement to what intakes are held to.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/failover_checks.h"

namespace hart::testing {

struct SupplementAck {
  std::string referral_id;
  std::string supplement_id;
  v1::SupplementIntakeResponse response;
};

class SupplementLoad {
 public:
  SupplementLoad(ReplicaCluster& cluster, FeedPartners& partners, const IntakeLoad& intakes,
                 const std::string& scenario);
  ~SupplementLoad() { Stop(); }
  void Stop();
  std::vector<SupplementAck> Acked() const;

 private:
  void Run();

  ReplicaCluster& cluster_;
  FeedPartners& partners_;
  const IntakeLoad& intakes_;
  const std::string scenario_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<SupplementAck> acked_;
  std::thread thread_;
};

struct SupplementReport {
  size_t acknowledged = 0;
  size_t updates = 0;  // UPDATE messages the acknowledged supplements made
  size_t lost = 0;     // an updated agency without its UPDATE, or one not delivered
  std::vector<std::string> problems;  // ids only
};

// Every acknowledged supplement: each agency its response names as updated
// has an UPDATE delivery of the referral (SupervisorService.GetReferral),
// and that delivery, like each new agency's REFERRAL delivery, reached its
// partner (feed or webhook) within a bounded wait.
SupplementReport CheckSupplements(ReplicaCluster& cluster, const FeedPartners& feeds,
                                  const WebhookPartner& webhook,
                                  const std::vector<SupplementAck>& acked);

// Whether `delivery_id` reached `agency_id`'s partner (feed or webhook).
bool ReachedPartner(const FeedPartners& feeds, const WebhookPartner& webhook,
                    const std::string& agency_id, const std::string& delivery_id);

}  // namespace hart::testing
