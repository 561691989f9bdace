#include "broker/cli/cli_report_values.h"

#include "absl/strings/str_cat.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

std::string CountText(const v1::ReportCount& count, uint32_t threshold) {
  switch (count.suppression()) {
    case v1::ReportCount::BELOW_THRESHOLD: return absl::StrCat("<", threshold);
    case v1::ReportCount::COMPLEMENTARY: return "*";
    default: return absl::StrCat(count.count());
  }
}

std::string OutcomeText(v1::FederalNotification::Outcome outcome) {
  return v1::FederalNotification::Outcome_Name(outcome);
}

std::string MonthText(const v1::ReportMonth& month) {
  return absl::StrCat(month.year(), month.month() < 10 ? "-0" : "-", month.month());
}

}  // namespace hart::cli
