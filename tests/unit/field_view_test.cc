// Field views per agency kind: a field outside a kind's view never reaches
// that kind's messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/views/view_builder.h"
#include "google/protobuf/descriptor.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

namespace pb = google::protobuf;
using hart::testing::ConnecticutConfig;
using hart::testing::LoadIntake;

// Every leaf field path of a message type, e.g. "reporter.name".
void LeafPaths(const pb::Descriptor* d, const std::string& prefix, std::vector<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->message_type() != nullptr && !f->is_repeated() &&
        f->message_type()->full_name().rfind("google.protobuf.", 0) != 0) {
      LeafPaths(f->message_type(), path, out);
    } else {
      out->push_back(path);
    }
  }
}

// Whether `path` is set in `message`.
bool IsSet(const pb::Message& message, const std::string& path) {
  const pb::Message* m = &message;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string name = path.substr(start, dot == std::string::npos ? dot : dot - start);
    const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(name);
    const pb::Reflection* r = m->GetReflection();
    if (f->is_repeated()) return r->FieldSize(*m, f) > 0;
    if (dot == std::string::npos) {
      return f->has_presence() ? r->HasField(*m, f) : [&] {
        std::vector<const pb::FieldDescriptor*> set;
        r->ListFields(*m, &set);
        return std::find(set.begin(), set.end(), f) != set.end();
      }();
    }
    if (!r->HasField(*m, f)) return false;
    m = &r->GetMessage(*m, f);
    start = dot + 1;
  }
}

v1::Intake FullIntake() {
  v1::Intake intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_reporter()->set_confidential(true);
  intake.mutable_child()->set_age_years(15);
  intake.mutable_concern()->add_venues(v1::Venue::STREET);
  intake.mutable_missing()->set_is_missing(true);
  *intake.mutable_missing()->mutable_missing_since() = intake.received_at();
  intake.set_immediate_danger(true);
  return intake;
}

TEST(FieldViewTest, NoKindReceivesAFieldOutsideItsView) {
  const ViewBuilder views(ConnecticutConfig());
  const v1::Intake intake = FullIntake();
  std::vector<std::string> paths;
  LeafPaths(v1::Intake::descriptor(), "", &paths);
  ASSERT_GT(paths.size(), 20u);
  for (int k = v1::AgencyKind_MIN + 1; k <= v1::AgencyKind_MAX; ++k) {
    const auto kind = static_cast<v1::AgencyKind>(k);
    const v1::Intake seen = views.TrimIntake(kind, intake);
    for (const auto& path : paths) {
      ASSERT_TRUE(IsSet(intake, path)) << "test intake leaves " << path << " empty";
      if (!views.Covers(kind, path)) {
        EXPECT_FALSE(IsSet(seen, path)) << v1::AgencyKind_Name(kind) << " sees " << path;
      }
    }
  }
}

TEST(FieldViewTest, LawEnforcementSeesEverythingIncludingAConfidentialReporter) {
  const ViewBuilder views(ConnecticutConfig());
  const v1::Intake intake = FullIntake();
  for (auto kind : {v1::LOCAL_LAW_ENFORCEMENT, v1::HT_TASK_FORCE, v1::STATE_ATTORNEY}) {
    EXPECT_EQ(views.TrimIntake(kind, intake).SerializeAsString(), intake.SerializeAsString())
        << v1::AgencyKind_Name(kind);
  }
}

TEST(FieldViewTest, MdtAndCacGetEverythingButAConfidentialReportersIdentity) {
  const ViewBuilder views(ConnecticutConfig());
  v1::Intake intake = FullIntake();
  for (auto kind : {v1::MDT, v1::CAC}) {
    const v1::Intake seen = views.TrimIntake(kind, intake);
    EXPECT_TRUE(seen.reporter().name().empty());
    EXPECT_TRUE(seen.reporter().phone().empty());
    EXPECT_TRUE(seen.reporter().organization().empty());
    EXPECT_EQ(seen.reporter().role(), v1::Reporter::SCHOOL_STAFF);
    EXPECT_EQ(seen.concern().narrative(), intake.concern().narrative());
    EXPECT_EQ(seen.child().given_name(), "Jordan");
  }
  intake.mutable_reporter()->set_confidential(false);
  EXPECT_EQ(views.TrimIntake(v1::MDT, intake).reporter().name(), "Dana Whitfield");
}

TEST(FieldViewTest, NcmecGetsTheMissingChildFactsButNoNarrativeOrReporter) {
  const ViewBuilder views(ConnecticutConfig());
  const v1::Intake seen = views.TrimIntake(v1::NCMEC, FullIntake());
  EXPECT_EQ(seen.child().given_name(), "Jordan");
  EXPECT_TRUE(seen.missing().is_missing());
  EXPECT_TRUE(seen.concern().narrative().empty());
  EXPECT_FALSE(seen.has_reporter());
}

TEST(FieldViewTest, NotificationsCarryNoIntakeAtAll) {
  const ViewBuilder views(ConnecticutConfig());
  DeliveryRecord delivery;
  delivery.delivery_id = "dlv_1";
  delivery.referral_id = "ref_1";
  delivery.agency_id = "hart-lead-region-4";
  delivery.agency_kind = v1::HART_REGIONAL_LEAD;
  const v1::ReferralView view = views.BuildNotification(delivery, v1::URGENT);
  EXPECT_FALSE(view.has_intake());
  EXPECT_EQ(view.referral_id(), "ref_1");
  EXPECT_EQ(view.priority(), v1::URGENT);
}

}  // namespace
}  // namespace hart
