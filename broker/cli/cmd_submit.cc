// hartctl submit FILE.json: IntakeService.SubmitIntake, printing the receipt.
#include <iostream>

#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_intake_file.h"
#include "broker/cli/cli_output.h"
#include "broker/cli/cli_table.h"
#include "hart/referral/v1/intake.grpc.pb.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

void PrintReceipt(const v1::Receipt& receipt) {
  std::cout << "referral    " << receipt.referral_id() << "\n"
            << "report      " << receipt.careline_report_id() << "\n"
            << "priority    " << v1::Priority_Name(receipt.priority()) << "\n"
            << "town        " << receipt.resolved_town() << "\n"
            << "accepted    " << FormatTime(receipt.accepted_at(), receipt.has_accepted_at())
            << "\n\n"
            << "destinations (" << receipt.destinations_size() << "):\n";
  Table table({"AGENCY", "KIND", "RULES", "DELIVERY", "ACK DEADLINE", "DELIVERY DEADLINE"});
  for (const auto& d : receipt.destinations()) {
    table.AddRow({d.agency_id(), v1::AgencyKind_Name(d.agency_kind()), JoinComma(d.rule_ids()),
                  d.delivery_id(), FormatTime(d.ack_deadline(), d.has_ack_deadline()),
                  d.has_delivery_deadline()
                      ? FormatTime(d.delivery_deadline(), true)
                      : std::string()});
  }
  table.Print(std::cout, "  ");
}

}  // namespace

int RunSubmit(const std::vector<std::string>& args) {
  if (args.size() != 1) return ReportLocalError("usage: hartctl submit FILE.json");
  auto intake = ReadIntakeFile(args[0]);
  if (!intake.ok()) return ReportLocalError(intake.status());
  auto channel = OpenChannel(IdentityOr("careline"));
  if (!channel.ok()) return ReportLocalError(channel.status());

  auto stub = v1::IntakeService::NewStub(*channel);
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = std::move(*intake);
  v1::SubmitIntakeResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->SubmitIntake(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);

  if (JsonMode()) {
    PrintJson(response);
  } else {
    PrintReceipt(response.receipt());
  }
  return kExitOk;
}

}  // namespace hart::cli
