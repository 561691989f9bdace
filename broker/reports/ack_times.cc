#include "broker/reports/ack_times.h"

#include <algorithm>
#include <cmath>

#include "broker/common/time_util.h"

namespace hart::reports {

absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted, double p) {
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : std::min(sorted.size(), static_cast<size_t>(rank)) - 1;
  return sorted[index];
}

void AckTimesBuilder::Add(const ReportReferral& referral) {
  for (const DeliveryRecord& d : referral.deliveries) {
    // A delivery stopped by sealing never went out: nobody could accept it.
    if (d.kind != v1::REFERRAL || d.state == v1::SEALED) continue;
    KindTally& tally = by_kind_[d.agency_kind];
    v1::AckTimesByKind& c = tally.counts;
    c.set_deliveries(c.deliveries() + 1);
    if (d.state == v1::ACKNOWLEDGED && d.acknowledged_at) {
      c.set_accepted(c.accepted() + 1);
      if (*d.acknowledged_at <= d.ack_deadline) {
        c.set_accepted_within_deadline(c.accepted_within_deadline() + 1);
      }
      tally.accepted_after.push_back(
          std::max(absl::ZeroDuration(), *d.acknowledged_at - d.created_at));
    } else if (now_ <= d.ack_deadline && d.state != v1::DECLINED && d.state != v1::DEAD) {
      c.set_still_open(c.still_open() + 1);
    }
  }
}

std::vector<v1::AckTimesByKind> AckTimesBuilder::Finish() && {
  std::vector<v1::AckTimesByKind> out;
  for (auto& [kind, tally] : by_kind_) {
    v1::AckTimesByKind& c = tally.counts;
    c.set_agency_kind(static_cast<v1::AgencyKind>(kind));
    std::vector<absl::Duration>& times = tally.accepted_after;
    if (!times.empty()) {
      std::sort(times.begin(), times.end());
      *c.mutable_median() = ToProtoDuration(NearestRankPercentile(times, 50));
      *c.mutable_p90() = ToProtoDuration(NearestRankPercentile(times, 90));
    }
    const uint32_t decided = c.deliveries() - c.still_open();
    if (decided > 0) {
      c.set_share_within_deadline(static_cast<double>(c.accepted_within_deadline()) / decided);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace hart::reports
