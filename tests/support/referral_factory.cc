#include "tests/support/referral_factory.h"

#include <future>

namespace hart::testing {
namespace {
Geography BuildGeography() {
  std::vector<std::string> problems;
  return Geography::Build(ConnecticutConfig(), &problems);
}
}  // namespace

ReferralFactory::ReferralFactory(Store& store, const Clock& clock,
                                 feed::FeedPlacement feed_placement,
                                 WriteQueue::AfterCommitFn after_commit)
    : geography_(BuildGeography()),
      router_(ConnecticutConfig(), geography_),
      ids_(random_),
      writes_(std::make_unique<WriteQueue>(store, 64, std::move(after_commit))),
      pipeline_(std::make_unique<IntakePipeline>(geography_, router_, *writes_, clock, ids_,
                                                 NoLadders::Instance(),
                                                 std::move(feed_placement))) {}

ReferralFactory::~ReferralFactory() = default;

absl::StatusOr<v1::Receipt> ReferralFactory::Submit(const v1::Intake& intake) {
  std::promise<absl::StatusOr<v1::Receipt>> promise;
  auto future = promise.get_future();
  pipeline_->Submit(intake, "careline/test",
                    [&promise](absl::StatusOr<v1::Receipt> r) { promise.set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return absl::DeadlineExceededError("no receipt within 10 s");
  }
  return future.get();
}

v1::Intake ReferralFactory::Example(const std::string& name, const std::string& suffix) {
  v1::Intake intake = LoadIntake(name);
  intake.set_careline_report_id(intake.careline_report_id() + suffix);
  return intake;
}

}  // namespace hart::testing
