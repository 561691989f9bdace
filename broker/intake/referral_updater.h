// Re-routing a stored referral when its facts change (a supplement) or time
// passes (a durable timer fires): agencies chosen for the first time get the
// referral; agencies that already have it get an UPDATE naming what changed
// within their view and which rules newly apply; pending timers are replaced
// by the ones the new facts call for.
//
// Thread safety: safe to share; holds only references to immutable parts.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/acks/ladders.h"
#include "broker/routing/geography.h"
#include "broker/common/ids.h"
#include "broker/records.h"
#include "broker/routing/router.h"
#include "broker/views/view_builder.h"

namespace hart {

struct PlannedChange {
  ReferralChange change;
  std::vector<std::string> new_agency_ids;
  std::vector<std::string> updated_agency_ids;
};

class ReferralUpdater {
 public:
  // Every reference must outlive the updater.
  // NoLadders schedules no escalation ladders.
  ReferralUpdater(const Geography& geography, const Router& router, const ViewBuilder& views,
                  IdGenerator& ids, const Ladders& ladders)
      : geography_(geography), router_(router), views_(views), ids_(ids), ladders_(ladders) {}

  // `changed_fields`: intake paths the change touched (empty for a timer).
  absl::StatusOr<PlannedChange> Plan(const ReferralRecord& referral,
                                     const std::vector<DeliveryWithAcks>& deliveries,
                                     const v1::Intake& new_intake,
                                     const std::vector<std::string>& changed_fields,
                                     absl::Time now, const std::string& actor) const;

 private:
  const Geography& geography_;
  const Router& router_;
  const ViewBuilder& views_;
  IdGenerator& ids_;
  const Ladders& ladders_;
};

// The timers a routing decision asks for.
std::vector<TimerRecord> TimersFor(const RoutingDecision& decision, const std::string& referral_id,
                                   IdGenerator& ids);

}  // namespace hart
