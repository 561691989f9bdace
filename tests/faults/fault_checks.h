// The checks a fault round adds to CheckScenario (tests/e2e/failover_checks.h):
// escalation ladder steps neither run twice nor skipped, and no plaintext
// PII in the raw store. All findings are ids and counts only.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "tests/e2e/replica_cluster.h"

namespace hart::testing {

struct LadderReport {
  size_t steps = 0;          // "delivery.escalated" entries seen
  size_t steps_twice = 0;    // one delivery's step recorded more than once
  size_t steps_skipped = 0;  // step k recorded, an earlier step not
  // Past its ack deadline (by a margin) without ACCEPTED, yet no step 1.
  size_t overdue_without_step = 0;
  // Recorded (broker time) before the delivery's ack deadline: fired early.
  size_t steps_early = 0;
  std::vector<std::string> problems;
};

// Reads every delivery of the receipts' referrals (SupervisorService
// GetReferral through a live replica) and its timeline. `clock_offset`:
// what the brokers' clock seam adds to the wall clock (their "now" is the
// one deadlines are compared with). Sealed referrals' ladders stop, so
// they are not held to "overdue".
LadderReport CheckLadderSteps(ReplicaCluster& cluster, const std::vector<v1::Receipt>& receipts,
                              absl::Duration clock_offset = absl::ZeroDuration());

// The PII of the intakes the load submits (names, phone, birth date, case
// id, narrative) that occurs in any file under `paths` (files or
// directories, searched byte for byte): one line per finding, naming the
// file and which field, never the value. Fields in `ignored` are not
// searched for.
struct PiiFinding {
  std::string file;
  std::string field;  // e.g. "urgent-hotel-bridgeport reporter phone"
};
std::vector<PiiFinding> FindPlaintextPii(const std::vector<std::string>& paths,
                                         const std::set<std::string>& ignored = {});

}  // namespace hart::testing
