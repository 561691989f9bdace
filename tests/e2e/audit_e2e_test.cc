// The audit log through the real binary, hartctl and hart-admin: tampering
// with the SQLite store directly is found and named (by hart-admin, on the
// stopped broker's store); concurrent submissions give a log whose
// checkpoints all verify; a partner proves its own delivery with nothing but
// the public key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <map>
#include <filesystem>
#include <mutex>
#include <thread>

#include "hart/referral/v1/audit.grpc.pb.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Output = CommandOutput;

Output Hartctl(const std::string& args) { return RunHartctl(args); }

// `hart-admin audit verify` on a stopped broker's data directory, with the
// key directory the test broker used (BrokerProcess: DATA.keys).
Output AdminVerify(const std::string& data, const std::string& key_dir,
                   const std::string& public_key) {
  const std::string command = std::string(HART_ADMIN_BINARY) + " audit verify --data_dir " +
                              data + " --key-dir " + key_dir + " --public_key " + public_key +
                              " 2>&1";
  Output out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.text.append(buffer, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

void Sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

std::unique_ptr<grpc::ClientContext> Context() { return CallContext(); }

// One broker run: every example submitted and fed, a checkpoint, stopped.
class AuditTamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    BrokerProcess broker(Data());
    ASSERT_TRUE(broker.running());
    for (const char* name : {"school-sex-trafficking-hartford", "urgent-hotel-bridgeport",
                             "labor-trafficking-waterbury"}) {
      v1::SubmitIntakeRequest request;
      *request.mutable_intake() = LoadIntake(name);
      v1::SubmitIntakeResponse response;
      ASSERT_TRUE(broker.Intake()->SubmitIntake(Context().get(), request, &response).ok());
    }
    v1::Checkpoint checkpoint;
    auto audit = v1::AuditService::NewStub(broker.Channel("auditor"));
    ASSERT_TRUE(audit->CreateCheckpoint(Context().get(), {}, &checkpoint).ok());
    tree_size_ = checkpoint.tree_size();
    broker.Terminate();
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Data() { return dir_->path() + "/data"; }

  // A copy of the stopped broker's data directory to tamper with.
  std::string Copy() {
    const std::string copy = copies_.path() + "/data";
    std::filesystem::copy(Data(), copy, std::filesystem::copy_options::recursive);
    return copy;
  }
  Output Verify(const std::string& data) {
    return AdminVerify(data, Data() + ".keys", Data() + "/audit-signing.key.pub");
  }

  static TempDir* dir_;
  static uint64_t tree_size_;
  TempDir copies_;
};
TempDir* AuditTamperTest::dir_ = nullptr;
uint64_t AuditTamperTest::tree_size_ = 0;

TEST_F(AuditTamperTest, AnUntouchedStoreVerifies) {
  ASSERT_GT(tree_size_, 10u);
  const Output out = Verify(Copy());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("audit log OK"));
}

// A file that is no Ed25519 public key is the user's mistake (exit 2),
// not a log that failed (exit 1): an auditor must not read it as tampering.
TEST_F(AuditTamperTest, AFileThatIsNoPublicKeyIsAUsageErrorNotAFailedLog) {
  const std::string not_a_key = copies_.path() + "/not-a-key.pem";
  std::ofstream(not_a_key) << "root:x:0:0:root:/root:/bin/bash\n";
  const Output out = AdminVerify(Copy(), Data() + ".keys", not_a_key);
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_THAT(out.text, HasSubstr("not-a-key.pem: the public key is not a PEM Ed25519 key"));
  EXPECT_THAT(out.text, ::testing::Not(HasSubstr("FAILED")));
}

TEST_F(AuditTamperTest, ChangingOneByteOfOneEventIsFoundAtItsIndex) {
  const std::string data = Copy();
  // idx is 1-based in SQLite: row 6 is log index 5.
  Sql(data + "/hart.db",
      "UPDATE audit_events SET detail = detail || 'x' WHERE idx = 6");
  const Output out = Verify(data);
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_THAT(out.text, HasSubstr("FAILED at index 5"));
}

TEST_F(AuditTamperTest, DeletingOneEventIsFoundAtItsIndex) {
  const std::string data = Copy();
  Sql(data + "/hart.db", "DELETE FROM audit_events WHERE idx = 4");
  const Output out = Verify(data);
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_THAT(out.text, HasSubstr("FAILED at index 3"));
}

