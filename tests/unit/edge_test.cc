// The gRPC edge's pure parts: identities, time wording (error mapping:
// status_mapping_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/api/identity.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {

TEST(IdentityTest, ParsesEveryRole) {
  auto agency = ParseIdentityUri("spiffe://hart.ct.gov/agency/hartford-pd");
  ASSERT_TRUE(agency.ok());
  EXPECT_EQ(agency->role, Role::kAgency);
  EXPECT_EQ(agency->id, "hartford-pd");
  EXPECT_EQ(agency->ToString(), "agency/hartford-pd");
  EXPECT_EQ(ParseIdentityUri("spiffe://hart.ct.gov/careline/x")->role, Role::kCareline);
  EXPECT_EQ(ParseIdentityUri("spiffe://hart.ct.gov/supervisor/x")->role, Role::kSupervisor);
  EXPECT_EQ(ParseIdentityUri("spiffe://hart.ct.gov/auditor/x")->role, Role::kAuditor);
  EXPECT_EQ(ParseIdentityUri("spiffe://hart.ct.gov/operator/x")->role, Role::kOperator);
}

TEST(IdentityTest, RejectsForeignOrMalformedUris) {
  for (const char* uri : {"spiffe://evil.example/agency/x", "spiffe://hart.ct.gov/agency",
                          "spiffe://hart.ct.gov/agency/", "spiffe://hart.ct.gov/king/x",
                          "spiffe://hart.ct.gov/agency/x/y"}) {
    EXPECT_EQ(ParseIdentityUri(uri).status().code(), absl::StatusCode::kUnauthenticated) << uri;
  }
}

TEST(TimeUtilTest, HumanDurations) {
  EXPECT_EQ(HumanDuration(absl::Hours(71) + absl::Minutes(59)), "71 h 59 m");
  EXPECT_EQ(HumanDuration(absl::Hours(72)), "72 h");
  EXPECT_EQ(HumanDuration(absl::Minutes(45)), "45 m");
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "0 m");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 8 + 3)), "8 d 3 h");
}

TEST(TimeUtilTest, ProtoRoundTrip) {
  const absl::Time t = absl::FromUnixMicros(1795269600123456);
  EXPECT_EQ(FromProtoTime(ToProtoTime(t)), t);
  EXPECT_EQ(FromProtoDuration(ToProtoDuration(absl::Milliseconds(1500))), absl::Milliseconds(1500));
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(1795269600)), "2026-11-21T14:00:00Z");
}

}  // namespace
}  // namespace hart
