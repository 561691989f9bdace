#include "broker/reports/annual_counts.h"

#include <cstdint>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/reports/small_count_suppression.h"
#include "broker/routing/child_age.h"

namespace hart::reports {
namespace {

constexpr char kUnknown[] = "unknown";
constexpr uint32_t kUnknownRegion = UINT32_MAX;
const char* const kAgeBands[] = {"0-11", "12-14", "15-17", "18+", kUnknown};

// Appends one cell per (key, count) and returns their indices.
template <typename Map, typename KeyName>
std::vector<size_t> AddCells(std::vector<CountCell>& cells, const Map& counts, KeyName key_name) {
  std::vector<size_t> indices;
  for (const auto& [key, count] : counts) {
    indices.push_back(cells.size());
    cells.push_back({key_name(key), "", count});
  }
  return indices;
}

std::string RegionName(uint32_t region) {
  return region == kUnknownRegion ? kUnknown : absl::StrCat(region);
}

}  // namespace

std::string AgeBand(std::optional<int> age_years) {
  if (!age_years || *age_years < 0) return kUnknown;
  if (*age_years <= 11) return "0-11";
  if (*age_years <= 14) return "12-14";
  if (*age_years <= 17) return "15-17";
  return "18+";
}

AnnualCountsBuilder::AnnualCountsBuilder(absl::CivilYear year, const Geography& geography,
                                         uint32_t threshold)
    : year_(year), geography_(geography), threshold_(threshold) {
  // Every category is listed, zeros included; towns only when counted.
  for (int t = v1::TraffickingType::SEX; t <= v1::TraffickingType::UNDETERMINED; ++t) {
    by_type_[t] = 0;
  }
  std::set<uint32_t> regions;
  for (const cfg::Town* town : geography.towns()) regions.insert(town->region());
  for (uint32_t r : regions) by_region_[r] = 0;
  for (int k = v1::AgencyKind_MIN + 1; k <= v1::AgencyKind_MAX; ++k) by_kind_[k] = 0;
  for (const char* band : kAgeBands) by_age_[band] = 0;
  for (int g = v1::Gender::FEMALE; g <= v1::Gender::UNKNOWN; ++g) by_gender_[g] = 0;
}

void AnnualCountsBuilder::Add(const ReportReferral& referral) {
  if (referral.sealed_at) {
    ++sealed_;
    return;
  }
  const v1::Intake& intake = referral.intake;
  const v1::TraffickingType::Value type = intake.concern().trafficking_type();
  if (type == v1::TraffickingType::TRAFFICKING_TYPE_UNSPECIFIED) return;
  ++total_;
  ++by_type_[type];
  const cfg::Town* town = geography_.ResolveTown(referral.resolved_town);
  const uint32_t region = town != nullptr ? town->region() : kUnknownRegion;
  ++by_region_[region];
  ++by_town_[{region, town != nullptr ? town->name() : referral.resolved_town}];
  std::set<int> notified;
  for (const DeliveryRecord& d : referral.deliveries) {
    if (d.kind == v1::REFERRAL && d.delivered_at) notified.insert(d.agency_kind);
  }
  for (int kind : notified) ++by_kind_[kind];
  ++by_age_[AgeBand(ChildAgeYears(intake.child(), referral.received_at))];
  const v1::Gender::Value gender = intake.child().gender();
  ++by_gender_[gender == v1::Gender::GENDER_UNSPECIFIED ? v1::Gender::UNKNOWN : gender];
}

v1::AnnualCountsReport AnnualCountsBuilder::Finish() && {
  std::vector<CountCell> cells;
  std::vector<PublishedSum> sums;
  cells.push_back({"total", "", total_});
  const size_t total = 0;
  const auto types = AddCells(cells, by_type_, [](int t) {
    return v1::TraffickingType::Value_Name(static_cast<v1::TraffickingType::Value>(t));
  });
  const auto regions = AddCells(cells, by_region_, RegionName);
  // Each region is the sum of its towns.
  std::vector<size_t> towns;
  size_t region_cell = 0;
  for (const auto& region_entry : by_region_) {
    const uint32_t region = region_entry.first;
    PublishedSum region_sum{regions[region_cell++], {}};
    for (const auto& [key, count] : by_town_) {
      if (key.first != region) continue;
      region_sum.parts.push_back(cells.size());
      towns.push_back(cells.size());
      cells.push_back({key.second, RegionName(region), count});
    }
    sums.push_back(std::move(region_sum));
  }
  const auto kinds = AddCells(
      cells, by_kind_, [](int k) { return v1::AgencyKind_Name(static_cast<v1::AgencyKind>(k)); });
  std::vector<size_t> ages;  // in band order, not the map's
  for (const char* band : kAgeBands) {
    ages.push_back(cells.size());
    cells.push_back({band, "", by_age_[band]});
  }
  const auto genders = AddCells(cells, by_gender_, [](int g) {
    return v1::Gender::Value_Name(static_cast<v1::Gender::Value>(g));
  });
  const size_t sealed = cells.size();
  cells.push_back({"sealed", "", sealed_});
  // The total is the sum of each partition of the referrals.
  const std::vector<size_t>* partitions[] = {&types, &regions, &ages, &genders};
  for (const std::vector<size_t>* parts : partitions) sums.push_back({total, *parts});
  SuppressSmallCounts(cells, sums, threshold_);

  v1::AnnualCountsReport out;
  out.set_year(static_cast<uint32_t>(year_.year()));
  out.set_suppression_threshold(threshold_);
  *out.mutable_total() = ToProtoCount(cells[total]);
  for (size_t i : types) *out.add_by_trafficking_type() = ToProtoCount(cells[i]);
  for (size_t i : regions) *out.add_by_region() = ToProtoCount(cells[i]);
  for (size_t i : towns) *out.add_by_town() = ToProtoCount(cells[i]);
  for (size_t i : kinds) *out.add_by_agency_kind() = ToProtoCount(cells[i]);
  for (size_t i : ages) *out.add_by_age_band() = ToProtoCount(cells[i]);
  for (size_t i : genders) *out.add_by_gender() = ToProtoCount(cells[i]);
  *out.mutable_sealed_referrals_skipped() = ToProtoCount(cells[sealed]);
  return out;
}

}  // namespace hart::reports
