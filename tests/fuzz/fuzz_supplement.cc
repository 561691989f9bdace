// libFuzzer target: bytes -> protobuf JSON of
// hart.referral.v1.SupplementIntakeRequest -> ValidateSupplement -> (when
// valid, as SupplementProcessor does) MergeSupplement onto the example intake
// the request names by carelineReportId (default: the New Haven missing-child
// intake) -> ValidateIntake of the result -> Router::Route when valid.
// Besides crashes, a finding is: changed_fields empty although the intake
// changed, or listing changes although it did not (agencies would get an
// UPDATE about nothing, or miss one), or a field listed twice.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <set>

#include "broker/intake/intake_validator.h"
#include "broker/intake/supplement_merge.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fuzz_support.h"
#include "broker/common/strict_json.h"

namespace v1 = ::hart::referral::v1;

namespace {

const v1::Intake& BaseIntake(const v1::SupplementIntakeRequest& request) {
  for (const v1::Intake* intake : hart::fuzz::ValidExampleIntakes()) {
    if (request.target_case() == v1::SupplementIntakeRequest::kCarelineReportId &&
        intake->careline_report_id() == request.careline_report_id()) {
      return *intake;
    }
  }
  return hart::fuzz::ExampleIntake("missing-from-foster-care-new-haven");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)hart::fuzz::ConnecticutRouter();
  (void)hart::fuzz::ValidExampleIntakes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json = hart::fuzz::AsString(data, size);
  v1::SupplementIntakeRequest request;
  if (!hart::ParseStrictJson(json, &request).ok()) return 0;
  const auto& geography = hart::fuzz::ConnecticutGeography();
  const absl::Time now = hart::fuzz::FixedNow();
  if (auto violations = hart::ValidateSupplement(request.supplement(), geography, now);
      !violations.empty()) {
    if (hart::fuzz::Verbose()) {
      for (const auto& v : violations) std::cerr << "supplement violation: " << v.field << "\n";
    }
    return 0;
  }
  const v1::Intake& base = BaseIntake(request);
  const hart::MergedIntake merged = hart::MergeSupplement(base, request.supplement());

  const bool same = google::protobuf::util::MessageDifferencer::Equals(base, merged.intake);
  if (same != merged.changed_fields.empty()) {
    std::cerr << "fuzz_supplement: intake " << (same ? "unchanged" : "changed") << " but "
              << merged.changed_fields.size() << " changed field(s) reported\n";
    std::abort();
  }
  std::set<std::string> unique(merged.changed_fields.begin(), merged.changed_fields.end());
  if (unique.size() != merged.changed_fields.size()) {
    std::cerr << "fuzz_supplement: a changed field is listed twice\n";
    std::abort();
  }

  if (auto violations = hart::ValidateIntake(merged.intake, geography, now); !violations.empty()) {
    if (hart::fuzz::Verbose()) {
      for (const auto& v : violations) std::cerr << "merged violation: " << v.field << "\n";
    }
    return 0;
  }
  hart::fuzz::RouteValidIntakeOrDie(merged.intake, "fuzz_supplement");
  return 0;
}
