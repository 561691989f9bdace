#include "tests/bench/intake_factory.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "tests/bench/read_text.h"

namespace hart::bench {
namespace {

namespace fs = std::filesystem;
using referral::v1::SubmitIntakeRequest;

constexpr char kFiller[] =
    " Additional detail recorded by the Careline worker for load testing: the reporter "
    "repeated the account, described the adults involved and the places the child was "
    "seen, and agreed to be contacted again.";

std::chrono::seconds ToSeconds(const google::protobuf::Timestamp& t) {
  return std::chrono::seconds(t.seconds());
}

void SetTimestamp(std::chrono::system_clock::time_point when, google::protobuf::Timestamp* t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  t->set_seconds(ns / 1000000000);
  t->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

// Appends filler to the narrative until the request reaches `target` bytes
// (the length prefix of the narrative may grow by a byte on the way).
void Pad(SubmitIntakeRequest& request, size_t target) {
  for (int round = 0; round < 4; ++round) {
    const size_t size = request.ByteSizeLong();
    if (size >= target) return;
    std::string* narrative = request.mutable_intake()->mutable_concern()->mutable_narrative();
    size_t missing = target - size;
    while (missing > 0) {
      const size_t n = std::min(missing, sizeof kFiller - 1);
      narrative->append(kFiller, n);
      missing -= n;
    }
  }
}

}  // namespace

absl::StatusOr<IntakeFactory> IntakeFactory::Load(const std::string& dir, size_t target_bytes,
                                                  const std::string& run_id) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("intakes directory ", dir, " not found"));
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name.rfind("invalid-", 0) != 0) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no example intakes (*.json other than invalid-*) in ", dir));
  }

  IntakeFactory factory;
  factory.run_id_ = run_id;
  size_t total_bytes = 0;
  for (const auto& path : files) {
    const std::string json = ReadText(path.string());
    Template t;
    google::protobuf::util::JsonParseOptions options;
    const auto status = google::protobuf::util::JsonStringToMessage(json, &t.intake, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path.string(), ": not valid protobuf JSON of an Intake: ", std::string(status.message())));
    }
    if (t.intake.missing().has_missing_since()) {
      t.has_missing_since = true;
      t.missing_for = ToSeconds(t.intake.received_at()) -
                      ToSeconds(t.intake.missing().missing_since());
    }
    // Size with an id as long as a typical one of this run.
    SubmitIntakeRequest request;
    *request.mutable_intake() = t.intake;
    request.mutable_intake()->set_careline_report_id(absl::StrCat("BENCH-", run_id, "-1000000"));
    SetTimestamp(std::chrono::system_clock::now(), request.mutable_intake()->mutable_received_at());
    Pad(request, target_bytes);
    total_bytes += request.ByteSizeLong();
    t.intake = request.intake();
    factory.templates_.push_back(std::move(t));
    factory.names_.push_back(path.filename().string());
  }
  factory.mean_bytes_ = total_bytes / factory.templates_.size();
  return factory;
}

void IntakeFactory::Fill(uint64_t n, SubmitIntakeRequest* request) const {
  const Template& t = templates_[n % templates_.size()];
  referral::v1::Intake* intake = request->mutable_intake();
  *intake = t.intake;
  intake->set_careline_report_id(absl::StrCat("BENCH-", run_id_, "-", n));
  // A second in the past: "not in the future" holds even with a little skew.
  const auto received = std::chrono::system_clock::now() - std::chrono::seconds(1);
  SetTimestamp(received, intake->mutable_received_at());
  if (t.has_missing_since) {
    SetTimestamp(received - t.missing_for, intake->mutable_missing()->mutable_missing_since());
  }
}

}  // namespace hart::bench
