// Annual counts of trafficking referrals (SPEC §10): referrals received in
// the year whose trafficking type is set, by their facts as they stand now,
// by trafficking type, region, town, agency kind notified, age band and
// gender, with small counts suppressed (small_count_suppression.h).
// Referrals are added one at a time as the store's pages arrive: only the
// counts are kept.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/civil_time.h"
#include "broker/report_records.h"
#include "broker/routing/geography.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

namespace v1 = ::hart::referral::v1;

// "0-11", "12-14", "15-17", "18+" (DCF-involved young adults), "unknown".
std::string AgeBand(std::optional<int> age_years);

class AnnualCountsBuilder {
 public:
  // `geography` (regions of towns) must outlive the builder.
  AnnualCountsBuilder(absl::CivilYear year, const Geography& geography, uint32_t threshold);

  void Add(const ReportReferral& referral);

  v1::AnnualCountsReport Finish() &&;

 private:
  const absl::CivilYear year_;
  const Geography& geography_;
  const uint32_t threshold_;
  uint32_t total_ = 0;
  uint32_t sealed_ = 0;
  std::map<int, uint32_t> by_type_;
  // Region numbers; a town the config no longer has counts under
  // kUnknownRegion (listed last).
  std::map<uint32_t, uint32_t> by_region_;
  // (region, town) -> count.
  std::map<std::pair<uint32_t, std::string>, uint32_t> by_town_;
  std::map<int, uint32_t> by_kind_;
  std::map<std::string, uint32_t> by_age_;
  std::map<int, uint32_t> by_gender_;
};

}  // namespace hart::reports
