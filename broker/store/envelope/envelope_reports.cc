// EnvelopeStore: the referrals a compliance report reads. Each page comes
// with every referral's wrapped data key, so an intake opens without another
// read; report keys do not enter the cache (a year's scan would evict the
// hot keys of the intake and feed paths).
#include "absl/strings/str_cat.h"
#include "broker/crypto/aead.h"
#include "broker/store/envelope/envelope_contexts.h"
#include "broker/store/envelope/envelope_store.h"

namespace hart::envelope {

absl::StatusOr<std::vector<ReportReferral>> EnvelopeStore::ReadReportPage(
    const ReportPageQuery& query) {
  auto page = backend_.ReadReportPage(query);
  if (!page.ok()) return page;
  for (ReportReferral& r : *page) {
    if (!query.with_intake || r.sealed_at || r.data_key.destroyed) {
      r.sealed_intake.clear();
      r.data_key = {};
      continue;
    }
    std::string key;
    if (auto cached = cache_.Find(r.referral_id)) {
      key = *std::move(cached);
    } else {
      if (r.data_key.key_id.empty()) {
        return absl::NotFoundError(absl::StrCat("no data key for referral ", r.referral_id));
      }
      auto unwrapped =
          keys_.Unwrap({r.data_key.key_id, r.data_key.wrapped}, KeyContext(r.referral_id));
      if (!unwrapped.ok()) return unwrapped.status();
      key = *std::move(unwrapped);
    }
    auto bytes = crypto::Open(key, r.sealed_intake, IntakeContext(r.referral_id));
    if (!bytes.ok()) return bytes.status();
    if (!r.intake.ParseFromString(*bytes)) {
      return absl::DataLossError(
          absl::StrCat("referral ", r.referral_id, ": intake does not parse"));
    }
    r.sealed_intake.clear();
    r.data_key = {};
  }
  return page;
}

}  // namespace hart::envelope
