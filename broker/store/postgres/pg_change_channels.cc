#include "broker/store/postgres/pg_change_channels.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hart::pg {
namespace {

// PostgreSQL refuses payloads of 8000 bytes or more (and the whole
// transaction with them): beyond this, the feeds payload lists no agency,
// which reads as "any feed". (140 agencies with their sequences take about
// 4,500 bytes.)
constexpr size_t kMaxPayload = 7999;

}  // namespace

std::vector<Notification> Notifications(const std::string& broker_id, const PgChanges& changes) {
  std::vector<Notification> out;
  const std::string from = broker_id + "\n";
  if (!changes.feeds.empty()) {
    std::string feeds = from;
    const char* separator = "";
    for (const auto& [agency, head] : changes.feeds) {
      absl::StrAppend(&feeds, separator, agency, ":", head);
      separator = ",";
    }
    if (feeds.size() > kMaxPayload) feeds = from;
    out.push_back({kFeedsChannel, std::move(feeds)});
  }
  if (changes.work) out.push_back({kWorkChannel, from});
  if (changes.escalations) out.push_back({kEscalationsChannel, from});
  if (!changes.sealed.empty()) {
    std::string sealed = from + absl::StrJoin(changes.sealed, ",");
    if (sealed.size() > kMaxPayload) sealed = from;  // any
    out.push_back({kSealsChannel, std::move(sealed)});
  }
  return out;
}

ChangePayload ParseChangePayload(std::string_view payload) {
  ChangePayload parsed;
  const size_t newline = payload.find('\n');
  if (newline == std::string_view::npos) return parsed;  // not ours: from no known broker
  parsed.broker_id = std::string(payload.substr(0, newline));
  const std::string_view list = payload.substr(newline + 1);
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',', absl::SkipEmpty())) {
    FeedGrowth feed;
    const size_t colon = item.find(':');
    feed.agency = std::string(item.substr(0, colon));
    uint64_t head = 0;
    if (colon != absl::string_view::npos && absl::SimpleAtoi(item.substr(colon + 1), &head) &&
        head > 0) {
      feed.head = head;
    }
    if (!feed.agency.empty()) parsed.feeds.push_back(std::move(feed));
  }
  return parsed;
}

std::vector<std::string> ParseSealedIds(std::string_view payload) {
  std::vector<std::string> ids;
  const size_t newline = payload.find('\n');
  if (newline == std::string_view::npos) return ids;
  const std::string_view list = payload.substr(newline + 1);
  for (absl::string_view id :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',', absl::SkipEmpty())) {
    ids.emplace_back(id);
  }
  return ids;
}

}  // namespace hart::pg
