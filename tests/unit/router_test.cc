#include "broker/routing/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/time_util.h"
#include "broker/routing/condition.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using hart::testing::ConnecticutConfig;
using hart::testing::LoadIntake;
using hart::testing::TestNow;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : geography_(Build()), router_(ConnecticutConfig(), geography_) {}
  static Geography Build() {
    std::vector<std::string> problems;
    return Geography::Build(ConnecticutConfig(), &problems);
  }
  RoutingDecision Route(const v1::Intake& intake, absl::Time now = TestNow()) {
    auto decision = router_.Route(intake, now);
    EXPECT_TRUE(decision.ok()) << decision.status();
    return *decision;
  }
  static const RuleVerdict& Verdict(const RoutingDecision& d, const std::string& rule) {
    for (const auto& v : d.verdicts) {
      if (v.rule_id == rule) return v;
    }
    ADD_FAILURE() << "no verdict for " << rule;
    static RuleVerdict none;
    return none;
  }
  static const RoutedDestination* Find(const RoutingDecision& d, const std::string& agency) {
    for (const auto& dest : d.destinations) {
      if (dest.agency->id() == agency) return &dest;
    }
    return nullptr;
  }
  static std::vector<std::string> AgencyIds(const RoutingDecision& d) {
    std::vector<std::string> ids;
    for (const auto& dest : d.destinations) ids.push_back(dest.agency->id());
    return ids;
  }
  Geography geography_;
  Router router_;
};

TEST_F(RouterTest, EvaluatesEveryRuleInConfigOrder) {
  const auto d = Route(LoadIntake("school-sex-trafficking-hartford"));
  std::vector<std::string> order;
  for (const auto& v : d.verdicts) order.push_back(v.rule_id);
  EXPECT_THAT(order, ElementsAre("ht-referral", "hart-consult-red-flags", "missing-report",
                                 "missing-72h", "cac-services"));
}

TEST_F(RouterTest, SexTraffickingInHartfordGoesToPoliceTaskForceCsaoMdtLeadAndCac) {
  const auto d = Route(LoadIntake("school-sex-trafficking-hartford"));
  EXPECT_EQ(d.town->name(), "Hartford");
  EXPECT_EQ(d.priority, v1::NORMAL);
  EXPECT_THAT(AgencyIds(d), UnorderedElementsAre("hartford-pd", "ct-ht-task-force", "csao",
                                                 "mdt-hartford", "hart-lead-region-4",
                                                 "cac-hartford"));
  EXPECT_TRUE(Verdict(d, "ht-referral").fired);
  EXPECT_TRUE(Verdict(d, "hart-consult-red-flags").fired);
  EXPECT_FALSE(Verdict(d, "missing-report").fired);
  EXPECT_FALSE(Verdict(d, "missing-72h").fired);
  EXPECT_TRUE(Verdict(d, "cac-services").fired);
  // Police 4 h, the others 24 h, counted from acceptance.
  EXPECT_EQ(Find(d, "hartford-pd")->ack_deadline, TestNow() + absl::Hours(4));
  EXPECT_EQ(Find(d, "csao")->ack_deadline, TestNow() + absl::Hours(24));
}

TEST_F(RouterTest, UrgentReferralsGetUrgentDeadlines) {
  const auto d = Route(LoadIntake("urgent-hotel-bridgeport"));
  EXPECT_EQ(d.priority, v1::URGENT);
  EXPECT_EQ(Find(d, "bridgeport-pd")->ack_deadline, TestNow() + absl::Hours(1));
  EXPECT_EQ(Find(d, "ct-ht-task-force")->ack_deadline, TestNow() + absl::Hours(4));
  EXPECT_NE(Find(d, "cac-bridgeport"), nullptr);
}

TEST_F(RouterTest, HtReferralFiresForEveryTraffickingType) {
  auto intake = LoadIntake("labor-trafficking-waterbury");
  for (auto type : {v1::TraffickingType::SEX, v1::TraffickingType::LABOR,
                    v1::TraffickingType::SEX_AND_LABOR, v1::TraffickingType::UNDETERMINED}) {
    intake.mutable_concern()->set_trafficking_type(type);
    const auto d = Route(intake);
    EXPECT_TRUE(Verdict(d, "ht-referral").fired);
    EXPECT_NE(Find(d, "waterbury-pd"), nullptr);
    EXPECT_NE(Find(d, "csao"), nullptr);
  }
}

