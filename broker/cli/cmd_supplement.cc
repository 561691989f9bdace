// hartctl supplement FILE.json: IntakeService.SupplementIntake. The file is
// the protobuf JSON of a SupplementIntakeRequest (referralId or
// carelineReportId, and the supplement).
#include <iostream>

#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_intake_file.h"
#include "broker/cli/cli_output.h"
#include "hart/referral/v1/intake.grpc.pb.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

int RunSupplement(const std::vector<std::string>& args) {
  if (args.size() != 1) return ReportLocalError("usage: hartctl supplement FILE.json");
  v1::SupplementIntakeRequest request;
  if (auto s = ReadJsonFile(args[0], &request); !s.ok()) return ReportLocalError(s);
  auto channel = OpenChannel(IdentityOr("careline"));
  if (!channel.ok()) return ReportLocalError(channel.status());
  auto stub = v1::IntakeService::NewStub(*channel);
  v1::SupplementIntakeResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->SupplementIntake(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
    return kExitOk;
  }
  std::cout << "referral    " << response.receipt().referral_id() << "\n"
            << "changed     " << JoinComma(response.changed_fields()) << "\n"
            << "new         " << JoinComma(response.new_agency_ids()) << "\n"
            << "updated     " << JoinComma(response.updated_agency_ids()) << "\n";
  return kExitOk;
}

}  // namespace hart::cli
