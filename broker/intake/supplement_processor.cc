#include "broker/intake/supplement_processor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/field_violations.h"
#include "broker/common/logging.h"
#include "broker/common/sha256.h"
#include "broker/intake/intake_validator.h"
#include "broker/intake/supplement_merge.h"

namespace hart {

absl::StatusOr<std::string> SupplementProcessor::ResolveReferralId(
    const v1::SupplementIntakeRequest& request) {
  switch (request.target_case()) {
    case v1::SupplementIntakeRequest::kReferralId:
      return request.referral_id();
    case v1::SupplementIntakeRequest::kCarelineReportId:
      return store_.FindReferralId(request.careline_report_id());
    default:
      return InvalidArgumentWithViolations(
          "the request names no referral",
          {{"target", "set referralId or carelineReportId"}});
  }
}

absl::StatusOr<v1::SupplementIntakeResponse> SupplementProcessor::Apply(
    const v1::SupplementIntakeRequest& request, const std::string& actor) {
  static const auto log = Logger("intake");
  const absl::Time now = clock_.Now();
  const v1::Supplement& supplement = request.supplement();
  if (auto violations = ValidateSupplement(supplement, geography_, now); !violations.empty()) {
    return InvalidArgumentWithViolations(
        absl::StrCat("the supplement has ", violations.size(), " problem(s); nothing changed"),
        violations);
  }
  auto referral_id = ResolveReferralId(request);
  if (!referral_id.ok()) return referral_id.status();
  const std::string digest =
      Sha256(absl::StrCat(*referral_id, "\n", supplement.SerializeAsString()));

  for (int attempt = 0; attempt < 5; ++attempt) {
    auto stored = store_.FindSupplement(supplement.supplement_id());
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      if ((*stored)->supplement_sha256 != digest) {
        return absl::AlreadyExistsError(
            "this supplementId was already used with different content; use a new "
            "supplementId");
      }
      v1::SupplementIntakeResponse response;
      response.ParseFromString((*stored)->response);
      return response;
    }
    auto referral = store_.GetReferral(*referral_id);
    if (!referral.ok()) return referral.status();
    if (referral->sealed_at) {
      return absl::FailedPreconditionError(
          absl::StrCat("referral ", *referral_id, " was sealed by court order; it takes no facts"));
    }
    auto deliveries = store_.GetDeliveries(*referral_id);
    if (!deliveries.ok()) return deliveries.status();

    MergedIntake merged = MergeSupplement(referral->intake, supplement);
    if (auto violations = ValidateIntake(merged.intake, geography_, now); !violations.empty()) {
      return InvalidArgumentWithViolations(
          "with this supplement the referral would be invalid; nothing changed", violations);
    }
    auto plan = updater_.Plan(*referral, *deliveries, merged.intake, merged.changed_fields, now,
                              actor);
    if (!plan.ok()) return plan.status();

    v1::SupplementIntakeResponse response;
    *response.mutable_receipt() = plan->change.receipt;
    for (const auto& f : merged.changed_fields) response.add_changed_fields(f);
    for (const auto& a : plan->new_agency_ids) response.add_new_agency_ids(a);
    for (const auto& a : plan->updated_agency_ids) response.add_updated_agency_ids(a);

    ReferralChange& change = plan->change;
    change.supplement_id = supplement.supplement_id();
    change.supplement_sha256 = digest;
    change.supplement_response = response.SerializeAsString();
    // Not the supplement's id: the Careline may build it from its report id,
    // a case id (the digest and the supplements table tie the two).
    change.audit.insert(change.audit.begin(),
                        AuditEvent{now, actor, "referral.supplemented", *referral_id, "", digest,
                                   absl::StrCat("changed=",
                                                absl::StrJoin(merged.changed_fields, ","))});
    absl::Status status = writes_.ApplyReferralChangeAndWait(change);
    if (absl::IsAborted(status)) continue;  // raced another change: re-plan
    if (absl::IsAlreadyExists(status)) continue;  // raced the same supplement: answer as stored
    if (!status.ok()) return status;
    log->info("event=referral_supplemented referral_id={} new={} updated={}", *referral_id,
              plan->new_agency_ids.size(), plan->updated_agency_ids.size());
    if (on_change_ && !change.new_deliveries.empty()) on_change_();
    return response;
  }
  return absl::AbortedError("the referral kept changing concurrently; retry the supplement");
}

}  // namespace hart
