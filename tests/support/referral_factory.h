// Builds stored referrals the way the broker does (validation, routing,
// the writer queue) over a real SqliteStore with a manual clock, for tests of
// what comes after intake.
#pragma once

#include <memory>
#include <string>

#include "broker/clock.h"
#include "broker/common/ids.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/store/store_factory.h"
#include "tests/support/test_support.h"

namespace hart::testing {

class ReferralFactory {
 public:
  // `store` and `clock` must outlive the factory. `feed_placement`: the
  // agencies whose deliveries go on their feed with the intake (none).
  // `after_commit`: the writer queue's hook (none).
  ReferralFactory(Store& store, const Clock& clock, feed::FeedPlacement feed_placement = {},
                  WriteQueue::AfterCommitFn after_commit = {});
  ~ReferralFactory();

  // Submits and waits (bounded) for the receipt.
  absl::StatusOr<v1::Receipt> Submit(const v1::Intake& intake);
  // An example intake with its careline report id made unique by `suffix`.
  static v1::Intake Example(const std::string& name, const std::string& suffix);

  const Geography& geography() const { return geography_; }
  // The factory's writer queue, for the test's other writers (acks).
  WriteQueue& writes() { return *writes_; }

 private:
  Geography geography_;
  Router router_;
  FakeRandom random_;
  IdGenerator ids_;
  std::unique_ptr<WriteQueue> writes_;
  std::unique_ptr<IntakePipeline> pipeline_;
};

}  // namespace hart::testing
