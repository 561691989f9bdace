// The agencies' durable feeds: per-agency sequences without gaps, in the
// order the events committed. See store.h and store_errors.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

class FeedStore {
 public:
  virtual ~FeedStore() = default;

  // Appends claimed deliveries to their agencies' feeds: each gets the next
  // per-agency sequence number, its transport_ref (feed::FormatReference)
  // and its lease cleared. A delivery already on a feed keeps its original
  // sequence (idempotent).
  virtual absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(
      std::span<const FeedAppend> appends, absl::Time now) = 0;

  // Feed events of `agency_id` with sequence > after_sequence, oldest first.
  virtual absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string& agency_id,
                                                          uint64_t after_sequence,
                                                          size_t limit) = 0;

  // Feed events with after_sequence < sequence <= up_to_sequence whose
  // delivery is still IN_FLIGHT (sent, never acknowledged as RECEIVED).
  virtual absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(
      const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
      size_t limit) = 0;

  // The highest sequence on the agency's feed (0 if empty).
  virtual absl::StatusOr<uint64_t> FeedHead(const std::string& agency_id) = 0;
};

}  // namespace hart
