// The periods compliance reports cover: calendar months and years in
// Connecticut's time zone (America/New_York), as [from, to) instants.
#pragma once

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

namespace v1 = ::hart::referral::v1;

inline constexpr char kReportTimeZone[] = "America/New_York";
// The most months one report covers, so its answer stays a bounded message.
inline constexpr int kMaxReportMonths = 12;

// America/New_York; FAILED_PRECONDITION if the system has no tzdata.
absl::StatusOr<absl::TimeZone> LoadReportTimeZone();

// An instant range [from, to).
struct Period {
  absl::Time from;
  absl::Time to;
};

// From the first instant of `first` to the first instant after `last`.
Period MonthsPeriod(absl::CivilMonth first, absl::CivilMonth last, absl::TimeZone zone);
Period YearPeriod(absl::CivilYear year, absl::TimeZone zone);

absl::CivilMonth MonthOf(absl::Time t, absl::TimeZone zone);
v1::ReportMonth ToProtoMonth(absl::CivilMonth month);
// "2026-03".
std::string FormatMonth(absl::CivilMonth month);
// "2026-03" as a month; INVALID_ARGUMENT saying how to write one otherwise.
absl::StatusOr<v1::ReportMonth> ParseReportMonth(const std::string& text);

// `first`..`last` checked (both set, real months, in order, at most
// kMaxReportMonths); INVALID_ARGUMENT with one field violation per problem,
// fields named under `field_prefix` (e.g. "missingFromCare").
absl::StatusOr<std::pair<absl::CivilMonth, absl::CivilMonth>> ValidateMonths(
    const v1::ReportMonth& first, const v1::ReportMonth& last, bool has_first, bool has_last,
    const std::string& field_prefix);
// INVALID_ARGUMENT unless `year` is between 2000 and 2199.
absl::StatusOr<absl::CivilYear> ValidateYear(uint32_t year, const std::string& field);

}  // namespace hart::reports
