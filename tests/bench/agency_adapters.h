// Which adapter each agency of a broker config uses. Only grpc_feed agencies
// receive their deliveries on a FeedService stream; push agencies (webhook,
// ncmec, email, file_drop, ...) are delivered to by the broker itself, so
// fanout neither subscribes for them nor waits for their deliveries.
// Plain values; no shared state.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hart::bench {

inline constexpr char kFeedAdapterType[] = "grpc_feed";

struct AgencyAdapter {
  std::string agency_id;
  std::string adapter_type;  // e.g. "grpc_feed", "webhook"
};

// The agencies of `config_path`, in config order, parsed strictly with the
// broker's own schema (unknown keys are errors). An error names the file if
// it cannot be read or parsed, lists no agency, or an agency has no
// adapter.type.
absl::StatusOr<std::vector<AgencyAdapter>> ReadAgencyAdapters(const std::string& config_path);

// The ids of `agencies` whose adapter is grpc_feed / anything else.
std::vector<std::string> FeedAgencyIds(const std::vector<AgencyAdapter>& agencies);
std::vector<std::string> PushAgencyIds(const std::vector<AgencyAdapter>& agencies);

}  // namespace hart::bench
