// hartctl dashboard: a one-time link that signs the caller (supervisor.crt)
// into the supervisors' dashboard on the broker's operations port.
#include <iostream>

#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

int RunDashboard(const std::vector<std::string>& args) {
  if (!args.empty()) return ReportLocalError("usage: hartctl dashboard");
  auto channel = OpenChannel(IdentityOr("supervisor"));
  if (!channel.ok()) return ReportLocalError(channel.status());
  auto stub = v1::SupervisorService::NewStub(*channel);
  v1::CreateDashboardLoginResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status =
      stub->CreateDashboardLogin(&context, v1::CreateDashboardLoginRequest(), &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
    return kExitOk;
  }
  // The link alone on stdout, for scripts; how long it lasts on stderr.
  std::cout << response.url() << "\n";
  std::cerr << "Open it in a browser before " << FormatTime(response.expires_at(), true)
            << "; it works once, on this broker.\n";
  return kExitOk;
}

}  // namespace hart::cli
