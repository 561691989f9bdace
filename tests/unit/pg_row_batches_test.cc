// Rows a PostgreSQL write transaction inserts by one statement each kind
// (unnest of arrays: PgLeafBatch, PgDeliveryRows): every field must come
// back as it went in, whatever the text holds (an array literal quotes and
// escapes it), whatever the bytes (sent as hex), NULL where absent, and
// rows in the order they were added.
#include <string>

#include "absl/strings/str_cat.h"

#include "broker/store/postgres/pg_audit_rows.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_schema.h"
#include "gtest/gtest.h"
#include "tests/support/pg_fresh_database.h"

namespace hart::pg {
namespace {

class PgRowBatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = testing::FreshDatabaseOptions("row_batches");
    ASSERT_TRUE(options.ok()) << options.status();
    auto conn = PgConn::Connect(*options);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    ASSERT_TRUE(ApplySchema(*conn_).ok());
  }
  std::unique_ptr<PgConn> conn_;
};

TEST_F(PgRowBatchesTest, EveryFieldOfEveryLeafIsStoredAsGivenInOneStatement) {
  auto* conn = &conn_;

  std::vector<AuditEvent> events(3);
  events[0] = {absl::FromUnixMicros(1'700'000'000'123'456), "careline/careline-intake",
               "intake.accepted", "ref-1", "", std::string(32, '\xab'), "", 0, ""};
  // What an array literal must escape or could mistake for its own syntax.
  events[1] = {absl::FromUnixMicros(-5), "agency/\"quoted\"", "delivery.sent", "ref-1",
               "del-{1,2}", std::string("\0\x01\\\"", 4), "back\\slash, {brace} \"q\" NULL é",
               0, ""};
  events[2] = {absl::FromUnixMicros(0), "", "", "", "", "", "NULL", 0, ""};
  PgLeafBatch batch;
  for (size_t i = 0; i < events.size(); ++i) {
    batch.Add(40 + i, events[i], std::string(32, static_cast<char>(i)));
  }
  EXPECT_EQ(batch.size(), 3u);
  ASSERT_TRUE((*conn)->Defer("BEGIN", {}, /*prepare=*/false).ok());
  ASSERT_TRUE(batch.Defer(**conn).ok());
  EXPECT_EQ(batch.size(), 0u);  // emptied: a second Defer adds nothing
  ASSERT_TRUE(batch.Defer(**conn).ok());
  ASSERT_TRUE((*conn)->Defer("COMMIT", {}, false).ok());
  ASSERT_TRUE((*conn)->Flush().ok());

  auto rows = (*conn)->Query(
      "SELECT idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail, "
      "leaf_hash FROM audit_events ORDER BY idx");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 3);
  for (int r = 0; r < 3; ++r) {
    const AuditEvent& e = events[static_cast<size_t>(r)];
    EXPECT_EQ(rows->Int(r, 0), 41 + r);  // 1-based
    EXPECT_EQ(rows->Time(r, 1), e.at);
    EXPECT_EQ(rows->Text(r, 2), e.actor);
    EXPECT_EQ(rows->Text(r, 3), e.action);
    EXPECT_EQ(rows->Text(r, 4), e.referral_id);
    EXPECT_EQ(rows->Text(r, 5), e.delivery_id);
    EXPECT_EQ(rows->Bytes(r, 6), e.payload_sha256);
    EXPECT_EQ(rows->Text(r, 7), e.detail);
    EXPECT_FALSE(rows->IsNull(r, 7));
    EXPECT_EQ(rows->Bytes(r, 8), std::string(32, static_cast<char>(r)));
  }
}