TEST_F(AuditTamperTest, SwappingTwoEventsIsFoundAtTheFirst) {
  const std::string data = Copy();
  Sql(data + "/hart.db",
      "UPDATE audit_events SET idx = -1 WHERE idx = 8;"
      "UPDATE audit_events SET idx = 8 WHERE idx = 9;"
      "UPDATE audit_events SET idx = 9 WHERE idx = -1;");
  const Output out = Verify(data);
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_THAT(out.text, HasSubstr("FAILED at index 7"));
}

TEST_F(AuditTamperTest, AppendingOneEventWithoutTheBrokerIsFound) {
  const std::string data = Copy();
  Sql(data + "/hart.db",
      "INSERT INTO audit_events (idx, at, actor, action, referral_id, delivery_id, "
      "payload_sha256, detail, leaf_hash) SELECT idx + 1, at, actor, action, referral_id, "
      "delivery_id, payload_sha256, detail, leaf_hash FROM audit_events "
      "ORDER BY idx DESC LIMIT 1");
  const Output out = Verify(data);
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_THAT(out.text, HasSubstr("FAILED at index " + std::to_string(tree_size_)));
}

TEST(AuditE2ETest, ConcurrentSubmissionsGiveALogWhoseCheckpointsAllVerify) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::mutex mu;
  std::vector<v1::Receipt> receipts;
  {
    BrokerProcess broker(data);
    ASSERT_TRUE(broker.running());
    std::atomic<bool> stop{false};
    std::atomic<int> checkpoints{0};
    std::thread checkpointer([&] {
      auto audit = v1::AuditService::NewStub(broker.Channel("auditor"));
      while (!stop) {
        v1::Checkpoint c;
        const grpc::Status status = audit->CreateCheckpoint(Context().get(), {}, &c);
        // As fast as it can: the per-identity rate limit may refuse some.
        if (status.ok()) {
          ++checkpoints;
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
        }
      }
    });
    std::vector<std::thread> submitters;
    for (int t = 0; t < 8; ++t) {
      submitters.emplace_back([&, t] {
        auto stub = broker.Intake();
        for (int i = 0; i < 25; ++i) {
          v1::SubmitIntakeRequest request;
          *request.mutable_intake() = LoadIntake("urgent-hotel-bridgeport");
          request.mutable_intake()->set_careline_report_id("CL-A-" + std::to_string(t) + "-" +
                                                           std::to_string(i));
          v1::SubmitIntakeResponse response;
          ASSERT_TRUE(stub->SubmitIntake(Context().get(), request, &response).ok());
          std::lock_guard<std::mutex> lock(mu);
          receipts.push_back(response.receipt());
        }
      });
    }
    for (auto& t : submitters) t.join();
    stop = true;
    checkpointer.join();
    EXPECT_GE(checkpoints.load(), 2);
    // Online verification through the API, with the key from the data dir.
    const Output online = Hartctl("--target 127.0.0.1:" + std::to_string(broker.port()) +
                                  " --as supervisor audit verify --public_key " + data +
                                  "/audit-signing.key.pub");
    EXPECT_EQ(online.exit_code, 0) << online.text;
    // The events match the transactions that committed: every receipt's
    // audit index holds that referral's acceptance. (Read in pages, as a
    // supervisor: the auditor's own rate was spent by the checkpointer.)
    auto audit = v1::AuditService::NewStub(broker.Channel("supervisor"));
    std::map<uint64_t, v1::AuditEntry> entries;
    for (uint64_t start = 0;;) {
      v1::ListEventsRequest request;
      request.set_start_index(start);
      request.set_page_size(1000);
      v1::ListEventsResponse page;
      ASSERT_TRUE(audit->ListEvents(Context().get(), request, &page).ok());
      for (const auto& e : page.events()) entries[e.entry().index()] = e.entry();
      if (page.next_start_index() == 0) break;
      start = page.next_start_index();
    }
    for (const auto& r : receipts) {
      ASSERT_TRUE(entries.count(r.audit_index())) << r.audit_index();
      EXPECT_EQ(entries[r.audit_index()].action(), "intake.accepted");
      EXPECT_EQ(entries[r.audit_index()].referral_id(), r.referral_id());
    }
  }
  EXPECT_EQ(receipts.size(), 200u);
  const Output offline = AdminVerify(data, data + ".keys", data + "/audit-signing.key.pub");
  EXPECT_EQ(offline.exit_code, 0) << offline.text;
  EXPECT_THAT(offline.text, HasSubstr("audit log OK"));
}

