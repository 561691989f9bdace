// libFuzzer target: bytes -> protobuf JSON of hart.referral.v1.Intake (as
// hartctl reads intake files: unknown fields are errors) -> ValidateIntake
// against the Connecticut geography at a fixed time -> Router::Route when
// valid. A crash, sanitizer report, or a valid intake that does not route is
// a finding.
#include <cstddef>
#include <cstdint>
#include <iostream>

#include "broker/intake/intake_validator.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fuzz/fuzz_support.h"
#include "broker/common/strict_json.h"

namespace v1 = ::hart::referral::v1;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)hart::fuzz::ConnecticutRouter();
  (void)hart::fuzz::ValidExampleIntakes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json = hart::fuzz::AsString(data, size);
  v1::Intake intake;
  if (!hart::ParseStrictJson(json, &intake).ok()) return 0;
  const auto violations =
      hart::ValidateIntake(intake, hart::fuzz::ConnecticutGeography(), hart::fuzz::FixedNow());
  if (!violations.empty()) {
    if (hart::fuzz::Verbose()) {
      for (const auto& v : violations) std::cerr << "violation: " << v.field << "\n";
    }
    return 0;
  }
  hart::fuzz::RouteValidIntakeOrDie(intake, "fuzz_intake_json");
  return 0;
}
