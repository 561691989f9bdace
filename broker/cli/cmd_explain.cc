// hartctl explain FILE.json: SupervisorService.ExplainRouting, printing every
// rule's verdict with its reasons, then the destinations.
#include <iostream>

#include "absl/strings/str_join.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_intake_file.h"
#include "broker/cli/cli_output.h"
#include "broker/cli/cli_table.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

void PrintExplanation(const v1::ExplainRoutingResponse& r) {
  std::cout << "priority    " << v1::Priority_Name(r.priority()) << "\n"
            << "town        " << r.resolved_town() << "\n\n"
            << "rules (" << r.rules_size() << ", in evaluation order):\n";
  for (const auto& rule : r.rules()) {
    std::cout << "  " << (rule.fired() ? "FIRED    " : "not fired") << "  " << rule.rule_id();
    if (!rule.description().empty()) std::cout << "  (" << rule.description() << ")";
    std::cout << "\n";
    for (const auto& reason : rule.reasons()) std::cout << "      " << reason << "\n";
    if (!rule.agency_ids().empty()) {
      std::cout << "      -> " << absl::StrJoin(rule.agency_ids(), ", ") << "\n";
    }
  }
  for (const auto& pending : r.pending_evaluations()) {
    std::cout << "\npending     " << JoinComma(pending.rule_ids()) << " fires at "
              << FormatTime(pending.due_at(), true) << " unless the facts change\n";
  }
  std::cout << "\ndestinations (" << r.destinations_size() << "):\n";
  Table table({"AGENCY", "KIND", "RULES", "ACK DEADLINE", "DELIVERY DEADLINE"});
  for (const auto& d : r.destinations()) {
    table.AddRow({d.agency_id(), v1::AgencyKind_Name(d.agency_kind()), JoinComma(d.rule_ids()),
                  FormatTime(d.ack_deadline(), d.has_ack_deadline()),
                  d.has_delivery_deadline() ? FormatTime(d.delivery_deadline(), true)
                                            : std::string()});
  }
  table.Print(std::cout, "  ");
}

}  // namespace

int RunExplain(const std::vector<std::string>& args) {
  if (args.size() != 1) return ReportLocalError("usage: hartctl explain FILE.json");
  auto intake = ReadIntakeFile(args[0]);
  if (!intake.ok()) return ReportLocalError(intake.status());
  auto channel = OpenChannel(IdentityOr("supervisor"));
  if (!channel.ok()) return ReportLocalError(channel.status());

  auto stub = v1::SupervisorService::NewStub(*channel);
  v1::ExplainRoutingRequest request;
  *request.mutable_intake() = std::move(*intake);
  v1::ExplainRoutingResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->ExplainRouting(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);

  if (JsonMode()) {
    PrintJson(response);
  } else {
    PrintExplanation(response);
  }
  return kExitOk;
}

}  // namespace hart::cli