// hartctl only talks to a broker; reading a data directory is hart-admin's
// job, and hart-admin leaves a running broker's store alone.
TEST(AuditE2ETest, OfflineVerificationIsHartAdminsAndOnlyOnAStoppedBroker) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  BrokerProcess broker(data);
  ASSERT_TRUE(broker.running());
  const std::string key = data + "/audit-signing.key.pub";

  const Output hartctl = Hartctl("audit verify --data_dir " + data + " --public_key " + key);
  EXPECT_EQ(hartctl.exit_code, 2) << hartctl.text;
  EXPECT_THAT(hartctl.text, HasSubstr("hart-admin audit verify --data_dir " + data));
  EXPECT_THAT(hartctl.text, Not(HasSubstr("audit log")));

  const Output running = AdminVerify(data, data + ".keys", key);
  EXPECT_EQ(running.exit_code, 2) << running.text;
  EXPECT_THAT(running.text, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(running.text, HasSubstr("in use by another broker process"));
  EXPECT_THAT(running.text, Not(HasSubstr("audit log")));

  // Once the broker is stopped, the same command reads and verifies it.
  broker.Terminate();
  const Output stopped = AdminVerify(data, data + ".keys", key);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.text;
  EXPECT_THAT(stopped.text, HasSubstr("audit log OK"));
}

TEST(AuditE2ETest, APartnerProvesItsDeliveryWithOnlyThePublicKey) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  v1::SubmitIntakeResponse response;
  ASSERT_TRUE(broker.Intake()->SubmitIntake(Context().get(), request, &response).ok());
  // The partner reads its feed: the event carries the audit index.
  auto feed = broker.Feed("waterbury-pd");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = feed->Subscribe(&context, v1::SubscribeRequest());
  v1::FeedEvent event;
  while (reader->Read(&event) && !event.has_delivery()) {
  }
  context.TryCancel();
  reader->Finish();
  ASSERT_TRUE(event.has_delivery());
  const uint64_t index = event.delivery().audit_index();
  v1::Checkpoint checkpoint;
  ASSERT_TRUE(v1::AuditService::NewStub(broker.Channel("auditor"))
                  ->CreateCheckpoint(Context().get(), {}, &checkpoint)
                  .ok());
  const std::string target = "--target 127.0.0.1:" + std::to_string(broker.port());
  const std::string key = " --public_key " + dir.path() + "/data/audit-signing.key.pub";
  const Output proved = Hartctl(target + " --as agency-waterbury-pd audit prove --index " +
                                std::to_string(index) + key);
  EXPECT_EQ(proved.exit_code, 0) << proved.text;
  EXPECT_THAT(proved.text, HasSubstr("VERIFIED: event " + std::to_string(index)));
  EXPECT_THAT(proved.text, HasSubstr("delivery.sent"));
  // Another agency may not prove it; a wrong key does not verify.
  const Output other = Hartctl(target + " --as agency-csao audit prove --index " +
                               std::to_string(index) + key);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.text, HasSubstr("PERMISSION_DENIED"));
  const std::string other_key = dir.path() + "/other.key";
  {
    // A key the broker never used: made the same way the broker makes its own.
    TempDir scratch;
    BrokerProcess unrelated(scratch.path() + "/data");
    std::filesystem::copy_file(scratch.path() + "/data/audit-signing.key.pub", other_key);
  }
  const Output forged = Hartctl(target + " --as agency-waterbury-pd audit prove --index " +
                                std::to_string(index) + " --public_key " + other_key);
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_THAT(forged.text, HasSubstr("NOT VERIFIED"));
  const std::string not_a_key_file = dir.path() + "/not-a-key.pem";
  std::ofstream(not_a_key_file) << "not a key\n";
  const Output not_a_key = Hartctl(target + " --as agency-waterbury-pd audit prove --index " +
                                   std::to_string(index) + " --public_key " + not_a_key_file);
  EXPECT_EQ(not_a_key.exit_code, 2) << not_a_key.text;
  EXPECT_THAT(not_a_key.text, HasSubstr("the public key is not a PEM Ed25519 key"));
}

}  // namespace
}  // namespace hart::testing
