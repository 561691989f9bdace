// Builds the intakes hart-bench submits: the valid example intakes of
// tests/testdata/intakes (every *.json except invalid-*), each narrative
// padded so the serialized request has the requested size, a unique
// carelineReportId per request and receivedAt = now, so the broker accepts
// every one of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart::bench {

class IntakeFactory {
 public:
  // Loads the templates from `dir`; `target_bytes` is the serialized size of
  // a SubmitIntakeRequest to aim for (templates already larger stay as they
  // are); `run_id` makes report ids unique per run: "BENCH-<run_id>-<n>".
  static absl::StatusOr<IntakeFactory> Load(const std::string& dir, size_t target_bytes,
                                            const std::string& run_id);

  // Request number `n`: template n % count, id BENCH-<run_id>-<n>,
  // receivedAt now (and missingSince as far before it as in the template).
  void Fill(uint64_t n, referral::v1::SubmitIntakeRequest* request) const;

  size_t template_count() const { return templates_.size(); }
  const std::vector<std::string>& template_names() const { return names_; }
  // Mean serialized size of a request over the templates.
  size_t mean_request_bytes() const { return mean_bytes_; }

 private:
  struct Template {
    referral::v1::Intake intake;
    // received_at - missing_since of the example, kept relative to now.
    bool has_missing_since = false;
    std::chrono::seconds missing_for{0};
  };

  std::string run_id_;
  std::vector<Template> templates_;
  std::vector<std::string> names_;
  size_t mean_bytes_ = 0;
};

}  // namespace hart::bench
