// The NOTIFY channels replicas wake each other on, and their payloads:
// written by the write transaction just before its COMMIT (at most one
// NOTIFY per channel per transaction), read by PgListener. A payload is
// "<broker id>\n" followed, on the feeds channel, by the feeds that grew as
// "<agency>:<last sequence>", comma-separated (none listed: any feed), on
// the seals channel by the referral ids sealed, comma-separated, so a
// replica can skip its own commits, which it has already announced locally,
// and wake another's subscribers without reading the heads: a NOTIFY is
// delivered only after its transaction committed, so the events up to the
// sequence it names are there to read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "broker/replica_signals.h"

namespace hart::pg {

inline constexpr char kFeedsChannel[] = "hart_feeds";
inline constexpr char kWorkChannel[] = "hart_work";
inline constexpr char kEscalationsChannel[] = "hart_escalations";
inline constexpr char kSealsChannel[] = "hart_seals";

// What a write transaction changed that other replicas act on.
struct PgChanges {
  // Agencies whose feed grew -> the feed's last sequence in this transaction.
  std::map<std::string, uint64_t> feeds;
  bool work = false;            // deliveries or timers added
  bool escalations = false;     // escalation events appended
  std::vector<std::string> sealed;  // referral ids sealed
};

// One NOTIFY: pg_notify(channel, payload).
struct Notification {
  const char* channel;
  std::string payload;
};
// The notifications for `changes`: none if nothing changed, else one per
// channel concerned.
std::vector<Notification> Notifications(const std::string& broker_id, const PgChanges& changes);

// A payload read back.
// An agency listed without a sequence (or with one that does not parse)
// has an unset head: the follower reads it.
struct ChangePayload {
  std::string broker_id;
  std::vector<FeedGrowth> feeds;  // feeds channel only; empty: any
};
ChangePayload ParseChangePayload(std::string_view payload);
// The referral ids a seals payload lists (none: any may have been sealed).
std::vector<std::string> ParseSealedIds(std::string_view payload);

}  // namespace hart::pg
