#include "broker/intake/intake_validator.h"

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"
#include "broker/routing/child_age.h"

namespace hart {
namespace {

namespace v1 = ::hart::referral::v1;

class Violations {
 public:
  void Add(std::string field, std::string description) {
    list_.push_back({std::move(field), std::move(description)});
  }
  void MaxBytes(const std::string& field, const std::string& value, size_t max) {
    if (value.size() > max) {
      Add(field, absl::StrCat("is ", value.size(), " bytes; at most ", max,
                              " are allowed"));
    }
  }
  std::vector<FieldViolation> Take() && { return std::move(list_); }

 private:
  std::vector<FieldViolation> list_;
};

bool IsValidReportId(const std::string& id) {
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsValidTimestamp(const google::protobuf::Timestamp& ts) {
  // The protobuf Timestamp range, 0001-01-01 to 9999-12-31.
  return ts.seconds() >= -62135596800 && ts.seconds() <= 253402300799 &&
         ts.nanos() >= 0 && ts.nanos() < 1000000000;
}

void ValidateReporter(const v1::Intake& intake, Violations* v) {
  if (!intake.has_reporter()) {
    v->Add("reporter", "is required (at least the reporter's role)");
    return;
  }
  const auto& r = intake.reporter();
  // Name, phone and organization stay optional for every role: a caller
  // who will not give a name must never get a report about a child refused.
  if (r.role() == v1::Reporter::ROLE_UNSPECIFIED) {
    v->Add("reporter.role", "is required; use ANONYMOUS if the reporter gave no identity");
  }
  v->MaxBytes("reporter.name", r.name(), kMaxNameBytes);
  v->MaxBytes("reporter.phone", r.phone(), kMaxShortTextBytes);
  v->MaxBytes("reporter.organization", r.organization(), kMaxNameBytes);
}

void ValidateChild(const v1::Intake& intake, const Geography& geography,
                   absl::Time now, Violations* v) {
  if (!intake.has_child()) {
    v->Add("child", "is required (at least town, dcfInvolved and dateOfBirth or ageYears)");
    return;
  }
  const auto& c = intake.child();
  v->MaxBytes("child.givenName", c.given_name(), kMaxNameBytes);
  v->MaxBytes("child.familyName", c.family_name(), kMaxNameBytes);
  v->MaxBytes("child.dcfCaseId", c.dcf_case_id(), kMaxShortTextBytes);
  if (c.town().empty()) {
    v->Add("child.town", "is required: the Connecticut town where the child is");
  } else if (c.town().size() > kMaxNameBytes) {
    v->MaxBytes("child.town", c.town(), kMaxNameBytes);
  } else if (geography.ResolveTown(c.town()) == nullptr) {
    v->Add("child.town", "is not a Connecticut town or village the broker knows; "
                         "check the spelling or use the municipality's name");
  }
  bool age_known = false;
  if (!c.date_of_birth().empty()) {
    absl::CivilDay birth;
    if (!ParseCalendarDate(c.date_of_birth(), &birth)) {
      v->Add("child.dateOfBirth", "must be a calendar date written YYYY-MM-DD");
    } else if (absl::FromCivil(birth, absl::UTCTimeZone()) > now + kAllowedClockSkew) {
      v->Add("child.dateOfBirth", "is in the future");
    } else {
      age_known = true;
    }
  }
  if (c.has_age_years()) {
    if (c.age_years() < 0 || c.age_years() > 25) {
      v->Add("child.ageYears", "must be between 0 and 25");
    } else {
      age_known = true;
    }
  }
  if (c.date_of_birth().empty() && !c.has_age_years()) {
    v->Add("child", "needs dateOfBirth or ageYears");
  }
  if (!c.has_dcf_involved()) {
    v->Add("child.dcfInvolved", "is required (true or false)");
  }
  if (age_known && c.has_dcf_involved() && !c.dcf_involved() &&
      intake.has_received_at() && IsValidTimestamp(intake.received_at())) {
    const auto age = ChildAgeYears(c, FromProtoTime(intake.received_at()));
    if (age && *age >= 18) {
      v->Add("child.dcfInvolved",
             "the person is 18 or older and not DCF-involved, so DCF cannot take "
             "this referral; refer the caller to the National Human Trafficking "
             "Hotline, 1-888-373-7888");
    }
  }
}

void ValidateConcern(const v1::Intake& intake, Violations* v) {
  if (!intake.has_concern()) {
    v->Add("concern", "is required (it may be empty: {})");
    return;
  }
  const auto& c = intake.concern();
  // trafficking_type may be unset: a child missing from care is reported
  // before anyone suspects trafficking; a supplement adds it later.
  for (int i = 0; i < c.red_flags_size(); ++i) {
    if (c.red_flags(i) == v1::RedFlag::RED_FLAG_UNSPECIFIED) {
      v->Add(absl::StrCat("concern.redFlags[", i, "]"), "must name a red flag");
    }
  }
  for (int i = 0; i < c.venues_size(); ++i) {
    if (c.venues(i) == v1::Venue::VENUE_UNSPECIFIED) {
      v->Add(absl::StrCat("concern.venues[", i, "]"), "must name a venue");
    }
  }
  v->MaxBytes("concern.narrative", c.narrative(), kMaxNarrativeBytes);
}

void ValidateMissing(const v1::Intake& intake, absl::Time now, Violations* v) {
  const auto& m = intake.missing();
  if (!m.has_missing_since()) return;
  if (!m.is_missing()) {
    v->Add("missing.missingSince",
           "is set but missing.isMissing is false; set isMissing to true or "
           "remove missingSince");
  }
  if (!IsValidTimestamp(m.missing_since())) {
    v->Add("missing.missingSince", "is not a valid time");
  } else if (FromProtoTime(m.missing_since()) > now + kAllowedClockSkew) {
    v->Add("missing.missingSince", "is in the future");
  }
}

}  // namespace

std::vector<FieldViolation> ValidateIntake(const v1::Intake& intake,
                                           const Geography& geography,
                                           absl::Time now) {
  Violations v;
  const size_t size = intake.ByteSizeLong();
  if (size > kMaxIntakeBytes) {
    v.Add("intake", absl::StrCat("is ", size, " bytes; an intake may be at most ",
                                 kMaxIntakeBytes, " bytes (1 MiB)"));
  }
  if (intake.careline_report_id().empty()) {
    v.Add("carelineReportId", "is required: the Careline's unique report id");
  } else if (intake.careline_report_id().size() > kMaxShortTextBytes) {
    v.MaxBytes("carelineReportId", intake.careline_report_id(), kMaxShortTextBytes);
  } else if (!IsValidReportId(intake.careline_report_id())) {
    v.Add("carelineReportId", "may contain only letters, digits, '-', '_' and '.'");
  }
  if (!intake.has_received_at()) {
    v.Add("receivedAt", "is required: when the Careline received the report (RFC 3339)");
  } else if (!IsValidTimestamp(intake.received_at())) {
    v.Add("receivedAt", "is not a valid time");
  } else if (FromProtoTime(intake.received_at()) > now + kAllowedClockSkew) {
    v.Add("receivedAt", "is in the future");
  } else if (FromProtoTime(intake.received_at()) < kEarliestReceivedAt) {
    // A default or mistyped date: its deadlines would all be long past.
    v.Add("receivedAt", "is before 2000-01-01; give the date the Careline received the report");
  }
  ValidateReporter(intake, &v);
  ValidateChild(intake, geography, now, &v);
  ValidateConcern(intake, &v);
  ValidateMissing(intake, now, &v);
  return std::move(v).Take();
}

}  // namespace hart
