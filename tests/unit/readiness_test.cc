// Readiness (/readyz, gRPC health): which states make the broker not ready,
// what it says about them, and what it does not count (per-item refusals).
// Time and ticks are manual; the probe is the test's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "broker/clock.h"
#include "broker/ops/commit_watch.h"
#include "broker/ops/health_endpoints.h"
#include "broker/ops/ops_server.h"
#include "broker/ops/readiness.h"
#include "tests/support/https_test_client.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::ops {
namespace {

using ::hart::testing::ManualScheduler;
using ::hart::testing::TestNow;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ReadinessTest : public ::testing::Test {
 protected:
  ReadinessTest() {
    options_.interval = absl::Seconds(2);
    options_.store_write_timeout = absl::Seconds(10);
    inputs_.executor_queue_length = [this] { return queued_; };
    inputs_.executor_capacity = 100;
    inputs_.probe = [this](std::function<void(absl::Status)> done) {
      probes_.push_back(std::move(done));
    };
  }

  ReadinessMonitor& Monitor() {
    if (!monitor_) {
      monitor_ = std::make_unique<ReadinessMonitor>(clock_, options_, inputs_);
      monitor_->Subscribe([this](bool ready) { changes_.push_back(ready); });
    }
    return *monitor_;
  }

  // Moves time on by one interval and runs the tick due.
  void NextTick() {
    clock_.Advance(options_.interval);
    scheduler_.RunDue();
  }

  const ReadinessCheck& CheckNamed(const ReadinessReport& report, const std::string& name) {
    for (const auto& check : report.checks) {
      if (check.name == name) return check;
    }
    ADD_FAILURE() << "no check " << name;
    return report.checks.front();
  }

  ManualClock clock_{TestNow()};
  ManualScheduler scheduler_{clock_};
  ReadinessOptions options_;
  ReadinessInputs inputs_;
  size_t queued_ = 0;
  std::vector<std::function<void(absl::Status)>> probes_;
  std::vector<bool> changes_;
  std::unique_ptr<ReadinessMonitor> monitor_;
};

TEST_F(ReadinessTest, ReadyWhenNotDrainingWritableAndNotSaturated) {
  const ReadinessReport report = Monitor().Evaluate();
  EXPECT_TRUE(report.ready);
  EXPECT_EQ(report.checks.size(), 3u);
  EXPECT_EQ(report.ToText(),
            "[+]draining ok: accepting calls\n"
            "[+]store ok: writable\n"
            "[+]store_executor ok: 0 of 100 queue slots taken\n"
            "readyz check passed\n");
  EXPECT_THAT(changes_, ElementsAre(true));
}

TEST_F(ReadinessTest, DrainingIsNotReadyForGood) {
  Monitor().BeginDrain();
  Monitor().CommitEnded(absl::OkStatus());
  const ReadinessReport report = Monitor().Evaluate();
  EXPECT_FALSE(report.ready);
  EXPECT_FALSE(CheckNamed(report, "draining").ok);
  EXPECT_THAT(report.ToText(), HasSubstr("[-]draining failed: the broker is shutting down"));
  EXPECT_THAT(report.ToText(), HasSubstr("readyz check failed"));
  EXPECT_THAT(changes_, ElementsAre(true, false));
}

// Verifies the store check's memory: a failed group commit makes the store
// not writable until a later commit succeeds; its message (which may quote
// SQL or a referral) is never repeated.
TEST_F(ReadinessTest, AFailedCommitMakesTheStoreNotWritableUntilOneSucceeds) {
  Monitor().CommitStarted();
  Monitor().CommitEnded(absl::UnavailableError("disk I/O error on INSERT INTO referrals 'Jane'"));
  ReadinessReport report = Monitor().Evaluate();
  EXPECT_FALSE(report.ready);
  EXPECT_EQ(CheckNamed(report, "store").detail,
            "the last commit failed (UNAVAILABLE); waiting for one to succeed");
  EXPECT_THAT(report.ToText(), Not(HasSubstr("Jane")));
  EXPECT_THAT(report.ToText(), Not(HasSubstr("INSERT")));

  Monitor().CommitStarted();
  Monitor().CommitEnded(absl::OkStatus());
  EXPECT_TRUE(Monitor().Evaluate().ready);
  EXPECT_THAT(changes_, ElementsAre(true, false, true));
}

TEST_F(ReadinessTest, ItemsRefusedOnTheirOwnDoNotMakeTheStoreUnwritable) {
  class RefusingStore final : public WriteStore {
   public:
    absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
        std::span<WriteRequest> batch) override {
      return std::vector<absl::StatusOr<WriteResult>>(batch.size(),
                                                      absl::AlreadyExistsError("duplicate"));
    }
  } store;
  CommitWatch watch(store, Monitor());
  std::vector<WriteRequest> batch(1, AuditAppend{});
  ASSERT_TRUE(watch.ApplyWrites(batch).ok());
  EXPECT_TRUE(Monitor().Evaluate().ready);
}

