// hartctl ack DELIVERY_ID --kind received|accepted|declined [--note TEXT]:
// FeedService.Acknowledge as the agency, printing the delivery's new state.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "broker/cli/cli_acknowledge.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"

ABSL_FLAG(std::string, kind, "", "ack: received, accepted or declined.");
ABSL_FLAG(std::string, note, "", "ack: free text; the reason, required for declined.");

namespace hart::cli {
namespace v1 = hart::referral::v1;

int RunAck(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportLocalError(
        "usage: hartctl ack DELIVERY_ID --kind received|accepted|declined [--note TEXT] "
        "--agency ID");
  }
  const std::string kind_name = absl::AsciiStrToLower(absl::GetFlag(FLAGS_kind));
  const std::string note = absl::GetFlag(FLAGS_note);
  v1::Acknowledgement::Kind kind;
  if (kind_name == "received") {
    kind = v1::Acknowledgement::RECEIVED;
  } else if (kind_name == "accepted") {
    kind = v1::Acknowledgement::ACCEPTED;
  } else if (kind_name == "declined") {
    kind = v1::Acknowledgement::DECLINED;
    if (note.empty()) {
      return ReportLocalError("--kind declined needs --note TEXT giving the reason");
    }
  } else {
    return ReportLocalError("ack needs --kind received, accepted or declined");
  }
  auto identity = AgencyIdentity("ack");
  if (!identity.ok()) return ReportLocalError(identity.status());
  auto channel = OpenChannel(*identity);
  if (!channel.ok()) return ReportLocalError(channel.status());

  auto stub = v1::FeedService::NewStub(*channel);
  v1::AcknowledgeResponse response;
  const grpc::Status status = Acknowledge(*stub, args[0], kind, note, &response);
  if (!status.ok()) return ReportRpcError(status);

  if (JsonMode()) {
    PrintJson(response);
  } else {
    std::cout << "delivery " << args[0] << ": " << v1::DeliveryState_Name(response.state())
              << "\n";
  }
  return kExitOk;
}

}  // namespace hart::cli
