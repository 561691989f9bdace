#include "broker/intake/intake_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/common/time_util.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using hart::testing::ConnecticutConfig;
using hart::testing::LoadIntake;
using hart::testing::TestNow;

class IntakeValidatorTest : public ::testing::Test {
 protected:
  IntakeValidatorTest() {
    std::vector<std::string> problems;
    geography_ = Geography::Build(ConnecticutConfig(), &problems);
  }
  std::vector<FieldViolation> Validate(const v1::Intake& intake) {
    return ValidateIntake(intake, geography_, TestNow());
  }
  std::vector<std::string> Fields(const v1::Intake& intake) {
    std::vector<std::string> fields;
    for (const auto& v : Validate(intake)) fields.push_back(v.field);
    return fields;
  }
  Geography geography_;
};

TEST_F(IntakeValidatorTest, EveryValidExampleIsAccepted) {
  for (const char* name : {"school-sex-trafficking-hartford", "missing-from-foster-care-new-haven",
                           "labor-trafficking-waterbury", "urgent-hotel-bridgeport"}) {
    EXPECT_THAT(Validate(LoadIntake(name)), IsEmpty()) << name;
  }
}

TEST_F(IntakeValidatorTest, RejectsTheInvalidExampleNamingTheHotline) {
  const auto violations = Validate(LoadIntake("invalid-adult-not-dcf"));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "child.dcfInvolved");
  EXPECT_THAT(violations[0].description, HasSubstr("National Human Trafficking Hotline"));
  EXPECT_THAT(violations[0].description, HasSubstr("1-888-373-7888"));
}

TEST_F(IntakeValidatorTest, ReportsEveryMissingRequiredFieldAtOnce) {
  const auto fields = Fields(v1::Intake());
  EXPECT_THAT(fields, Contains("carelineReportId"));
  EXPECT_THAT(fields, Contains("receivedAt"));
  EXPECT_THAT(fields, Contains("reporter"));
  EXPECT_THAT(fields, Contains("child"));
  EXPECT_THAT(fields, Contains("concern"));
}

TEST_F(IntakeValidatorTest, ReportsMissingChildFields) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_child()->clear_town();
  intake.mutable_child()->clear_date_of_birth();
  intake.mutable_child()->clear_dcf_involved();
  intake.mutable_reporter()->clear_role();
  const auto fields = Fields(intake);
  EXPECT_THAT(fields, Contains("child.town"));
  EXPECT_THAT(fields, Contains("child"));  // needs dateOfBirth or ageYears
  EXPECT_THAT(fields, Contains("child.dcfInvolved"));
  EXPECT_THAT(fields, Contains("reporter.role"));
}

TEST_F(IntakeValidatorTest, TraffickingTypeMayBeUnknownAtFirst) {
  auto intake = LoadIntake("missing-from-foster-care-new-haven");
  intake.mutable_concern()->clear_trafficking_type();
  EXPECT_THAT(Validate(intake), IsEmpty());
}

TEST_F(IntakeValidatorTest, RejectsUnknownTownButAcceptsVillagesAndAnyCase) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_child()->set_town("Springfield");
  EXPECT_THAT(Fields(intake), Contains("child.town"));
  intake.mutable_child()->set_town("willimantic");
  EXPECT_THAT(Validate(intake), IsEmpty());
  intake.mutable_child()->set_town("NEW HAVEN");
  EXPECT_THAT(Validate(intake), IsEmpty());
}

TEST_F(IntakeValidatorTest, RejectsTimesInTheFuture) {
  auto intake = LoadIntake("missing-from-foster-care-new-haven");
  *intake.mutable_received_at() = ToProtoTime(TestNow() + absl::Hours(1));
  *intake.mutable_missing()->mutable_missing_since() = ToProtoTime(TestNow() + absl::Hours(2));
  intake.mutable_child()->set_date_of_birth("2030-01-01");
  const auto fields = Fields(intake);
  EXPECT_THAT(fields, Contains("receivedAt"));
  EXPECT_THAT(fields, Contains("missing.missingSince"));
  EXPECT_THAT(fields, Contains("child.dateOfBirth"));
}

TEST_F(IntakeValidatorTest, RejectsAReceivedAtBefore2000) {
  auto intake = LoadIntake("urgent-hotel-bridgeport");
  for (absl::Time early : {absl::FromUnixSeconds(0), kEarliestReceivedAt - absl::Seconds(1)}) {
    *intake.mutable_received_at() = ToProtoTime(early);
    const auto violations = Validate(intake);
    ASSERT_EQ(violations.size(), 1u) << early;
    EXPECT_EQ(violations[0].field, "receivedAt");
    EXPECT_THAT(violations[0].description, HasSubstr("before 2000-01-01"));
  }
  *intake.mutable_received_at() = ToProtoTime(kEarliestReceivedAt);
  EXPECT_THAT(Validate(intake), IsEmpty());
}

