#include "broker/feed/seal_begins.h"

namespace hart::feed {

void SealsBegin(const SealWatchers& watchers, const std::vector<std::string>& referral_ids) {
  watchers.writes->AwaitAfterCommits();
  watchers.tail->Clear();
  for (const std::string& referral_id : referral_ids) watchers.seals->Begin(referral_id);
  if (watchers.cancel_writes_in_flight) watchers.cancel_writes_in_flight();
}

void AnySealMayHaveBegun(const SealWatchers& watchers) {
  watchers.writes->AwaitAfterCommits();
  watchers.tail->Clear();
  watchers.seals->ForgetAll();
  if (watchers.cancel_writes_in_flight) watchers.cancel_writes_in_flight();
}

}  // namespace hart::feed
