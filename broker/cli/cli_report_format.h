// How `hartctl report` prints a compliance report: a readable text table
// (the default) or CSV (--csv), one printer per report. --json prints the
// protobuf JSON instead (cmd_report.cc). Suppressed counts print as "<N>"
// (under the threshold N) or "*" (suppressed so that such a count cannot be
// worked out from a total), never as a number.
#pragma once

#include <ostream>

#include "hart/referral/v1/supervisor.pb.h"

namespace hart::cli {

void PrintReportText(const hart::referral::v1::ComplianceReport& report, std::ostream& out);

// CSV with a header row (RFC 4180 quoting):
//  missing-from-care: one row per referral;
//  annual: dimension,key,group,count (one row per published count);
//  ack-times: one row per agency kind.
void PrintReportCsv(const hart::referral::v1::ComplianceReport& report, std::ostream& out);

}  // namespace hart::cli
