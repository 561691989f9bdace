#include "tests/faults/fault_checks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"

namespace hart::testing {
namespace {

// Escalation steps are due from one second to a few seconds after a
// deadline; a step this late is missing, not merely still to come.
constexpr absl::Duration kStepMargin = absl::Seconds(6);

// "agency=x step=3 reason=..." -> 3; 0 if there is none.
uint32_t StepOf(const std::string& detail) {
  const size_t at = detail.find("step=");
  if (at == std::string::npos) return 0;
  const size_t start = at + 5;
  const size_t end = detail.find(' ', start);
  uint32_t step = 0;
  return absl::SimpleAtoi(detail.substr(start, end - start), &step) ? step : 0;
}

void CheckDelivery(const v1::DeliveryStatus& d, absl::Time now, bool sealed,
                   LadderReport& report) {
  std::map<uint32_t, int> runs;
  for (const auto& entry : d.timeline()) {
    if (entry.action() != "delivery.escalated") continue;
    ++runs[StepOf(entry.detail())];
    // A missed deadline's step runs at or after it, in the broker's time
    // (a step back of the clock must not make it fire before).
    if (d.has_ack_deadline() && StepOf(entry.detail()) > 0 &&
        entry.detail().find("reason=ACK_DEADLINE") != std::string::npos &&
        FromProtoTime(entry.at()) < FromProtoTime(d.ack_deadline())) {
      ++report.steps_early;
      report.problems.push_back(absl::StrCat("delivery ", d.delivery_id(), ": step ",
                                             StepOf(entry.detail()), " ran before its deadline"));
    }
  }
  for (const auto& [step, n] : runs) {
    report.steps += static_cast<size_t>(n);
    if (n > 1) {
      ++report.steps_twice;
      report.problems.push_back(absl::StrCat("delivery ", d.delivery_id(), ": step ", step,
                                             " ran ", n, " times"));
    }
  }
  if (!runs.empty()) {
    for (uint32_t k = 1; k < runs.rbegin()->first; ++k) {
      if (runs.count(k)) continue;
      ++report.steps_skipped;
      report.problems.push_back(absl::StrCat("delivery ", d.delivery_id(), ": step ", k,
                                             " missing before step ", runs.rbegin()->first));
    }
  }
  const bool accepted = d.state() == v1::ACKNOWLEDGED;
  if (d.kind() == v1::REFERRAL && !accepted && !sealed && d.has_ack_deadline() && runs.empty() &&
      FromProtoTime(d.ack_deadline()) + kStepMargin < now) {
    ++report.overdue_without_step;
    report.problems.push_back(absl::StrCat("delivery ", d.delivery_id(), " to ", d.agency_id(),
                                           " is overdue, and no ladder step ran"));
  }
}

// The PII fields of the example intakes the load is made of, by field name.
std::vector<std::pair<std::string, std::string>> LoadPii() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* name : {"school-sex-trafficking-hartford", "urgent-hotel-bridgeport",
                           "labor-trafficking-waterbury", "missing-from-foster-care-new-haven"}) {
    const v1::Intake intake = LoadIntake(name);
    const std::pair<const char*, std::string> fields[] = {
        {"reporter name", intake.reporter().name()},
        {"reporter phone", intake.reporter().phone()},
        {"child given name", intake.child().given_name()},
        {"child family name", intake.child().family_name()},
        {"child date of birth", intake.child().date_of_birth()},
        {"DCF case id", intake.child().dcf_case_id()},
        {"narrative", intake.concern().narrative().substr(0, 24)}};
    for (const auto& [field, value] : fields) {
      // Short values (a first name of three letters) would match binary
      // noise; the family name, phone and narrative still stand for them.
      if (value.size() >= 5) out.emplace_back(absl::StrCat(name, " ", field), value);
    }
  }
  return out;
}

void SearchFile(const std::filesystem::path& file,
                const std::vector<std::pair<std::string, std::string>>& pii,
                std::vector<PiiFinding>& findings) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [field, value] : pii) {
    const std::boyer_moore_horspool_searcher searcher(value.begin(), value.end());
    if (std::search(bytes.begin(), bytes.end(), searcher) != bytes.end()) {
      findings.push_back({file.string(), field});
    }
  }
}

}  // namespace

LadderReport CheckLadderSteps(ReplicaCluster& cluster, const std::vector<v1::Receipt>& receipts,
                              absl::Duration clock_offset) {
  LadderReport report;
  std::vector<std::unique_ptr<v1::SupervisorService::Stub>> stubs;
  for (int i = 0; i < cluster.size(); ++i) stubs.push_back(cluster.replica(i).Supervisor());
  const absl::Time now = absl::Now() + clock_offset;
  size_t turn = 0;
  for (const auto& receipt : receipts) {
    v1::GetReferralRequest request;
    request.set_referral_id(receipt.referral_id());
    v1::ReferralStatus stored;
    grpc::Status status(grpc::StatusCode::UNAVAILABLE, "no replica to ask");
    // A replica may just be failing over: another one, a few times.
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int replica = cluster.Pick(turn++);
      if (replica < 0) break;
      status = stubs[static_cast<size_t>(replica)]->GetReferral(CallContext().get(), request,
                                                                &stored);
      if (status.ok()) break;
    }
    if (!status.ok()) {
      report.problems.push_back(absl::StrCat("GetReferral of ", receipt.referral_id(),
                                             " answered ", static_cast<int>(status.error_code())));
      continue;
    }
    for (const auto& d : stored.deliveries()) {
      CheckDelivery(d, now, stored.has_sealed_at(), report);
    }
  }
  return report;
}

std::vector<PiiFinding> FindPlaintextPii(const std::vector<std::string>& paths,
                                         const std::set<std::string>& ignored) {
  auto pii = LoadPii();
  std::erase_if(pii, [&](const auto& field) { return ignored.count(field.first) > 0; });
  std::vector<PiiFinding> findings;
  for (const auto& path : paths) {
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error)) {
      SearchFile(path, pii, findings);
      continue;
    }
    for (std::filesystem::recursive_directory_iterator it(path, error), end; !error && it != end;
         it.increment(error)) {
      if (it->is_regular_file(error)) SearchFile(it->path(), pii, findings);
    }
  }
  return findings;
}

}  // namespace hart::testing
