// The audit leaves of a PostgreSQL write transaction go in one INSERT
// (PgLeafBatch): every field must come back as it went in, whatever the
// text holds (an array literal quotes and escapes it) and whatever the
// bytes (sent as hex).
#include <string>

#include "broker/common/secret_file.h"
#include "broker/store/postgres/pg_audit_rows.h"
#include "broker/store/postgres/pg_schema.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_server.h"

namespace hart::pg {
namespace {

TEST(PgLeafBatchTest, EveryFieldOfEveryLeafIsStoredAsGivenInOneStatement) {
  auto server = testing::PostgresServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  auto database = (*server)->CreateDatabase("leaf_batch");
  ASSERT_TRUE(database.ok()) << database.status();
  auto password = ReadSecretFile((*server)->password_file());
  ASSERT_TRUE(password.ok()) << password.status();
  PgConnectOptions options;
  options.conninfo = (*server)->ConnectionString(*database);
  options.password = *password;
  auto conn = PgConn::Connect(options);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE(ApplySchema(**conn).ok());

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

}  // namespace
}  // namespace hart::pg