TEST_F(ReadinessTest, ACommitRunningTooLongIsNotReady) {
  Monitor().CommitStarted();
  clock_.Advance(absl::Seconds(9));
  EXPECT_TRUE(Monitor().Evaluate().ready);
  clock_.Advance(absl::Seconds(1));
  const ReadinessReport report = Monitor().Evaluate();
  EXPECT_FALSE(report.ready);
  EXPECT_EQ(CheckNamed(report, "store").detail, "a commit has been running for 10 s");
  Monitor().CommitEnded(absl::OkStatus());
  EXPECT_TRUE(Monitor().Evaluate().ready);
}

// Verifies the probe: an idle store (no commit since the last tick) is
// probed once at a time; a busy one is not; an unanswered probe fails the
// check after store_write_timeout.
TEST_F(ReadinessTest, AnIdleStoreIsProbedAndAnUnansweredProbeFailsTheCheck) {
  Monitor().StartTicking(scheduler_);
  NextTick();
  ASSERT_EQ(probes_.size(), 1u);
  probes_.back()(absl::OkStatus());

  Monitor().CommitEnded(absl::OkStatus());  // the store is busy: no probe
  NextTick();
  EXPECT_EQ(probes_.size(), 1u);

  NextTick();  // idle again
  ASSERT_EQ(probes_.size(), 2u);
  for (int tick = 0; tick < 4; ++tick) NextTick();  // 8 s: one probe in flight at a time
  EXPECT_EQ(probes_.size(), 2u);
  EXPECT_TRUE(Monitor().Evaluate().ready);
  NextTick();  // 10 s
  const ReadinessReport report = Monitor().Evaluate();
  EXPECT_FALSE(report.ready);
  EXPECT_EQ(CheckNamed(report, "store").detail, "a probe write has waited 10 s for its commit");
  EXPECT_THAT(changes_, ElementsAre(true, false));  // the tick told the listeners

  probes_.back()(absl::OkStatus());
  EXPECT_TRUE(Monitor().Evaluate().ready);
  Monitor().StopTicking();
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(ReadinessTest, AFailedProbeIsAFailedCommit) {
  Monitor().StartTicking(scheduler_);
  NextTick();
  ASSERT_EQ(probes_.size(), 1u);
  probes_.back()(absl::UnavailableError("database unreachable"));
  EXPECT_FALSE(Monitor().Evaluate().ready);
  NextTick();  // failed: probed again at once, though nothing else commits
  ASSERT_EQ(probes_.size(), 2u);
  Monitor().CommitEnded(absl::OkStatus());  // the probe's commit, seen by the CommitWatch
  probes_.back()(absl::OkStatus());
  EXPECT_TRUE(Monitor().Evaluate().ready);
}

TEST_F(ReadinessTest, ASaturatedStoreExecutorIsNotReady) {
  queued_ = 89;
  EXPECT_TRUE(Monitor().Evaluate().ready);
  queued_ = 90;
  const ReadinessReport report = Monitor().Evaluate();
  EXPECT_FALSE(report.ready);
  EXPECT_EQ(CheckNamed(report, "store_executor").detail, "90 of 100 queue slots taken");
  queued_ = 0;
  EXPECT_TRUE(Monitor().Evaluate().ready);
  EXPECT_THAT(changes_, ElementsAre(true, false, true));
}

TEST_F(ReadinessTest, ReportsTheCallsInFlightBesideDraining) {
  inputs_.calls_in_flight = [] { return size_t{2}; };
  EXPECT_EQ(CheckNamed(Monitor().Evaluate(), "draining").detail,
            "accepting calls (2 gRPC calls in flight)");
}

// /livez, /readyz and /healthz over HTTPS, following the monitor.
TEST_F(ReadinessTest, HealthEndpointsAnswerWhatTheMonitorSays) {
  ::hart::testing::TempDir dir;
  auto certs = ::hart::testing::MakeTestCertificates(dir.path());
  ASSERT_TRUE(certs.ok()) << certs.status();
  Router router;
  ASSERT_TRUE(AddHealthEndpoints(router, Monitor()).ok());
  OpsServerSettings settings;
  settings.tls = {certs->server_cert_file, certs->server_key_file, certs->ca_file, ""};
  auto server = OpsServer::Start(settings, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = ::hart::testing::HttpsTestClient::Connect((*server)->port(), {certs->ca_file});
  ASSERT_TRUE(client.ok()) << client.status();

  auto live = (*client)->Get("/livez");
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, "ok\n");
  for (const char* path : {"/readyz", "/healthz"}) {
    auto ready = (*client)->Get(path);
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_EQ(ready->status, 200) << path;
    EXPECT_THAT(ready->body, HasSubstr("readyz check passed")) << path;
    EXPECT_EQ(ready->headers["cache-control"], "no-store");
  }
  Monitor().BeginDrain();
  for (const char* path : {"/readyz", "/healthz"}) {
    auto draining = (*client)->Get(path);
    ASSERT_TRUE(draining.ok()) << draining.status();
    EXPECT_EQ(draining->status, 503) << path;
    EXPECT_THAT(draining->body, HasSubstr("[-]draining failed")) << path;
  }
  auto still_live = (*client)->Get("/livez");
  ASSERT_TRUE(still_live.ok());
  EXPECT_EQ(still_live->status, 200);
}

}  // namespace
}  // namespace hart::ops
