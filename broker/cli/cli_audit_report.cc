#include "broker/cli/cli_audit_report.h"

namespace hart::cli {

void PrintVerificationReport(const audit::VerificationReport& report, bool json,
                             std::ostream& out) {
  if (json) {
    out << "{\"ok\":" << (report.ok ? "true" : "false")
        << ",\"entries\":" << report.entries_checked
        << ",\"checkpoints\":" << report.checkpoints_checked;
    if (report.first_bad_index) out << ",\"firstBadIndex\":" << *report.first_bad_index;
    out << ",\"problems\":" << report.problems.size() << "}\n";
    return;
  }
  out << "entries     " << report.entries_checked << "\n"
      << "checkpoints " << report.checkpoints_checked << (report.ok ? " verified\n" : " checked\n");
  if (report.entries_after_last_checkpoint > 0) {
    out << "newer       " << report.entries_after_last_checkpoint
        << " entries after the last checkpoint\n";
  }
  if (report.ok) {
    out << "audit log OK\n";
    return;
  }
  out << "audit log FAILED";
  if (report.first_bad_index) out << " at index " << *report.first_bad_index;
  out << "\n";
  for (const auto& p : report.problems) out << "  " << p << "\n";
}

}  // namespace hart::cli
