// hartctl: the operator/supervisor command line of the HART broker.
//   hartctl [--target HOST:PORT] [--certs_dir DIR] [--as NAME] [--json] COMMAND ARGS
// See Usage() below, or run `hartctl --help`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"
#include "broker/common/flag_names.h"

namespace {

constexpr char kUsage[] = R"(hartctl: operator and supervisor client of the HART referral broker.

usage: hartctl [global flags] COMMAND [ARGS] [command flags]

commands:
  submit FILE.json        submit an intake (IntakeService.SubmitIntake) and print the receipt
                          (presents careline.crt by default)
  supplement FILE.json    add facts to a referral (IntakeService.SupplementIntake); FILE is a
                          SupplementIntakeRequest: {"referralId"|"carelineReportId", "supplement"}
  status REFERRAL_ID      show a referral and the state of every delivery
                          (SupervisorService.GetReferral; presents supervisor.crt)
  explain FILE.json       show how the routing policy would route an intake, rule by rule,
                          without storing it (SupervisorService.ExplainRouting; supervisor.crt)
  list [--overdue] [--state S] [--region N] [--rule ID] [--agency ID] [--limit N]
                          referrals matching the filters, newest first (SupervisorService)
  watch [--resume_after N] [--max_events N]
                          stream escalation events (SupervisorService.WatchEscalations)
  redeliver DELIVERY_ID --reason TEXT [--to AGENCY]
                          send a DEAD or DECLINED delivery again (audited)
  ack-on-behalf DELIVERY_ID --kind accepted|declined|received --reason TEXT [--note TEXT]
                          record an acknowledgement a partner gave by phone (audited)
  seal REFERRAL_ID --order REFERENCE
                          seal by court order: destroy the referral's data, notify partners
  adapters                every push destination's health: up, degraded or circuit open,
                          failures in a row, calls in flight, last error
                          (SupervisorService.ListAdapterHealth; supervisor.crt)
  report missing-from-care [FIRST_MONTH [LAST_MONTH]]
                          the federal 24-hour rule: each missing-from-care referral received
                          in the months (YYYY-MM, America/New_York; default this month, at most
                          12) and whether NCMEC and police were told within 24 h: on time,
                          late (by how much), never made, not yet due
  report annual YEAR      trafficking referrals of the year by type, region, town, agency kind
                          notified, age band and gender; small counts suppressed ("<5", "*")
  report ack-times [FIRST_MONTH [LAST_MONTH]]
                          time to ACCEPTED by agency kind: median, p90, share within deadline
                          (SupervisorService.GetComplianceReport; supervisor.crt; --csv: CSV)
  dashboard               a one-time link (5 minutes) signing you into the supervisors'
                          dashboard on the operations port (supervisor.crt)
  keys rotate             reload the key directory and rewrap every data key with the
                          ACTIVE key-encryption key (OperatorService; operator.crt)
  feed --agency ID        stream the agency's feed (FeedService.Subscribe; agency-ID.crt)
      [--resume_after N]  the last sequence already processed (default 0: the whole feed)
      [--ack none|received|accepted]
                          acknowledge each delivery event (accepted sends RECEIVED, then ACCEPTED)
      [--max_events N]    stop after N delivery events (default 0: no limit)
      [--idle_exit SECONDS]
                          stop when no delivery event arrived for SECONDS (default 0: never)
  ack DELIVERY_ID --agency ID --kind received|accepted|declined [--note TEXT]
                          acknowledge one delivery (FeedService.Acknowledge; agency-ID.crt);
                          declined needs --note giving the reason
  audit verify [--public_key FILE]
                          recompute the audit tree and check every signed checkpoint, their
                          consistency and every entry; names the first index that disagrees
                          (AuditService, auditor.crt). A stopped broker's data directory is
                          verified with hart-admin audit verify --data_dir DIR, not hartctl
  audit prove --index N | DELIVERY_ID [--public_key FILE]
                          fetch and verify inclusion proofs against the latest signed checkpoint

global flags:
  --target HOST:PORT      broker address (default 127.0.0.1:7443)
  --certs_dir DIR         ca.crt and NAME.crt/NAME.key (default $HART_CERTS_DIR, else var/certs);
                          create development certificates with deploy/make-dev-certs.sh
  --as NAME               present NAME.crt/NAME.key instead of the command's default
  --json                  print the response as protobuf JSON (feed: one JSON line per event);
                          RPC errors as {"code", "message", "fieldViolations"} on stdout
  --csv                   report: print CSV instead of tables
  --timeout DURATION      deadline of every unary call (default 10s)

Flags may be written with dashes or underscores (--certs-dir, --certs_dir).
Exit status: 0 success, 1 the RPC failed, 2 usage or local input error.
)";

// absl::ParseCommandLine exits with status 1 on a bad flag; hartctl promises
// 2 for usage errors, so while parsing, an exit becomes exit status 2.
bool g_parsing_flags = false;

void ExitAsUsageErrorWhileParsing() {
  if (!g_parsing_flags) return;
  std::cerr << "Run 'hartctl --help' for usage." << std::endl;
  std::fflush(nullptr);
  std::_Exit(hart::cli::kExitUsage);
}

// --version (before a bare "--").
bool WantsVersion(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-version") == 0) {
      return true;
    }
  }
  return false;
}

// --help, -h, --helpfull and the like (before a bare "--"), or `help` as the command.
bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return false;
    if (std::strcmp(arg, "-h") == 0 || std::strncmp(arg, "--help", 6) == 0 ||
        std::strncmp(arg, "-help", 5) == 0) {
      return true;
    }
  }
  return argc >= 2 && std::strcmp(argv[1], "help") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hart::cli;
  absl::SetProgramUsageMessage(kUsage);
  if (WantsHelp(argc, argv)) {
    std::cout << kUsage;
    return kExitOk;
  }
  if (WantsVersion(argc, argv)) {
    std::cout << "hartctl " << HART_VERSION << "\n";
    return kExitOk;
  }
  hart::NormalizeFlagNames(argc, argv);
  std::atexit(ExitAsUsageErrorWhileParsing);
  g_parsing_flags = true;
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  g_parsing_flags = false;

  if (positional.size() < 2) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  if (absl::Status s = ValidateConnectionFlags(); !s.ok()) return ReportLocalError(s);
  QuietGrpcLogs();

  const std::string command = positional[1];
  const std::vector<std::string> args(positional.begin() + 2, positional.end());
  if (command == "submit") return RunSubmit(args);
  if (command == "supplement") return RunSupplement(args);
  if (command == "status") return RunStatus(args);
  if (command == "explain") return RunExplain(args);
  if (command == "feed") return RunFeed(args);
  if (command == "ack") return RunAck(args);
  if (command == "audit") return RunAudit(args);
  if (command == "list") return RunList(args);
  if (command == "watch") return RunWatch(args);
  if (command == "redeliver") return RunRedeliver(args);
  if (command == "ack-on-behalf") return RunAckOnBehalf(args);
  if (command == "seal") return RunSeal(args);
  if (command == "keys") return RunKeys(args);
  if (command == "adapters") return RunAdapters(args);
  if (command == "report") return RunReport(args);
  if (command == "dashboard") return RunDashboard(args);
  return ReportLocalError("unknown command '" + command +
                          "'; commands: submit, supplement, status, explain, list, watch, redeliver, ack-on-behalf, seal, adapters, report, dashboard, keys, feed, ack, audit (see hartctl --help)");
}
