#include "tests/store/conformance_fixture.h"

#include "absl/strings/str_cat.h"

namespace hart::conformance {

void PrintTo(const StoreBackendFactory& factory, std::ostream* os) { *os << factory.name; }

std::string BackendName(const ::testing::TestParamInfo<StoreBackendFactory>& info) {
  return info.param.name;
}

void StoreConformanceTest::SetUp() {
  auto backend = GetParam().create();
  if (absl::IsUnavailable(backend.status())) {
    GTEST_SKIP() << GetParam().name << " backend not available here: " << backend.status();
  }
  ASSERT_OK(backend);
  backend_ = std::move(*backend);
  auto store = backend_->Open();
  ASSERT_OK(store);
  store_ = std::move(*store);
}

void StoreConformanceTest::TearDown() {
  store_.reset();  // before the backend, which removes what it persisted
  backend_.reset();
}

absl::Status StoreConformanceTest::Reopen(const std::string& broker_id) {
  store_.reset();
  auto store = backend_->Open(broker_id);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  return absl::OkStatus();
}

bool StoreConformanceTest::KnownBug(const std::string& bug_id) const {
  return GetParam().known_bugs.contains(bug_id);
}

absl::StatusOr<v1::Receipt> StoreConformanceTest::Create(const NewReferral& referral) {
  auto results = store_->CreateReferrals({&referral, 1});
  if (!results.ok()) return results.status();
  if (results->size() != 1) return absl::InternalError("one result expected per referral");
  if ((*results)[0].outcome != CreateReferralResult::Outcome::kCreated) {
    return absl::AlreadyExistsError(
        absl::StrCat("referral ", referral.referral.referral_id, " was not created"));
  }
  return (*results)[0].receipt;
}

absl::StatusOr<std::vector<DeliveryRecord>> StoreConformanceTest::Claim(absl::Time now,
                                                                        absl::Time lease_until,
                                                                        size_t limit) {
  return store_->ClaimDueDeliveries(now, lease_until, limit, {});
}

absl::StatusOr<std::vector<TimerRecord>> StoreConformanceTest::ClaimTimers(absl::Time now,
                                                                           absl::Time lease_until,
                                                                           size_t limit) {
  return store_->ClaimDueTimers(now, lease_until, limit);
}

absl::StatusOr<std::vector<FeedAppendResult>> StoreConformanceTest::ClaimAndAppend(absl::Time now) {
  auto claimed = Claim(now, now + absl::Minutes(1));
  if (!claimed.ok()) return claimed.status();
  std::vector<FeedAppend> appends;
  for (const auto& d : *claimed) appends.push_back(FeedAppendFor(d));
  return store_->AppendToFeeds(appends, now);
}

absl::StatusOr<std::vector<AuditEvent>> StoreConformanceTest::AllAuditEvents() {
  return store_->ListAuditEvents({.limit = 100000});
}

absl::StatusOr<v1::DeliveryState> StoreConformanceTest::StateOf(const std::string& delivery_id) {
  auto d = store_->GetDelivery(delivery_id);
  if (!d.ok()) return d.status();
  return d->state;
}

}  // namespace hart::conformance
