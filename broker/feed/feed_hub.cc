#include "broker/feed/feed_hub.h"

#include <algorithm>
#include <map>
#include <string>

namespace hart::feed {
namespace {

void Raise(std::map<std::string, uint64_t>& heads, const FeedAppendResult& r) {
  heads[r.agency_id] = std::max(heads[r.agency_id], r.sequence);
}

void Publish(FeedHub& hub, const std::map<std::string, uint64_t>& heads) {
  for (const auto& [agency, head] : heads) hub.Publish(agency, head);
}

}  // namespace

void PublishHeads(FeedHub& hub, std::span<const absl::StatusOr<WriteResult>> committed) {
  std::map<std::string, uint64_t> heads;
  for (const auto& result : committed) {
    if (!result.ok()) continue;
    if (const auto* appended = std::get_if<FeedAppendResult>(&*result)) {
      Raise(heads, *appended);
    } else if (const auto* referral = std::get_if<CreateReferralResult>(&*result)) {
      for (const auto& r : referral->feed_appends) Raise(heads, r);
    }
  }
  Publish(hub, heads);
}

}  // namespace hart::feed
