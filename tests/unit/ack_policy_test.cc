#include "broker/acks/ack_policy.h"

#include <gtest/gtest.h>

namespace hart {
namespace {

namespace v1 = ::hart::referral::v1;
using Kind = v1::Acknowledgement;

struct Case {
  v1::DeliveryState from;
  v1::Acknowledgement::Kind kind;
  const char* note;
  absl::StatusCode code;
  v1::DeliveryState to;
  bool changes;
};

// Verifies every (state, ack kind) transition of SPEC §5.
TEST(AckPolicyTest, TransitionTable) {
  const Case cases[] = {
      {v1::IN_FLIGHT, Kind::RECEIVED, "", absl::StatusCode::kOk, v1::DELIVERED, true},
      {v1::PENDING, Kind::RECEIVED, "", absl::StatusCode::kOk, v1::DELIVERED, true},
      {v1::DEAD, Kind::RECEIVED, "", absl::StatusCode::kOk, v1::DELIVERED, true},
      {v1::DELIVERED, Kind::RECEIVED, "", absl::StatusCode::kOk, v1::DELIVERED, false},
      {v1::ACKNOWLEDGED, Kind::RECEIVED, "", absl::StatusCode::kOk, v1::ACKNOWLEDGED, false},
      {v1::IN_FLIGHT, Kind::ACCEPTED, "", absl::StatusCode::kOk, v1::ACKNOWLEDGED, true},
      {v1::DELIVERED, Kind::ACCEPTED, "", absl::StatusCode::kOk, v1::ACKNOWLEDGED, true},
      {v1::DEAD, Kind::ACCEPTED, "", absl::StatusCode::kOk, v1::ACKNOWLEDGED, true},
      {v1::ACKNOWLEDGED, Kind::ACCEPTED, "", absl::StatusCode::kOk, v1::ACKNOWLEDGED, false},
      {v1::DECLINED, Kind::ACCEPTED, "", absl::StatusCode::kFailedPrecondition, {}, false},
      {v1::DELIVERED, Kind::DECLINED, "not our town", absl::StatusCode::kOk, v1::DECLINED, true},
      {v1::DELIVERED, Kind::DECLINED, "", absl::StatusCode::kInvalidArgument, {}, false},
      {v1::DECLINED, Kind::DECLINED, "again", absl::StatusCode::kOk, v1::DECLINED, false},
      {v1::ACKNOWLEDGED, Kind::DECLINED, "late", absl::StatusCode::kFailedPrecondition, {}, false},
      {v1::DELIVERED, Kind::KIND_UNSPECIFIED, "", absl::StatusCode::kInvalidArgument, {}, false},
  };
  for (const auto& c : cases) {
    auto result = NextStateForAck(c.from, c.kind, c.note);
    SCOPED_TRACE(v1::DeliveryState_Name(c.from) + " + " + Kind::Kind_Name(c.kind));
    ASSERT_EQ(result.status().code(), c.code) << result.status();
    if (!result.ok()) continue;
    EXPECT_EQ(result->new_state, c.to);
    EXPECT_EQ(result->changes_state, c.changes);
  }
}

TEST(AckPolicyTest, RejectsOversizedNotes) {
  auto result = NextStateForAck(v1::DELIVERED, Kind::DECLINED, std::string(kMaxAckNoteBytes + 1, 'n'));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hart