TEST_F(RouterTest, HartConsultNeedsDcfInvolvement) {
  const auto d = Route(LoadIntake("labor-trafficking-waterbury"));
  const auto& verdict = Verdict(d, "hart-consult-red-flags");
  EXPECT_FALSE(verdict.fired);
  EXPECT_THAT(verdict.reasons, ElementsAre("child is not DCF-involved"));
  EXPECT_EQ(Find(d, "hart-lead-region-5"), nullptr);
}

TEST_F(RouterTest, HartConsultFiresOnRedFlagsAlone) {
  auto intake = LoadIntake("labor-trafficking-waterbury");
  intake.mutable_child()->set_dcf_involved(true);
  const auto d = Route(intake);
  EXPECT_TRUE(Verdict(d, "hart-consult-red-flags").fired);
  EXPECT_NE(Find(d, "hart-lead-region-5"), nullptr);
}

TEST_F(RouterTest, LaborTraffickingDoesNotGoToTheCac) {
  const auto d = Route(LoadIntake("labor-trafficking-waterbury"));
  const auto& verdict = Verdict(d, "cac-services");
  EXPECT_FALSE(verdict.fired);
  EXPECT_THAT(verdict.reasons[0], HasSubstr("trafficking type is LABOR"));
}

TEST_F(RouterTest, CacServicesNeedAChildUnder18) {
  auto intake = LoadIntake("urgent-hotel-bridgeport");
  intake.mutable_child()->set_age_years(18);
  intake.mutable_child()->set_dcf_involved(true);
  const auto d = Route(intake);
  const auto& verdict = Verdict(d, "cac-services");
  EXPECT_FALSE(verdict.fired);
  EXPECT_THAT(verdict.reasons, ElementsAre("child is 18, rule needs under 18"));
}

TEST_F(RouterTest, MissingFromCareGoesToNcmecAndPoliceWithin24HoursOfReceipt) {
  const auto intake = LoadIntake("missing-from-foster-care-new-haven");
  const auto d = Route(intake);
  EXPECT_TRUE(Verdict(d, "missing-report").fired);
  const absl::Time received = FromProtoTime(intake.received_at());
  const auto* ncmec = Find(d, "ncmec");
  ASSERT_NE(ncmec, nullptr);
  ASSERT_TRUE(ncmec->delivery_deadline.has_value());
  EXPECT_EQ(*ncmec->delivery_deadline, received + absl::Hours(24));
  // Police was chosen by two rules: one delivery listing both.
  const auto* police = Find(d, "new-haven-pd");
  ASSERT_NE(police, nullptr);
  EXPECT_THAT(police->rule_ids, ElementsAre("ht-referral", "missing-report"));
  EXPECT_TRUE(police->delivery_deadline.has_value());
  int police_count = 0;
  for (const auto& dest : d.destinations) police_count += dest.agency->id() == "new-haven-pd";
  EXPECT_EQ(police_count, 1);
}

TEST_F(RouterTest, MissingReportNeedsTheChildMissing) {
  auto intake = LoadIntake("missing-from-foster-care-new-haven");
  intake.mutable_missing()->set_is_missing(false);
  intake.mutable_missing()->clear_missing_since();
  const auto d = Route(intake);
  EXPECT_FALSE(Verdict(d, "missing-report").fired);
  EXPECT_THAT(Verdict(d, "missing-report").reasons,
              ElementsAre("child is not reported missing"));
  EXPECT_EQ(Find(d, "ncmec"), nullptr);
}

TEST_F(RouterTest, Missing72hWaitsForTheFull72Hours) {
  const auto intake = LoadIntake("missing-from-foster-care-new-haven");
  const absl::Time since = FromProtoTime(intake.missing().missing_since());
  const auto before = Route(intake, since + absl::Hours(72) - absl::Minutes(1));
  EXPECT_FALSE(Verdict(before, "missing-72h").fired);
  EXPECT_EQ(Verdict(before, "missing-72h").reasons[0], "missing 71 h 59 m, rule needs 72 h");
  ASSERT_EQ(before.pending.size(), 1u);
  EXPECT_EQ(before.pending[0].due_at, since + absl::Hours(72));
  EXPECT_THAT(before.pending[0].rule_ids, ElementsAre("missing-72h"));
  const auto after = Route(intake, since + absl::Hours(72));
  EXPECT_TRUE(Verdict(after, "missing-72h").fired);
  EXPECT_TRUE(after.pending.empty());
  const auto* lead = Find(after, "hart-lead-region-2");
  ASSERT_NE(lead, nullptr);
  EXPECT_THAT(lead->rule_ids, ElementsAre("hart-consult-red-flags", "missing-72h"));
}

