#include "broker/routing/child_age.h"

namespace hart {

bool ParseCalendarDate(const std::string& text, absl::CivilDay* day) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  if (!absl::ParseCivilTime(text, day)) return false;
  // ParseCivilTime normalises 2026-02-30 to March; reject such dates.
  return absl::FormatCivilTime(*day) == text;
}

std::optional<int> ChildAgeYears(const hart::referral::v1::Child& child,
                                 absl::Time at) {
  absl::CivilDay birth;
  if (!child.date_of_birth().empty() &&
      ParseCalendarDate(child.date_of_birth(), &birth)) {
    const absl::CivilDay today = absl::ToCivilDay(at, absl::UTCTimeZone());
    int age = static_cast<int>(today.year() - birth.year());
    if (today.month() < birth.month() ||
        (today.month() == birth.month() && today.day() < birth.day())) {
      --age;
    }
    return age;
  }
  if (child.has_age_years()) return child.age_years();
  return std::nullopt;
}

}  // namespace hart
