// The gRPC edge's pure parts: identities, time wording (error mapping:
// status_mapping_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <grpcpp/security/auth_context.h>

#include <map>

#include "broker/api/identity.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {

// No properties to walk (its constructor is protected).
struct NoProperties : grpc::AuthPropertyIterator {
  NoProperties() = default;
};

// An mTLS peer as gRPC describes it: authenticated or not, with URI SANs.
class FakeAuthContext : public grpc::AuthContext {
 public:
  FakeAuthContext(bool authenticated, std::vector<std::string> uris)
      : authenticated_(authenticated), uris_(std::move(uris)) {}
  bool IsPeerAuthenticated() const override { return authenticated_; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    if (name == "peer_uri") {
      for (const std::string& uri : uris_) values.emplace_back(uri);
    }
    return values;
  }
  grpc::AuthPropertyIterator begin() const override { return NoProperties(); }
  grpc::AuthPropertyIterator end() const override { return NoProperties(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {}
  bool SetPeerIdentityPropertyName(const std::string&) override { return false; }

 private:
  bool authenticated_;
  std::vector<std::string> uris_;
};

TEST(IdentityTest, APeerIsKnownByItsHartUriAmongOthers) {
  auto identity = IdentityFromAuthContext(FakeAuthContext(
      true, {"https://hartford.ct.gov/", "spiffe://hart.ct.gov/agency/hartford-pd"}));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->ToString(), "agency/hartford-pd");
}

TEST(IdentityTest, APeerWithoutAUsableUriIsRefusedWithTheReason) {
  auto none = IdentityFromAuthContext(FakeAuthContext(true, {"https://hartford.ct.gov/"}));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(none.status().message()), ::testing::HasSubstr("has no spiffe://"));
  // A HART URI that does not parse: its own reason, not "no URI".
  auto bad = IdentityFromAuthContext(FakeAuthContext(true, {"spiffe://hart.ct.gov/king/x"}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("unknown role 'king'"));
  auto anonymous =
      IdentityFromAuthContext(FakeAuthContext(false, {"spiffe://hart.ct.gov/agency/x"}));
  EXPECT_THAT(std::string(anonymous.status().message()),
              ::testing::HasSubstr("a client certificate is required"));
}

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