TEST(ConditionTest, AllAndAnyRedFlags) {
  auto intake = LoadIntake("labor-trafficking-waterbury");  // three labor red flags
  hart::config::v1::Condition all;
  all.add_all_red_flags_in(v1::RedFlag::DEBT_TO_EMPLOYER);
  all.add_all_red_flags_in(v1::RedFlag::NO_ACCESS_TO_ID_DOCUMENTS);
  EXPECT_TRUE(EvaluateCondition(all, intake, TestNow()).holds);
  all.add_all_red_flags_in(v1::RedFlag::BRANDING_TATTOO);
  const auto failed = EvaluateCondition(all, intake, TestNow());
  EXPECT_FALSE(failed.holds);
  EXPECT_THAT(failed.reasons, ElementsAre("red flags not reported: BRANDING_TATTOO"));
  hart::config::v1::Condition any;
  any.add_any_red_flag_in(v1::RedFlag::BRANDING_TATTOO);
  any.add_any_red_flag_in(v1::RedFlag::DEBT_TO_EMPLOYER);
  EXPECT_TRUE(EvaluateCondition(any, intake, TestNow()).holds);
}

// Every kind of clause, held and failed, says why in the words a
// supervisor reads; only the text that applies is built.
TEST(ConditionTest, EveryClauseSaysWhyWhenItHoldsAndWhenItFails) {
  using Condition = hart::config::v1::Condition;
  auto intake = LoadIntake("labor-trafficking-waterbury");
  auto missing = intake;  // missing for 30 hours at TestNow()
  missing.mutable_missing()->set_is_missing(true);
  *missing.mutable_missing()->mutable_missing_since() = ToProtoTime(TestNow() - absl::Hours(30));
  std::vector<std::tuple<std::string, Condition, const v1::Intake*>> cases;
  auto add = [&](std::string name, auto set, const v1::Intake* of = nullptr) {
    Condition c;
    set(c);
    cases.emplace_back(std::move(name), std::move(c), of != nullptr ? of : &intake);
  };
  const auto type = intake.concern().trafficking_type();
  const auto other_type =
      type == v1::TraffickingType::LABOR ? v1::TraffickingType::SEX : v1::TraffickingType::LABOR;
  add("type held", [&](Condition& c) { c.add_trafficking_type_in(type); });
  add("type failed", [&](Condition& c) { c.add_trafficking_type_in(other_type); });
  add("dcf", [&](Condition& c) { c.set_dcf_involved(true); });
  add("not dcf", [&](Condition& c) { c.set_dcf_involved(false); });
  add("missing", [&](Condition& c) { c.set_is_missing(true); });
  add("not missing", [&](Condition& c) { c.set_is_missing(false); });
  add("danger", [&](Condition& c) { c.set_immediate_danger(true); });
  add("no danger", [&](Condition& c) { c.set_immediate_danger(false); });
  add("missing for", [&](Condition& c) { c.set_missing_for_at_least_hours(24); });
  add("missing for 24", [&](Condition& c) { c.set_missing_for_at_least_hours(24); }, &missing);
  add("missing for 48", [&](Condition& c) { c.set_missing_for_at_least_hours(48); }, &missing);
  add("age under 30", [&](Condition& c) { c.set_child_age_under(30); });
  add("age under 5", [&](Condition& c) { c.set_child_age_under(5); });
  add("age at least 5", [&](Condition& c) { c.set_child_age_at_least(5); });
  add("age at least 30", [&](Condition& c) { c.set_child_age_at_least(30); });
  add("any flag held", [&](Condition& c) {
    c.add_any_red_flag_in(v1::RedFlag::DEBT_TO_EMPLOYER);
    c.add_any_red_flag_in(v1::RedFlag::BRANDING_TATTOO);
  });
  add("any flag failed", [&](Condition& c) {
    c.add_any_red_flag_in(v1::RedFlag::BRANDING_TATTOO);
    c.add_any_red_flag_in(v1::RedFlag::OLDER_PARTNER);
  });
  add("all flags held", [&](Condition& c) {
    c.add_all_red_flags_in(v1::RedFlag::DEBT_TO_EMPLOYER);
    c.add_all_red_flags_in(v1::RedFlag::NO_ACCESS_TO_ID_DOCUMENTS);
  });
  add("has flag", [&](Condition& c) { c.set_has_red_flag(true); });
  add("has no flag", [&](Condition& c) { c.set_has_red_flag(false); });
  const auto placement = intake.child().placement();
  add("placement held", [&](Condition& c) { c.add_placement_in(placement); });
  add("placement failed", [&](Condition& c) {
    c.add_placement_in(placement == v1::Placement::GROUP_HOME ? v1::Placement::HOME
                                                               : v1::Placement::GROUP_HOME);
  });
  const auto role = intake.reporter().role();
  add("role held", [&](Condition& c) { c.add_reporter_role_in(role); });
  add("role failed", [&](Condition& c) {
    c.add_reporter_role_in(role == v1::Reporter::LAW_ENFORCEMENT ? v1::Reporter::SCHOOL_STAFF
                                                        : v1::Reporter::LAW_ENFORCEMENT);
  });
  add("any of held", [&](Condition& c) {
    c.add_any_of()->set_immediate_danger(true);
    c.add_any_of()->add_trafficking_type_in(type);
  });
  add("any of failed", [&](Condition& c) {
    c.add_any_of()->set_immediate_danger(true);
    c.add_any_of()->add_trafficking_type_in(other_type);
  });
  std::vector<std::string> said;
  for (const auto& [name, condition, of] : cases) {
    const ConditionResult r = EvaluateCondition(condition, *of, TestNow());
    said.push_back(absl::StrCat(name, (r.holds ? ": holds: " : ": fails: "),
                                absl::StrJoin(r.reasons, " | ")));
    // Unsaid, the same verdict and no words.
    const ConditionResult quiet = EvaluateCondition(condition, *of, TestNow(), Reasons::kUnsaid);
    EXPECT_EQ(quiet.holds, r.holds) << name;
    EXPECT_THAT(quiet.reasons, ::testing::IsEmpty()) << name;
  }
  EXPECT_THAT(said, ElementsAre(
      "type held: holds: trafficking type is LABOR",
      "type failed: fails: trafficking type is LABOR, rule needs one of SEX",
      "dcf: fails: child is not DCF-involved",
      "not dcf: holds: child is not DCF-involved",
      "missing: fails: child is not reported missing",
      "not missing: holds: child is not reported missing",
      "danger: fails: no immediate danger reported",
      "no danger: holds: no immediate danger reported",
      "missing for: fails: no missing-since time, rule needs 24 h",
      "missing for 24: holds: missing 30 h, at least 24 h",
      "missing for 48: fails: missing 30 h, rule needs 48 h",
      "age under 30: holds: child is 16, under 30",
      "age under 5: fails: child is 16, rule needs under 5",
      "age at least 5: holds: child is 16, at least 5",
      "age at least 30: fails: child is 16, rule needs at least 30",
      "any flag held: holds: red flags reported: DEBT_TO_EMPLOYER",
      "any flag failed: fails: none of the red flags BRANDING_TATTOO, OLDER_PARTNER reported",
      "all flags held: holds: red flags reported: DEBT_TO_EMPLOYER, NO_ACCESS_TO_ID_DOCUMENTS",
      "has flag: holds: red flags reported: WORKING_EXCESSIVE_HOURS, DEBT_TO_EMPLOYER, "
      "NO_ACCESS_TO_ID_DOCUMENTS",
      "has no flag: fails: red flags reported",
      "placement held: holds: placement is UNKNOWN",
      "placement failed: fails: placement is UNKNOWN, rule needs one of GROUP_HOME",
      "role held: holds: reporter role is MEDICAL",
      "role failed: fails: reporter role is MEDICAL, rule needs one of LAW_ENFORCEMENT",
      "any of held: holds: trafficking type is LABOR",
      "any of failed: fails: none of the alternatives holds: no immediate danger reported; "
      "trafficking type is LABOR, rule needs one of SEX"));
}

