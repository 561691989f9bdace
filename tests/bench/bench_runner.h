// Runs one hart-bench mode end to end: certificates, the server under test
// (the broker it starts, a running one, or the in-process echo server), the
// load, fanout subscribers, resource samples, and the report.
#pragma once

#include "tests/bench/bench_config.h"

namespace hart::bench {

// Prints progress to stderr and the report (table, then one JSON line) to
// stdout. Returns the exit status: 0 when the run completed and at least one
// request succeeded, 1 otherwise.
int RunBench(const BenchConfig& config);

}  // namespace hart::bench
