// The fixture every store conformance test derives from: a fresh backend
// and an open Store per test, parameterised over AllStoreBackends().
//
// Each test file declares its suite as
//   class FeedConformanceTest : public StoreConformanceTest {};
//   HART_STORE_CONFORMANCE_SUITE(FeedConformanceTest);
// and its tests as TEST_P(FeedConformanceTest, ...), so they run once per
// backend, named e.g. AllBackends/FeedConformanceTest.X/sqlite.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "broker/store.h"
#include "tests/store/conformance_records.h"
#include "tests/store/status_assertions.h"
#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

void PrintTo(const StoreBackendFactory& factory, std::ostream* os);
std::string BackendName(const ::testing::TestParamInfo<StoreBackendFactory>& info);

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackendFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }
  BackendUnderTest& backend() { return *backend_; }

  // Destroys the Store and opens the backend again: a broker restart.
  // `broker_id` names the claims the reopened store makes.
  absl::Status Reopen(const std::string& broker_id = "broker");

  // True if this backend lists `bug_id` among its known bugs; the test then
  // skips: if (KnownBug("id")) GTEST_SKIP() << "id: what is wrong";
  bool KnownBug(const std::string& bug_id) const;

  // Stores `referral` alone; an error unless it was created.
  absl::StatusOr<v1::Receipt> Create(const NewReferral& referral);
  // Claims deliveries / timers due at `now` (the one place that makes claims,
  // so a claim owner can be added here).
  absl::StatusOr<std::vector<DeliveryRecord>> Claim(absl::Time now, absl::Time lease_until,
                                                    size_t limit = 1000);
  absl::StatusOr<std::vector<TimerRecord>> ClaimTimers(absl::Time now, absl::Time lease_until,
                                                       size_t limit = 1000);
  // Claims every delivery due at `now` and appends them all to their feeds,
  // in claim order.
  absl::StatusOr<std::vector<FeedAppendResult>> ClaimAndAppend(absl::Time now);
  // Every audit event, in index order.
  absl::StatusOr<std::vector<AuditEvent>> AllAuditEvents();
  absl::StatusOr<v1::DeliveryState> StateOf(const std::string& delivery_id);

 private:
  std::unique_ptr<BackendUnderTest> backend_;
  std::unique_ptr<Store> store_;
};

}  // namespace hart::conformance

#define HART_STORE_CONFORMANCE_SUITE(suite)                                              \
  INSTANTIATE_TEST_SUITE_P(AllBackends, suite,                                           \
                           ::testing::ValuesIn(::hart::conformance::AllStoreBackends()), \
                           ::hart::conformance::BackendName)
