// What a failover scenario must show once its fault is over, checked from
// the outside (receipts, the partners' view, SupervisorService), with
// bounded waits: every acknowledged intake is stored with the deliveries its
// receipt listed, and each of those reached its partner; duplicates only
// ever repeat a delivery id; the broker recorded every delivery and
// acknowledgement; no feed skips a sequence number; no call hung.
#pragma once

#include <string>
#include <vector>

#include "tests/e2e/failover_traffic.h"

namespace hart::testing {

struct ScenarioReport {
  std::string scenario;
  size_t acknowledged = 0;      // SubmitIntake calls answered OK
  size_t failed_calls = 0;      // answered UNAVAILABLE or DEADLINE_EXCEEDED:
  size_t deadline_exceeded = 0;  // of which DEADLINE_EXCEEDED
  size_t lost = 0;              // acknowledged, but missing or not delivered
  size_t unsettled = 0;         // reached its partner, but not DELIVERED / ACKNOWLEDGED
  size_t duplicates = 0;        // extra receptions of a delivery id already received
  size_t conflicting_ids = 0;   // one referral reached one agency under two delivery ids
  size_t feed_gaps = 0;         // sequence numbers a feed partner skipped
  size_t failed_acks = 0;       // feed Acknowledge calls failed UNAVAILABLE / DEADLINE_EXCEEDED
  size_t unexpected_codes = 0;  // failures (intakes, acks) other than those two
  size_t hung_calls = 0;        // calls (intakes, acks) that outlived their deadline
  double max_call_s = 0;
  double recover_s = -1;    // fault -> every live replica took an intake again
  std::string recover_by_replica;  // e.g. "replica-a 0.12s, replica-b 2.31s"
  // Load stopped -> every acknowledged delivery had reached its partner.
  double drain_s = -1;
  std::vector<std::string> problems;  // ids and codes only: no PII
};

// Waits (bounded) for the deliveries, then checks everything above. Call it
// once the load stopped. `fault_at`: when the fault was injected.
ScenarioReport CheckScenario(const std::string& scenario, ReplicaCluster& cluster,
                             const IntakeLoad& load, const FeedPartners& feeds,
                             const WebhookPartner& webhook, SteadyTime fault_at);

// The report as a small table on stdout.
void PrintReport(const ScenarioReport& report);

// Fails the test for every check the report says failed.
void ExpectClean(const ScenarioReport& report);

}  // namespace hart::testing
