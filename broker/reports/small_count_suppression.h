// Small-count suppression, so that published counts cannot re-identify a
// child (SPEC §10). Two steps:
//  1. Primary: every count from 1 to threshold - 1 is suppressed
//     (BELOW_THRESHOLD, shown as "<5"). Zero is published: it identifies
//     nobody.
//  2. Complementary: a published sum (a total and the counts that add up to
//     it, e.g. all referrals = the sum over trafficking types, a region =
//     the sum over its towns) must not have exactly one suppressed member,
//     or that member is the total minus the others. While one has, the
//     smallest other non-zero published count of it is suppressed too
//     (COMPLEMENTARY, shown as "*"; its total only if no count is left).
//     Suppressing one member can break another sum, so this repeats until
//     every sum has none or at least two suppressed members.
// Counts that add up to nothing published (agency kinds notified: one
// referral notifies several) need only step 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

namespace v1 = ::hart::referral::v1;

struct CountCell {
  std::string key;
  std::string group;  // towns: their region
  uint32_t count = 0;
  v1::ReportCount::Suppression suppression = v1::ReportCount::NOT_SUPPRESSED;
};

// cells[total] = the sum of cells[parts[i]] (indices into the cells).
struct PublishedSum {
  size_t total = 0;
  std::vector<size_t> parts;
};

// Marks `cells` as above. `threshold` 0 or 1 suppresses nothing.
void SuppressSmallCounts(std::vector<CountCell>& cells, const std::vector<PublishedSum>& sums,
                         uint32_t threshold);

// The cell as published: no count when suppressed.
v1::ReportCount ToProtoCount(const CountCell& cell);

}  // namespace hart::reports
