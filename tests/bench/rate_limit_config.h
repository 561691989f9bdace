// The broker config hart-bench starts its own broker with: --config with the
// per-certificate rate limit (server.rate_limit_per_second / _burst) replaced.
// The bench sends every intake under the one careline certificate and each
// feed agency acknowledges under its own, so the abuse limit (default 200/s)
// would otherwise cap the throughput being measured.
// Plain functions; no shared state.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hart::bench {

struct RateLimit {
  uint32_t per_second = 0;
  uint32_t burst = 0;
};

// High enough never to refuse a call on one machine.
inline constexpr RateLimit kLiftedRateLimit{1000000, 1000000};

// The limit the broker applies with `config_path` (its defaults filled in).
absl::StatusOr<RateLimit> ConfiguredRateLimit(const std::string& config_path);

// Streams per identity high enough for any idle-subscriber run.
inline constexpr uint32_t kLiftedStreamsPerIdentity = 1000000;

// Writes `config_path` to `output_path` with server.rate_limit_per_second and
// server.rate_limit_burst set to `limit`, and server.max_streams_per_identity
// to `streams_per_identity` unless it is 0 (the top-level `server` mapping is
// created if absent; every other key is kept). Checks that the broker's
// schema reads the result as the original apart from those values; an error
// names the file and what to do.
absl::Status WriteConfigWithRateLimit(const std::string& config_path, const RateLimit& limit,
                                      const std::string& output_path,
                                      uint32_t streams_per_identity = 0);

}  // namespace hart::bench