TEST_F(IntakeValidatorTest, AllowsSmallClockSkew) {
  auto intake = LoadIntake("urgent-hotel-bridgeport");
  *intake.mutable_received_at() = ToProtoTime(TestNow() + absl::Minutes(2));
  EXPECT_THAT(Validate(intake), IsEmpty());
}

TEST_F(IntakeValidatorTest, RejectsMissingSinceWithoutIsMissing) {
  auto intake = LoadIntake("missing-from-foster-care-new-haven");
  intake.mutable_missing()->set_is_missing(false);
  const auto violations = Validate(intake);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "missing.missingSince");
  EXPECT_THAT(violations[0].description, HasSubstr("isMissing"));
}

TEST_F(IntakeValidatorTest, AdultWhoIsDcfInvolvedIsAccepted) {
  auto intake = LoadIntake("invalid-adult-not-dcf");
  intake.mutable_child()->set_age_years(19);
  intake.mutable_child()->set_dcf_involved(true);
  EXPECT_THAT(Validate(intake), IsEmpty());
}

TEST_F(IntakeValidatorTest, AgeComesFromDateOfBirthAtReceivedAt) {
  auto intake = LoadIntake("invalid-adult-not-dcf");
  intake.mutable_child()->clear_age_years();
  intake.mutable_child()->set_date_of_birth("2008-11-21");  // 18 on 2026-11-21
  *intake.mutable_received_at() = ToProtoTime(absl::FromCivil(
      absl::CivilSecond(2026, 11, 20, 23, 0, 0), absl::UTCTimeZone()));
  EXPECT_THAT(Validate(intake), IsEmpty());  // still 17 when received
  *intake.mutable_received_at() = ToProtoTime(absl::FromCivil(
      absl::CivilSecond(2026, 11, 21, 1, 0, 0), absl::UTCTimeZone()));
  EXPECT_THAT(Fields(intake), Contains("child.dcfInvolved"));
}

TEST_F(IntakeValidatorTest, RejectsMalformedDates) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  for (const char* bad : {"2010-02-30", "14/03/2010", "2010-3-14"}) {
    intake.mutable_child()->set_date_of_birth(bad);
    EXPECT_THAT(Fields(intake), Contains("child.dateOfBirth")) << bad;
  }
}

TEST_F(IntakeValidatorTest, RejectsTextOverItsLimit) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_concern()->set_narrative(std::string(kMaxNarrativeBytes + 1, 'x'));
  intake.mutable_reporter()->set_name(std::string(kMaxNameBytes + 1, 'x'));
  const auto fields = Fields(intake);
  EXPECT_THAT(fields, Contains("concern.narrative"));
  EXPECT_THAT(fields, Contains("reporter.name"));
  intake.mutable_concern()->set_narrative(std::string(kMaxNarrativeBytes, 'x'));
  intake.mutable_reporter()->set_name("R");
  EXPECT_THAT(Validate(intake), IsEmpty());
}

TEST_F(IntakeValidatorTest, RejectsAnIntakeOverOneMebibyte) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  for (int i = 0; i < 20; ++i) intake.mutable_child()->add_race(v1::Race::WHITE);
  // Many repeated enum values push the message past 1 MiB without any
  // single text field being over its own limit.
  for (int i = 0; i < 1100000; ++i) intake.mutable_concern()->add_venues(v1::Venue::STREET);
  ASSERT_GT(intake.ByteSizeLong(), kMaxIntakeBytes);
  EXPECT_THAT(Fields(intake), Contains("intake"));
}

TEST_F(IntakeValidatorTest, ReporterIdentityIsOptionalButRoleIsRequired) {
  auto intake = LoadIntake("urgent-hotel-bridgeport");
  intake.mutable_reporter()->clear_organization();
  EXPECT_THAT(Validate(intake), IsEmpty());
  intake.mutable_reporter()->clear_role();
  EXPECT_THAT(Fields(intake), Contains("reporter.role"));
}

TEST_F(IntakeValidatorTest, DescriptionsNeverQuoteSubmittedValues) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_child()->set_town("Jordan-Example-Town");
  intake.mutable_reporter()->set_name(std::string(300, 'Q'));
  for (const auto& v : Validate(intake)) {
    EXPECT_THAT(v.description, ::testing::Not(HasSubstr("Jordan")));
    EXPECT_THAT(v.description, ::testing::Not(HasSubstr("QQQ")));
  }
}

}  // namespace
}  // namespace hart
