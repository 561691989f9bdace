// What compliance reports (broker/reports/) read from the Store: referrals
// received in a period, page by page, each with its facts and deliveries.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

// Referrals received (intake received_at) in [received_from, received_to),
// oldest first: ordered by (received_at, referral_id), strictly after
// `after` when set, at most `limit` of them.
struct ReportPageQuery {
  absl::Time received_from;
  absl::Time received_to;
  std::optional<std::pair<absl::Time, std::string>> after;
  size_t limit = 500;
  // False: the intakes are not read (nor opened); `intake` stays empty.
  bool with_intake = true;
};

// One referral as a report sees it.
struct ReportReferral {
  std::string referral_id;
  absl::Time received_at;
  absl::Time accepted_at;
  std::string resolved_town;
  // Set once sealed by court order: `intake` is then empty for good.
  std::optional<absl::Time> sealed_at;
  // The facts as they stand now (supplements included). PII: reports keep
  // it in memory only to count and classify.
  v1::Intake intake;
  // Every delivery of the referral, in creation order.
  std::vector<DeliveryRecord> deliveries;
  // Below the envelope layer only: the intake sealed under the referral's
  // data key, and that key wrapped (empty when sealed or not asked for).
  std::string sealed_intake;
  WrappedDataKey data_key;
};

}  // namespace hart