TEST_F(PgRowBatchesTest, EveryFieldOfEveryDeliveryIsStoredAsGivenInTheOrderAdded) {
  ASSERT_TRUE(conn_->Exec(
      "INSERT INTO referrals (referral_id, careline_report_id, content_sha256, intake, "
      "receipt, priority, resolved_town, received_at, accepted_at) "
      "VALUES ('ref-1', 'CL-1', '\\x01', '\\x', '\\x', 1, 'Hartford', 0, 0)").ok());
  DeliveryRecord full;
  full.delivery_id = "del-b";  // added first, sorts last by id
  full.referral_id = "ref-1";
  full.agency_id = "task-force";
  full.agency_kind = v1::HT_TASK_FORCE;
  full.rule_ids = {"r1", "r \"2\""};
  full.adapter_type = "grpc_feed";
  full.state = v1::IN_FLIGHT;
  full.attempts = 3;
  full.created_at = absl::FromUnixMicros(1'000);
  full.next_attempt_at = absl::FromUnixMicros(2'000);
  full.ack_deadline = absl::FromUnixMicros(3'000);
  full.delivery_deadline = absl::FromUnixMicros(4'000);
  full.last_attempt_at = absl::FromUnixMicros(5'000);
  full.kind = v1::ESCALATION;
  full.changes = {"intake.town", "rule:x"};
  full.escalation.emplace();
  full.escalation->set_escalated_delivery_id("del-0");
  full.escalation->set_escalated_agency_id("csao");
  full.erasure.emplace();
  full.erasure->set_court_order_reference("NULL, {x} \\ \"y\"");
  full.claim_owner = "replica-2";
  full.priority = v1::URGENT;
  TimerRecord ladder;
  ladder.timer_id = "t-1";
  ladder.due_at = absl::FromUnixMicros(6'000);
  ladder.base_at = absl::FromUnixMicros(7'000);
  ladder.reason = v1::ACK_DEADLINE_MISSED;
  const std::string placed = "feed:task-force#12";
  DeliveryRecord bare;
  bare.delivery_id = "del-a";
  bare.referral_id = "ref-1";
  bare.agency_id = "";
  bare.transport_ref = "kept";

  PgDeliveryRows rows;
  rows.Add(full, &ladder, &placed);
  rows.Add(bare);
  ASSERT_TRUE(rows.Defer(*conn_).ok());
  ASSERT_TRUE(conn_->Flush().ok());

  auto stored = conn_->Query(absl::StrCat(
      "SELECT ", kDeliveryColumns, ", d.ladder_timer_id, d.ladder_due_at, d.ladder_base_at, "
      "d.ladder_reason FROM deliveries d ORDER BY d.created_seq"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->rows(), 2);
  const DeliveryRecord first = ReadDelivery(*stored, 0);
  EXPECT_EQ(first.delivery_id, "del-b");
  EXPECT_EQ(first.agency_id, "task-force");
  EXPECT_EQ(first.agency_kind, full.agency_kind);
  EXPECT_EQ(first.rule_ids, full.rule_ids);
  EXPECT_EQ(first.adapter_type, "grpc_feed");
  EXPECT_EQ(first.state, v1::IN_FLIGHT);
  EXPECT_EQ(first.attempts, 3u);
  EXPECT_EQ(first.created_at, full.created_at);
  EXPECT_EQ(first.next_attempt_at, full.next_attempt_at);
  EXPECT_EQ(first.ack_deadline, full.ack_deadline);
  EXPECT_EQ(first.delivery_deadline, full.delivery_deadline);
  EXPECT_EQ(first.last_attempt_at, full.last_attempt_at);
  EXPECT_EQ(first.kind, v1::ESCALATION);
  EXPECT_EQ(first.changes, full.changes);
  ASSERT_TRUE(first.escalation.has_value());
  EXPECT_EQ(first.escalation->SerializeAsString(), full.escalation->SerializeAsString());
  ASSERT_TRUE(first.erasure.has_value());
  EXPECT_EQ(first.erasure->court_order_reference(), full.erasure->court_order_reference());
  EXPECT_EQ(first.claim_owner, "replica-2");
  EXPECT_EQ(first.priority, v1::URGENT);
  EXPECT_EQ(first.transport_ref, placed);  // the placement's, not the record's
  const int ladder_column = kDeliveryColumnCount;
  EXPECT_EQ(stored->Text(0, ladder_column), "t-1");
  EXPECT_EQ(stored->Int(0, ladder_column + 1), 6'000);
  EXPECT_EQ(stored->Int(0, ladder_column + 2), 7'000);
  EXPECT_EQ(stored->Int(0, ladder_column + 3), ladder.reason);

  const DeliveryRecord second = ReadDelivery(*stored, 1);
  EXPECT_EQ(second.delivery_id, "del-a");
  EXPECT_TRUE(second.rule_ids.empty());
  EXPECT_FALSE(second.delivery_deadline.has_value());
  EXPECT_FALSE(second.last_attempt_at.has_value());
  EXPECT_FALSE(second.escalation.has_value());
  EXPECT_FALSE(second.erasure.has_value());
  EXPECT_EQ(second.transport_ref, "kept");
  EXPECT_EQ(second.priority, v1::NORMAL);
  EXPECT_TRUE(stored->IsNull(1, ladder_column + 1));  // no ladder start held
}

}  // namespace
}  // namespace hart::pg
