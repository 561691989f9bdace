// The Connecticut policy as a table: every rule firing and not firing, their
// combinations, the 72-hour and age boundaries, towns, villages and case,
// URGENT deadlines. Each row states the whole expected outcome.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "broker/common/time_util.h"
#include "broker/intake/intake_validator.h"
#include "broker/routing/router.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using hart::testing::ConnecticutConfig;
using hart::testing::LoadIntake;
using hart::testing::TestNow;
using Set = std::set<std::string>;

constexpr char kHartford[] = "school-sex-trafficking-hartford";    // DCF, SEX, flags, 16
constexpr char kNewHaven[] = "missing-from-foster-care-new-haven";  // DCF, missing, UNDETERMINED
constexpr char kWaterbury[] = "labor-trafficking-waterbury";        // not DCF, LABOR, 16
constexpr char kBridgeport[] = "urgent-hotel-bridgeport";           // not DCF, SEX, 14, URGENT

struct Scenario {
  std::string name;
  std::string example;
  std::function<void(v1::Intake&)> edit;
  // Evaluation time after missing_since (for the 72 h rule); 0 = TestNow().
  absl::Duration missing_for = absl::ZeroDuration();
  Set fired;
  Set agencies;  // exact set of destinations
  v1::Priority priority = v1::NORMAL;
  bool invalid = false;  // validation must reject it
};

void NoEdit(v1::Intake&) {}
auto Type(v1::TraffickingType::Value t) {
  return [t](v1::Intake& i) { i.mutable_concern()->set_trafficking_type(t); };
}
auto Town(const std::string& town) {
  return [town](v1::Intake& i) { i.mutable_child()->set_town(town); };
}
template <typename... Fns>
auto All(Fns... fns) {
  return [=](v1::Intake& i) { (fns(i), ...); };
}
void NotDcf(v1::Intake& i) { i.mutable_child()->set_dcf_involved(false); }
void Dcf(v1::Intake& i) { i.mutable_child()->set_dcf_involved(true); }
void NoFlags(v1::Intake& i) { i.mutable_concern()->clear_red_flags(); }
void NoType(v1::Intake& i) { i.mutable_concern()->clear_trafficking_type(); }
auto Age(int years) {
  return [years](v1::Intake& i) {
    i.mutable_child()->clear_date_of_birth();
    i.mutable_child()->set_age_years(years);
  };
}
void Urgent(v1::Intake& i) { i.set_immediate_danger(true); }
void Found(v1::Intake& i) {
  i.mutable_missing()->set_is_missing(false);
  i.mutable_missing()->clear_missing_since();
}

const Set kHartfordHt = {"hartford-pd", "ct-ht-task-force", "csao", "mdt-hartford"};
const Set kNewHavenHt = {"new-haven-pd", "ct-ht-task-force", "csao", "mdt-new-haven"};
const Set kWaterburyHt = {"waterbury-pd", "ct-ht-task-force", "csao", "mdt-waterbury"};
const Set kBridgeportHt = {"bridgeport-pd", "ct-ht-task-force", "csao", "mdt-bridgeport"};

Set Union(Set a, const Set& b) {
  a.insert(b.begin(), b.end());
  return a;
}

