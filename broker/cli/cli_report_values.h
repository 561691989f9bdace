// Cell values shared by the text and CSV forms of `hartctl report`.
#pragma once

#include <cstdint>
#include <string>

#include "google/protobuf/duration.pb.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::cli {

// "12", "<5" or "*": a published count as printed.
std::string CountText(const hart::referral::v1::ReportCount& count, uint32_t threshold);
// "ON_TIME", "LATE", "NEVER_MADE", "NOT_YET_DUE".
std::string OutcomeText(hart::referral::v1::FederalNotification::Outcome outcome);
// "2026-03".
std::string MonthText(const hart::referral::v1::ReportMonth& month);

}  // namespace hart::cli
