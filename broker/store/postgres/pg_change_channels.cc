#include "broker/store/postgres/pg_change_channels.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hart::pg {
namespace {

// PostgreSQL refuses payloads of 8000 bytes or more (and the whole
// transaction with them): beyond this, the feeds payload lists no agency,
// which reads as "any feed".
constexpr size_t kMaxAgencyList = 4000;

}  // namespace

std::vector<Notification> Notifications(const std::string& broker_id, const PgChanges& changes) {
  std::vector<Notification> out;
  const std::string from = broker_id + "\n";
  if (!changes.feeds.empty()) {
    std::string agencies = absl::StrJoin(changes.feeds, ",");
    if (agencies.size() > kMaxAgencyList) agencies.clear();
    out.push_back({kFeedsChannel, from + agencies});
  }
  if (changes.work) out.push_back({kWorkChannel, from});
  if (changes.escalations) out.push_back({kEscalationsChannel, from});
  return out;
}

ChangePayload ParseChangePayload(std::string_view payload) {
  ChangePayload parsed;
  const size_t newline = payload.find('\n');
  if (newline == std::string_view::npos) return parsed;  // not ours: from no known broker
  parsed.broker_id = std::string(payload.substr(0, newline));
  const std::string_view list = payload.substr(newline + 1);
  for (absl::string_view agency :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',', absl::SkipEmpty())) {
    parsed.agencies.emplace_back(agency);
  }
  return parsed;
}

}  // namespace hart::pg
