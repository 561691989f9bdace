// Failed fsyncs and short writes under the real hart-broker, injected by
// the fault VFS beneath its SQLite store (HART_SQLITE_FAULT_CONTROL): the
// intake or acknowledgement whose commit failed is answered UNAVAILABLE
// with the cause in plain words; nothing is acknowledged while the fault
// lasts; readiness (/readyz and the gRPC health service) goes false and
// comes back by itself when the fault clears; after a kill -9 and a restart
// every acknowledged intake is there with all its deliveries, nothing
// refused is, and the audit log verifies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>

#include "tests/faults/storage_fault_harness.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNotDurable[] = "the broker's storage failed to save data durably";

// No SQL, no file path, no SQLite text in what a client reads.
void ExpectPlainCause(const grpc::Status& status, const std::string& data_dir) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(kNotDurable));
  for (const std::string& leak : {std::string("sqlite"), std::string("hart.db"), data_dir,
                                 std::string("I/O"), std::string("INSERT")}) {
    EXPECT_THAT(status.error_message(), Not(HasSubstr(leak)));
  }
}

class FsyncFaultsE2eTest : public ::testing::Test {
 protected:
  TempDir dir_;
  const std::string data_ = dir_.path() + "/data";
  FaultControl faults_{dir_.path() + "/faults"};
};

TEST_F(FsyncFaultsE2eTest, NothingIsAcknowledgedAfterAFailedFsyncAndNothingAcknowledgedIsLost) {
  BrokerProcess broker(data_);
  ASSERT_TRUE(broker.running());
  IntakeLedger ledger("CL-FSYNC");
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(ledger.Submit(broker).ok());
  ASSERT_TRUE(WaitForReadiness(broker, true));
  const auto [agency, delivery] = FeedDeliveryOf(ledger.acknowledged().front());
  ASSERT_FALSE(delivery.empty());

  // Every fsync fails from now on.
  faults_.Set("sync fail\n");
  const size_t acknowledged_before = ledger.acknowledged().size();
  ExpectPlainCause(ledger.Submit(broker), data_);
  ASSERT_TRUE(WaitForReadiness(broker, false));
  const auto readyz = ReadyzOf(broker);
  ASSERT_TRUE(readyz.has_value());
  EXPECT_EQ(readyz->status, 503);
  EXPECT_THAT(readyz->body, HasSubstr("[-]store failed"));
  // Still failing while the fault lasts, the readiness probe's recovery
  // attempts included: intakes and acknowledgements alike.
  for (int i = 0; i < 4; ++i) ExpectPlainCause(ledger.Submit(broker), data_);
  ExpectPlainCause(Acknowledge(broker, agency, delivery, v1::Acknowledgement::RECEIVED), data_);
  EXPECT_EQ(ledger.acknowledged().size(), acknowledged_before);
  EXPECT_EQ(HealthServing(broker), false);

  // The fault clears: the broker comes back by itself.
  const auto cleared = std::chrono::steady_clock::now();
  faults_.Clear();
  ASSERT_TRUE(WaitForReadiness(broker, true));
  std::cout << "figures: fsync failing: " << ledger.refused().size()
            << " intakes and 1 acknowledgement refused UNAVAILABLE, 0 acknowledged; ready again "
            << SecondsSince(cleared) << " s after the fault cleared\n";
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(ledger.Submit(broker).ok());
  EXPECT_TRUE(Acknowledge(broker, agency, delivery, v1::Acknowledgement::RECEIVED).ok());

  // A crash right after: the refused commits must not come back from the log.
  broker.Kill();
  ASSERT_TRUE(broker.Restart());
  ASSERT_TRUE(WaitForReadiness(broker, true));
  EXPECT_EQ(ledger.refused().size(), 5u);
  ExpectEverythingAcknowledgedKept(broker, ledger, data_);
}

TEST_F(FsyncFaultsE2eTest, AShortWriteFailsItsCommitAndTheBrokerRecoversAlone) {
  BrokerProcess broker(data_);
  ASSERT_TRUE(broker.running());
  IntakeLedger ledger("CL-SHORT");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ledger.Submit(broker).ok());
  // Each fault fails one log write, then is spent: the readiness probe
  // recovers the writer by itself before the next one is set (a recovery
  // writes the log too, and would take the next fault for itself).
  for (const char* fault : {"write short file=wal count=1\n", "write fail file=wal count=1\n"}) {
    faults_.Set(fault);
    ExpectPlainCause(ledger.Submit(broker), data_);  // not ready from its commit on
    ASSERT_TRUE(WaitForReadiness(broker, true));
  }
  faults_.Clear();  // a restarted broker reads the rules afresh
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ledger.Submit(broker).ok());
  broker.Kill();
  ASSERT_TRUE(broker.Restart());
  ExpectEverythingAcknowledgedKept(broker, ledger, data_);
}

}  // namespace
}  // namespace hart::testing