// An intake's submission routes without reasons (Reasons::kUnsaid): every
// rule must fire, wait and choose exactly as when explained, over every
// example intake and every value of each field a rule reads.
TEST_F(RouterTest, RoutingWithoutReasonsDecidesExactlyAsExplained) {
  std::vector<std::pair<std::string, v1::Intake>> variants;
  for (const char* name : {"labor-trafficking-waterbury", "missing-from-foster-care-new-haven",
                           "school-sex-trafficking-hartford", "urgent-hotel-bridgeport"}) {
    const v1::Intake base = LoadIntake(name);
    auto vary = [&](const std::string& what, auto change) {
      v1::Intake intake = base;
      change(intake);
      variants.emplace_back(absl::StrCat(name, ": ", what), std::move(intake));
    };
    vary("as is", [](v1::Intake&) {});
    vary("dcf toggled", [](v1::Intake& i) {
      i.mutable_child()->set_dcf_involved(!i.child().dcf_involved());
    });
    vary("danger toggled", [](v1::Intake& i) { i.set_immediate_danger(!i.immediate_danger()); });
    vary("not missing", [](v1::Intake& i) { i.clear_missing(); });
    for (int hours : {1, 23, 25, 71, 73, 200}) {
      vary(absl::StrCat("missing ", hours, " h"), [&](v1::Intake& i) {
        i.mutable_missing()->set_is_missing(true);
        *i.mutable_missing()->mutable_missing_since() = ToProtoTime(TestNow() - absl::Hours(hours));
      });
    }
    vary("no red flags", [](v1::Intake& i) { i.mutable_concern()->clear_red_flags(); });
    vary("no date of birth", [](v1::Intake& i) { i.mutable_child()->clear_date_of_birth(); });
    vary("age unknown", [](v1::Intake& i) {
      i.mutable_child()->clear_date_of_birth();
      i.mutable_child()->clear_age_years();
    });
    // One variant per value of an enum, `set` given the value's number.
    auto each_value = [&](const google::protobuf::EnumDescriptor* values, const char* prefix,
                          auto set) {
      for (int v = 0; v < values->value_count(); ++v) {
        const int number = values->value(v)->number();
        vary(absl::StrCat(prefix, values->value(v)->name()),
             [&](v1::Intake& i) { set(i, number); });
      }
    };
    each_value(v1::TraffickingType::Value_descriptor(), "", [](v1::Intake& i, int n) {
      i.mutable_concern()->set_trafficking_type(static_cast<v1::TraffickingType::Value>(n));
    });
    each_value(v1::RedFlag::Value_descriptor(), "only ", [](v1::Intake& i, int n) {
      i.mutable_concern()->clear_red_flags();
      i.mutable_concern()->add_red_flags(static_cast<v1::RedFlag::Value>(n));
    });
    each_value(v1::Placement::Value_descriptor(), "", [](v1::Intake& i, int n) {
      i.mutable_child()->set_placement(static_cast<v1::Placement::Value>(n));
    });
    each_value(v1::Reporter::Role_descriptor(), "", [](v1::Intake& i, int n) {
      i.mutable_reporter()->set_role(static_cast<v1::Reporter::Role>(n));
    });
  }
  std::set<std::string> fired_somewhere;
  for (const auto& [name, intake] : variants) {
    RoutingDecision explained = Route(intake);
    auto unsaid = router_.Route(intake, TestNow(), Reasons::kUnsaid);
    ASSERT_TRUE(unsaid.ok()) << name << ": " << unsaid.status();
    for (const auto& v : unsaid->verdicts) {
      EXPECT_THAT(v.reasons, ::testing::IsEmpty()) << name << ": " << v.rule_id;
      EXPECT_EQ(v.description, "") << name << ": " << v.rule_id;
      if (v.fired) fired_somewhere.insert(v.rule_id);
    }
    for (auto& v : explained.verdicts) {
      v.reasons.clear();
      v.description.clear();
    }
    EXPECT_TRUE(explained == *unsaid) << name;
  }
  // The variants reach every rule of the Connecticut policy.
  EXPECT_EQ(fired_somewhere.size(), static_cast<size_t>(ConnecticutConfig().rules_size()));
}

TEST_F(RouterTest, VillagesRouteThroughTheirTown) {
  auto intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_child()->set_town("Willimantic");
  const auto d = Route(intake);
  EXPECT_EQ(d.town->name(), "Windham");
  EXPECT_EQ(d.town->region(), 3u);
}

TEST_F(RouterTest, ReferenceTownsAreInTheirSpecRegions) {
  const std::vector<std::pair<std::string, uint32_t>> expected = {
      {"Bridgeport", 1}, {"Norwalk", 1},   {"Stamford", 1},    {"New Haven", 2},
      {"Milford", 2},    {"Middletown", 3}, {"Norwich", 3},    {"Windham", 3},
      {"Hartford", 4},   {"Manchester", 4}, {"Danbury", 5},    {"Torrington", 5},
      {"Waterbury", 5},  {"Meriden", 6},    {"New Britain", 6}};
  for (const auto& [town, region] : expected) {
    const auto* t = geography_.ResolveTown(town);
    ASSERT_NE(t, nullptr) << town;
    EXPECT_EQ(t->region(), region) << town;
  }
}

}  // namespace
}  // namespace hart
