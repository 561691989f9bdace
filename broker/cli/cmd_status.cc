// hartctl status REFERRAL_ID: SupervisorService.GetReferral, printing the
// referral, a table of its deliveries and each delivery's timeline.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"
#include "broker/cli/cli_table.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

// "0", or "2 (ACCEPTED)": how many acks and the latest one's kind.
std::string AcksSummary(const v1::DeliveryStatus& d) {
  if (d.acks().empty()) return "0";
  const auto& latest = d.acks(d.acks_size() - 1);
  return absl::StrCat(d.acks_size(), " (", v1::Acknowledgement::Kind_Name(latest.kind()),
                      ")");
}

// "REFERRAL", "UPDATE child.town", "ESCALATION", "ERASURE".
std::string MessageLabel(const v1::DeliveryStatus& d) {
  if (d.kind() == v1::UPDATE) return "UPDATE " + JoinComma(d.changes());
  if (d.kind() == v1::MESSAGE_KIND_UNSPECIFIED) return "REFERRAL";  // before kinds were stored
  return v1::MessageKind_Name(d.kind());
}

// Each delivery's audited events, oldest first: what happened to it, when
// and by whom.
void PrintTimelines(const v1::ReferralStatus& s) {
  for (const auto& d : s.deliveries()) {
    if (d.timeline().empty()) continue;
    std::cout << "\n" << d.delivery_id() << " (" << d.agency_id() << "):\n";
    Table table({"AT", "EVENT", "ACTOR", "DETAIL", "AUDIT INDEX"});
    for (const auto& e : d.timeline()) {
      table.AddRow({FormatTime(e.at(), e.has_at()), e.action(), e.actor(),
                    e.detail().empty() ? "-" : e.detail(), absl::StrCat(e.audit_index())});
    }
    table.Print(std::cout, "  ");
  }
}

void PrintStatus(const v1::ReferralStatus& s) {
  std::cout << "referral    " << s.referral_id() << "\n"
            << "report      " << s.careline_report_id() << "\n"
            << "priority    " << v1::Priority_Name(s.priority()) << "\n"
            << "town        " << s.resolved_town() << "\n"
            << "received    " << FormatTime(s.received_at(), s.has_received_at()) << "\n"
            << "accepted    " << FormatTime(s.accepted_at(), s.has_accepted_at()) << "\n";
  if (s.has_sealed_at()) {
    std::cout << "sealed      " << FormatTime(s.sealed_at(), true)
              << " (by court order: its facts are erased)\n";
  }
  if (!s.supplement_ids().empty()) {
    std::cout << "supplements " << JoinComma(s.supplement_ids()) << "\n";
  }
  for (const auto& pending : s.pending_evaluations()) {
    std::cout << "pending     " << JoinComma(pending.rule_ids()) << " at "
              << FormatTime(pending.due_at(), true) << "\n";
  }
  std::cout << "\ndeliveries (" << s.deliveries_size() << "):\n";
  Table table({"AGENCY", "MESSAGE", "STATE", "ATTEMPTS", "ACKS", "ACK DEADLINE", "DELIVERY DEADLINE",
               "DELIVERY", "ADAPTER", "TRANSPORT REF", "LAST ERROR"});
  for (const auto& d : s.deliveries()) {
    // Push adapters show their health, e.g. "webhook (CIRCUIT_OPEN)".
    std::string adapter = d.adapter();
    if (d.has_adapter_health()) {
      absl::StrAppend(&adapter, " (", v1::AdapterHealth::State_Name(d.adapter_health().state()),
                      ")");
    }
    table.AddRow({d.agency_id(),
                  MessageLabel(d),
                  v1::DeliveryState_Name(d.state()),
                  absl::StrCat(d.attempts()), AcksSummary(d),
                  FormatTime(d.ack_deadline(), d.has_ack_deadline()),
                  FormatTime(d.delivery_deadline(), d.has_delivery_deadline()),
                  d.delivery_id(), adapter, d.transport_ref().empty() ? "-" : d.transport_ref(),
                  d.last_error().empty() ? "-" : d.last_error()});
  }
  table.Print(std::cout, "  ");
  PrintTimelines(s);
}

}  // namespace

int RunStatus(const std::vector<std::string>& args) {
  if (args.size() != 1) return ReportLocalError("usage: hartctl status REFERRAL_ID");
  auto channel = OpenChannel(IdentityOr("supervisor"));
  if (!channel.ok()) return ReportLocalError(channel.status());

  auto stub = v1::SupervisorService::NewStub(*channel);
  v1::GetReferralRequest request;
  request.set_referral_id(args[0]);
  v1::ReferralStatus response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->GetReferral(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);

  if (JsonMode()) {
    PrintJson(response);
  } else {
    PrintStatus(response);
  }
  return kExitOk;
}

}  // namespace hart::cli
