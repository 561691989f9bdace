// The NOTIFY channels replicas wake each other on, and their payloads:
// written by the write transaction just before its COMMIT (at most one
// NOTIFY per channel per transaction), read by PgListener. A payload is
// "<broker id>\n" followed, on the feeds channel, by the agencies whose
// feed grew, comma-separated (none listed: any feed), so a replica can skip
// its own commits, which it has already announced locally.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hart::pg {

inline constexpr char kFeedsChannel[] = "hart_feeds";
inline constexpr char kWorkChannel[] = "hart_work";
inline constexpr char kEscalationsChannel[] = "hart_escalations";

// What a write transaction changed that other replicas act on.
struct PgChanges {
  std::set<std::string> feeds;  // agencies whose feed grew
  bool work = false;            // deliveries or timers added
  bool escalations = false;     // escalation events appended
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
struct ChangePayload {
  std::string broker_id;
  std::vector<std::string> agencies;  // feeds channel only; empty: any
};
ChangePayload ParseChangePayload(std::string_view payload);

}  // namespace hart::pg
