// hart-bench modes that measure the broker against a store filled before
// (issue #15, targets 5 and 7):
//  - restart: start the broker on --data_dir and time how long until it
//    acknowledges an intake and until a feed delivers its first event;
//  - reads: a supervisor's GetReferral and ListReferrals, latency per call.
// Fill the store first with `hart-bench submit --data_dir DIR ...`.
#pragma once

#include "tests/bench/bench_config.h"

namespace hart::bench {

// Each prints progress to stderr, a table and one JSON line to stdout, and
// returns the exit status (0: measured, 1: not).
int RunRestart(const BenchConfig& c);
int RunReads(const BenchConfig& c);

}  // namespace hart::bench
