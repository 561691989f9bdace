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

void PublishHeads(FeedHub& hub, std::span<const FeedAppendResult> appended) {
  std::map<std::string, uint64_t> heads;
  for (const auto& r : appended) Raise(heads, r);
  Publish(hub, heads);
}

void PublishHeads(FeedHub& hub, std::span<const CreateReferralResult> committed) {
  std::map<std::string, uint64_t> heads;
  for (const auto& result : committed) {
    for (const auto& r : result.feed_appends) Raise(heads, r);
  }
  Publish(hub, heads);
}

}  // namespace hart::feed
