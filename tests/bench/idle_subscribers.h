// hart-bench idle (issue #15, target 6): the broker holding --subscribers
// feed streams that receive nothing but heartbeats, the order of every US
// law-enforcement agency. The streams use the config's grpc_feed agencies'
// certificates in turn (the started broker's per-identity stream limit is
// lifted in its copy of the config), at most 90 per connection (the
// broker's HTTP/2 limit is 100). A stream counts as open once its first
// heartbeat arrived (server.feed.heartbeat_interval, default 15 s).
#pragma once

#include "tests/bench/bench_config.h"

namespace hart::bench {

// Prints progress to stderr, a table and one JSON line to stdout; returns 0
// when every stream opened, 1 otherwise.
int RunIdle(const BenchConfig& c);

}  // namespace hart::bench