std::vector<Scenario> Scenarios() {
  using T = v1::TraffickingType;
  const Set ht = {"ht-referral"};
  return {
      {"hartford example", kHartford, NoEdit, {}, {"ht-referral", "hart-consult-red-flags", "cac-services"},
       Union(kHartfordHt, {"hart-lead-region-4", "cac-hartford"})},
      {"hartford labor", kHartford, Type(T::LABOR), {}, {"ht-referral", "hart-consult-red-flags"},
       Union(kHartfordHt, {"hart-lead-region-4"})},
      {"hartford sex and labor", kHartford, Type(T::SEX_AND_LABOR), {},
       {"ht-referral", "hart-consult-red-flags", "cac-services"},
       Union(kHartfordHt, {"hart-lead-region-4", "cac-hartford"})},
      {"hartford undetermined", kHartford, Type(T::UNDETERMINED), {},
       {"ht-referral", "hart-consult-red-flags"}, Union(kHartfordHt, {"hart-lead-region-4"})},
      {"hartford not dcf", kHartford, NotDcf, {}, {"ht-referral", "cac-services"},
       Union(kHartfordHt, {"cac-hartford"})},
      {"dcf, flags, no type", kHartford, NoType, {}, {"hart-consult-red-flags"},
       {"hart-lead-region-4"}},
      {"dcf, no flags, type", kHartford, NoFlags, {}, {"ht-referral", "hart-consult-red-flags", "cac-services"},
       Union(kHartfordHt, {"hart-lead-region-4", "cac-hartford"})},
      {"dcf, no flags, no type", kHartford, All(NoFlags, NoType), {}, {}, {}},
      {"not dcf, no type", kHartford, All(NotDcf, NoType), {}, {}, {}},
      {"sex, age 17", kHartford, Age(17), {}, {"ht-referral", "hart-consult-red-flags", "cac-services"},
       Union(kHartfordHt, {"hart-lead-region-4", "cac-hartford"})},
      {"sex, age 18, dcf", kHartford, Age(18), {}, {"ht-referral", "hart-consult-red-flags"},
       Union(kHartfordHt, {"hart-lead-region-4"})},
      {"sex, age 19, dcf", kHartford, Age(19), {}, {"ht-referral", "hart-consult-red-flags"},
       Union(kHartfordHt, {"hart-lead-region-4"})},
      {"age 18, not dcf is rejected", kHartford, All(Age(18), NotDcf), {}, {}, {}, v1::NORMAL, true},
      {"age 17, not dcf, sex", kHartford, All(Age(17), NotDcf), {}, {"ht-referral", "cac-services"},
       Union(kHartfordHt, {"cac-hartford"})},
      {"missing 10 h", kNewHaven, NoEdit, absl::Hours(10),
       {"ht-referral", "hart-consult-red-flags", "missing-report"},
       Union(kNewHavenHt, {"hart-lead-region-2", "ncmec"})},
      {"missing 71 h 59 m", kNewHaven, NoEdit, absl::Hours(72) - absl::Minutes(1),
       {"ht-referral", "hart-consult-red-flags", "missing-report"},
       Union(kNewHavenHt, {"hart-lead-region-2", "ncmec"})},
      {"missing exactly 72 h", kNewHaven, NoEdit, absl::Hours(72),
       {"ht-referral", "hart-consult-red-flags", "missing-report", "missing-72h"},
       Union(kNewHavenHt, {"hart-lead-region-2", "ncmec"})},
      {"missing 100 h", kNewHaven, NoEdit, absl::Hours(100),
       {"ht-referral", "hart-consult-red-flags", "missing-report", "missing-72h"},
       Union(kNewHavenHt, {"hart-lead-region-2", "ncmec"})},
      {"missing, no type, no flags", kNewHaven, All(NoType, NoFlags), absl::Hours(10),
       {"missing-report"}, {"new-haven-pd", "ncmec"}},
      {"missing 72 h, no type, no flags", kNewHaven, All(NoType, NoFlags), absl::Hours(72),
       {"missing-report", "missing-72h"}, {"new-haven-pd", "ncmec", "hart-lead-region-2"}},
      {"missing, not dcf", kNewHaven, NotDcf, absl::Hours(80), {"ht-referral"}, kNewHavenHt},
      {"found", kNewHaven, Found, {}, {"ht-referral", "hart-consult-red-flags"},
       Union(kNewHavenHt, {"hart-lead-region-2"})},
      {"missing sex trafficking", kNewHaven, Type(T::SEX), absl::Hours(10),
       {"ht-referral", "hart-consult-red-flags", "missing-report", "cac-services"},
       Union(kNewHavenHt, {"hart-lead-region-2", "ncmec", "cac-south-central"})},
      {"labor example", kWaterbury, NoEdit, {}, ht, kWaterburyHt},
      {"labor, dcf", kWaterbury, Dcf, {}, {"ht-referral", "hart-consult-red-flags"},
       Union(kWaterburyHt, {"hart-lead-region-5"})},
      {"urgent example", kBridgeport, NoEdit, {}, {"ht-referral", "cac-services"},
       Union(kBridgeportHt, {"cac-bridgeport"}), v1::URGENT},
      {"hartford made urgent", kHartford, Urgent, {},
       {"ht-referral", "hart-consult-red-flags", "cac-services"},
       Union(kHartfordHt, {"hart-lead-region-4", "cac-hartford"}), v1::URGENT},
      {"urgent labor", kBridgeport, Type(T::LABOR), {}, ht, kBridgeportHt, v1::URGENT},
      {"village Willimantic", kHartford, Town("Willimantic"),
       {}, {"ht-referral", "hart-consult-red-flags", "cac-services"},
       {"willimantic-pd", "ct-ht-task-force", "csao", "mdt-windham", "hart-lead-region-3",
        "cac-windham"}},
      {"village Mystic", kWaterbury, Town("Mystic"), {}, ht,
       {"groton-town-pd", "ct-ht-task-force", "csao", "mdt-new-london"}},
      {"lower case town", kWaterbury, Town("waterbury"), {}, ht, kWaterburyHt},
      {"upper case town", kWaterbury, Town("WATERBURY"), {}, ht, kWaterburyHt},
      {"state police town", kWaterbury, Town("Union"), {}, ht,
       {"csp-troop-c", "ct-ht-task-force", "csao", "mdt-tolland"}},
      {"unknown town is rejected", kWaterbury, Town("Gotham"), {}, {}, {}, v1::NORMAL, true},
  };
}

class RoutingTableTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(RoutingTableTest, RoutesAsThePolicySays) {
  const Scenario& s = GetParam();
  v1::Intake intake = LoadIntake(s.example);
  s.edit(intake);
  std::vector<std::string> problems;
  const Geography geography = Geography::Build(ConnecticutConfig(), &problems);
  const absl::Time now =
      s.missing_for > absl::ZeroDuration()
          ? FromProtoTime(intake.missing().missing_since()) + s.missing_for
          : TestNow();
  // Keep received_at in the past of `now` for the missing-time scenarios.
  if (FromProtoTime(intake.received_at()) > now) *intake.mutable_received_at() = ToProtoTime(now);
  const auto violations = ValidateIntake(intake, geography, now);
  if (s.invalid) {
    EXPECT_FALSE(violations.empty());
    return;
  }
  ASSERT_TRUE(violations.empty()) << violations[0].field << ": " << violations[0].description;
  const Router router(ConnecticutConfig(), geography);
  auto decision = router.Route(intake, now);
  ASSERT_TRUE(decision.ok()) << decision.status();
  Set fired, agencies;
  for (const auto& v : decision->verdicts) {
    if (v.fired) fired.insert(v.rule_id);
    EXPECT_FALSE(v.reasons.empty()) << v.rule_id << " gives no reason";
  }
  for (const auto& d : decision->destinations) {
    EXPECT_TRUE(agencies.insert(d.agency->id()).second) << "duplicate " << d.agency->id();
  }
  EXPECT_EQ(fired, s.fired);
  EXPECT_EQ(agencies, s.agencies);
  EXPECT_EQ(decision->priority, s.priority);
  for (const auto& d : decision->destinations) {
    if (d.agency->kind() == v1::LOCAL_LAW_ENFORCEMENT && fired.count("ht-referral")) {
      EXPECT_EQ(d.ack_deadline - now,
                s.priority == v1::URGENT ? absl::Hours(1) : absl::Hours(4));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Connecticut, RoutingTableTest, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) {
                           std::string name;
                           for (char c : info.param.name) {
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           }
                           return name;
                         });

TEST(RoutingTableSize, HasAtLeastThirtyScenarios) { EXPECT_GE(Scenarios().size(), 30u); }

}  // namespace
}  // namespace hart
