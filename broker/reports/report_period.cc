#include "broker/reports/report_period.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/common/field_violations.h"

namespace hart::reports {
namespace {

constexpr uint32_t kFirstYear = 2000;
constexpr uint32_t kLastYear = 2199;

bool ValidMonth(const v1::ReportMonth& m) {
  return m.year() >= kFirstYear && m.year() <= kLastYear && m.month() >= 1 && m.month() <= 12;
}

absl::CivilMonth ToCivil(const v1::ReportMonth& m) {
  return absl::CivilMonth(static_cast<int64_t>(m.year()), static_cast<int>(m.month()));
}

}  // namespace

absl::StatusOr<absl::TimeZone> LoadReportTimeZone() {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(kReportTimeZone, &zone)) {
    return absl::FailedPreconditionError(
        absl::StrCat("reports count months in ", kReportTimeZone,
                     ", which this host cannot load: install the tzdata package"));
  }
  return zone;
}

Period MonthsPeriod(absl::CivilMonth first, absl::CivilMonth last, absl::TimeZone zone) {
  return {absl::FromCivil(first, zone), absl::FromCivil(last + 1, zone)};
}

Period YearPeriod(absl::CivilYear year, absl::TimeZone zone) {
  return {absl::FromCivil(year, zone), absl::FromCivil(year + 1, zone)};
}

absl::CivilMonth MonthOf(absl::Time t, absl::TimeZone zone) {
  return absl::CivilMonth(absl::ToCivilSecond(t, zone));
}

v1::ReportMonth ToProtoMonth(absl::CivilMonth month) {
  v1::ReportMonth out;
  out.set_year(static_cast<uint32_t>(month.year()));
  out.set_month(static_cast<uint32_t>(month.month()));
  return out;
}

std::string FormatMonth(absl::CivilMonth month) {
  return absl::StrCat(month.year(), month.month() < 10 ? "-0" : "-", month.month());
}

absl::StatusOr<v1::ReportMonth> ParseReportMonth(const std::string& text) {
  absl::CivilMonth month;
  if (text.size() != 7 || !absl::ParseCivilTime(text, &month) || FormatMonth(month) != text) {
    return absl::InvalidArgumentError("'" + text + "' is not a month; write YYYY-MM, e.g. 2026-03");
  }
  return ToProtoMonth(month);
}

absl::StatusOr<std::pair<absl::CivilMonth, absl::CivilMonth>> ValidateMonths(
    const v1::ReportMonth& first, const v1::ReportMonth& last, bool has_first, bool has_last,
    const std::string& field_prefix) {
  std::vector<FieldViolation> violations;
  const std::string real_month =
      absl::StrCat("must be a month: year ", kFirstYear, " to ", kLastYear, ", month 1 to 12");
  if (!has_first || !ValidMonth(first)) {
    violations.push_back({field_prefix + ".firstMonth", real_month});
  }
  if (!has_last || !ValidMonth(last)) {
    violations.push_back({field_prefix + ".lastMonth", real_month});
  }
  if (violations.empty()) {
    const absl::CivilMonth from = ToCivil(first);
    const absl::CivilMonth to = ToCivil(last);
    if (to < from) {
      violations.push_back({field_prefix + ".lastMonth", "must not be before firstMonth"});
    } else if (to - from >= kMaxReportMonths) {
      violations.push_back({field_prefix + ".lastMonth",
                            absl::StrCat("a report covers at most ", kMaxReportMonths,
                                         " months; ask for the rest in another report")});
    } else {
      return std::make_pair(from, to);
    }
  }
  return InvalidArgumentWithViolations("the report's period is not valid", violations);
}

absl::StatusOr<absl::CivilYear> ValidateYear(uint32_t year, const std::string& field) {
  if (year < kFirstYear || year > kLastYear) {
    return InvalidArgumentWithViolations(
        "the report's year is not valid",
        {{field, absl::StrCat("must be a year from ", kFirstYear, " to ", kLastYear)}});
  }
  return absl::CivilYear(static_cast<int64_t>(year));
}

}  // namespace hart::reports
