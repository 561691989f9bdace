// libFuzzer target: bytes -> hart.referral.v1.Intake wire format (as gRPC
// delivers SubmitIntake) -> ValidateIntake against the Connecticut geography
// at a fixed time -> Router::Route when valid. The wire format reaches what
// JSON cannot: unknown enum numbers, out-of-range timestamps, invalid UTF-8.
#include <cstddef>
#include <cstdint>
#include <iostream>

#include "broker/intake/intake_validator.h"
#include "tests/fuzz/fuzz_support.h"

namespace v1 = ::hart::referral::v1;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)hart::fuzz::ConnecticutRouter();
  (void)hart::fuzz::ValidExampleIntakes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::Intake intake;
  if (!intake.ParseFromArray(data, static_cast<int>(size))) return 0;
  const auto violations =
      hart::ValidateIntake(intake, hart::fuzz::ConnecticutGeography(), hart::fuzz::FixedNow());
  if (!violations.empty()) {
    if (hart::fuzz::Verbose()) {
      for (const auto& v : violations) std::cerr << "violation: " << v.field << "\n";
    }
    return 0;
  }
  hart::fuzz::RouteValidIntakeOrDie(intake, "fuzz_intake_binary");
  return 0;
}
