// How a whole-log verification is printed, by hartctl (online) and by
// hart-admin (offline), so scripts and people read one format from both.
#pragma once

#include <ostream>

#include "broker/audit/log_verifier.h"

namespace hart::cli {

// Text: entries, checkpoints, entries after the last checkpoint, then
// "audit log OK" or "audit log FAILED at index N" and one line per problem.
// JSON: {"ok","entries","checkpoints","firstBadIndex"?,"problems"} on one line.
void PrintVerificationReport(const audit::VerificationReport& report, bool json,
                             std::ostream& out);

}  // namespace hart::cli
