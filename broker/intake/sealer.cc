#include "broker/intake/sealer.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/sha256.h"

namespace hart {

absl::StatusOr<SealOutcome> Sealer::Seal(const std::string& referral_id,
                                         const std::string& court_order_reference,
                                         const std::string& actor) {
  if (court_order_reference.empty()) {
    return absl::InvalidArgumentError("sealing needs the court order's reference");
  }
  auto referral = store_.GetReferral(referral_id);
  if (!referral.ok()) return referral.status();
  if (referral->sealed_at) {
    return absl::FailedPreconditionError(absl::StrCat("referral ", referral_id, " is already sealed"));
  }
  auto deliveries = store_.GetDeliveries(referral_id);
  if (!deliveries.ok()) return deliveries.status();
  // Everyone who may hold a copy: anything handed to or received by them.
  std::set<std::string> received;
  for (const auto& item : *deliveries) {
    const DeliveryRecord& d = item.delivery;
    if (d.kind == v1::ERASURE) continue;
    // Any attempt counts (attempts grow at the claim): an adapter's write
    // may land after the seal (a file drop's file), or have landed though
    // its answer was lost. A notice to an agency that never got the
    // referral is harmless: it has nothing to erase.
    const bool handed_off = d.attempts > 0 || !d.transport_ref.empty() ||
                            d.state == v1::DELIVERED || d.state == v1::ACKNOWLEDGED ||
                            d.state == v1::DECLINED;
    if (handed_off) received.insert(d.agency_id);
  }
  const absl::Time now = clock_.Now();
  SealWrite write;
  write.referral_id = referral_id;
  write.at = now;
  SealOutcome outcome;
  for (const auto& agency_id : received) {
    const cfg::Agency* agency = geography_.FindAgency(agency_id);
    if (agency == nullptr) continue;  // left the config: nothing to send through
    DeliveryRecord notice;
    notice.delivery_id = ids_.NewDeliveryId();
    notice.referral_id = referral_id;
    notice.agency_id = agency_id;
    notice.agency_kind = agency->kind();
    notice.adapter_type = agency->adapter().type();
    notice.state = v1::PENDING;
    notice.created_at = now;
    notice.next_attempt_at = AsapAttempt(now);
    notice.ack_deadline = now + absl::Hours(24);
    notice.kind = v1::ERASURE;
    v1::ErasureNotice erasure;
    erasure.set_referral_id(referral_id);
    erasure.set_court_order_reference(court_order_reference);
    notice.erasure = erasure;
    write.audit.push_back({now, actor, "delivery.created", referral_id, notice.delivery_id, "",
                           absl::StrCat("agency=", agency_id, " kind=ERASURE")});
    write.notices.push_back(std::move(notice));
    outcome.notified_agency_ids.push_back(agency_id);
  }
  // The order's reference is recorded only as a digest.
  write.audit.insert(write.audit.begin(),
                     AuditEvent{now, actor, "referral.sealed", referral_id, "",
                                Sha256(court_order_reference),
                                absl::StrCat("notified=",
                                             absl::StrJoin(outcome.notified_agency_ids, ","))});
  if (hooks_.before) hooks_.before(referral_id);
  auto sealed = store_.SealReferral(write);
  // Whatever the outcome: a failed commit may still have committed.
  if (hooks_.after) hooks_.after(referral_id);
  if (!sealed.ok()) return sealed.status();
  outcome.stopped_deliveries = sealed->stopped_deliveries;
  return outcome;
}

}  // namespace hart
