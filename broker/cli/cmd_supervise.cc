// Supervisor commands: list, watch, redeliver, ack-on-behalf.
#include <iostream>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"
#include "broker/cli/cli_table.h"
#include "hart/referral/v1/operator.grpc.pb.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

// Shared with feed and ack.
ABSL_DECLARE_FLAG(std::string, agency);
ABSL_DECLARE_FLAG(uint64_t, resume_after);
ABSL_DECLARE_FLAG(int64_t, max_events);
ABSL_DECLARE_FLAG(std::string, kind);
ABSL_DECLARE_FLAG(std::string, note);

ABSL_FLAG(bool, overdue, false, "list: only referrals with an overdue delivery.");
ABSL_FLAG(std::string, state, "", "list: only referrals with a delivery in this state (e.g. DEAD).");
ABSL_FLAG(int32_t, region, 0, "list: only referrals of this DCF region (1-6).");
ABSL_FLAG(std::string, rule, "", "list: only referrals a rule with this id chose a destination by.");
ABSL_FLAG(std::string, to, "", "redeliver: send to this agency instead of the same one.");
ABSL_FLAG(std::string, reason, "", "redeliver, ack-on-behalf: why (required; audited).");
ABSL_FLAG(int32_t, limit, 50, "list: at most this many referrals.");
ABSL_FLAG(std::string, order, "", "seal: the court order's reference (required).");

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

std::unique_ptr<v1::SupervisorService::Stub> Stub(int* exit_code) {
  auto channel = OpenChannel(IdentityOr("supervisor"));
  if (!channel.ok()) {
    *exit_code = ReportLocalError(channel.status());
    return nullptr;
  }
  return v1::SupervisorService::NewStub(*channel);
}

absl::StatusOr<v1::Acknowledgement::Kind> AckKindFlag() {
  const std::string kind = absl::AsciiStrToLower(absl::GetFlag(FLAGS_kind));
  if (kind == "received") return v1::Acknowledgement::RECEIVED;
  if (kind == "accepted") return v1::Acknowledgement::ACCEPTED;
  if (kind == "declined") {
    if (absl::GetFlag(FLAGS_note).empty()) {
      return absl::InvalidArgumentError("--kind declined needs --note TEXT giving the reason");
    }
    return v1::Acknowledgement::DECLINED;
  }
  return absl::InvalidArgumentError("--kind must be received, accepted or declined");
}

}  // namespace

int RunList(const std::vector<std::string>& args) {
  if (!args.empty()) return ReportLocalError("usage: hartctl list [--overdue] [--state S] ...");
  v1::ListReferralsRequest request;
  request.set_overdue(absl::GetFlag(FLAGS_overdue));
  if (const std::string state = absl::GetFlag(FLAGS_state); !state.empty()) {
    v1::DeliveryState parsed;
    if (!v1::DeliveryState_Parse(absl::AsciiStrToUpper(state), &parsed) ||
        parsed == v1::DELIVERY_STATE_UNSPECIFIED) {
      return ReportLocalError("--state must be PENDING, IN_FLIGHT, DELIVERED, ACKNOWLEDGED, "
                              "DECLINED, DEAD or SEALED");
    }
    request.add_states(parsed);
  }
  request.set_region(static_cast<uint32_t>(absl::GetFlag(FLAGS_region)));
  request.set_rule_id(absl::GetFlag(FLAGS_rule));
  request.set_agency_id(absl::GetFlag(FLAGS_agency));
  request.set_page_size(static_cast<uint32_t>(absl::GetFlag(FLAGS_limit)));
  int exit_code = kExitOk;
  auto stub = Stub(&exit_code);
  if (!stub) return exit_code;
  v1::ListReferralsResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->ListReferrals(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"REFERRAL", "REPORT", "PRIORITY", "TOWN", "REGION", "DELIVERIES", "ACCEPTED",
               "OVERDUE", "DEAD", "DECLINED", "NEXT DEADLINE"});
  for (const auto& r : response.referrals()) {
    table.AddRow({r.referral_id(), r.careline_report_id(), v1::Priority_Name(r.priority()),
                  r.resolved_town(), absl::StrCat(r.region()), absl::StrCat(r.deliveries()),
                  absl::StrCat(r.acknowledged()), absl::StrCat(r.overdue()), absl::StrCat(r.dead()),
                  absl::StrCat(r.declined()), FormatTime(r.next_deadline(), r.has_next_deadline())});
  }
  table.Print(std::cout, "");
  if (!response.next_page_token().empty()) std::cout << "(more: raise --limit)\n";
  return kExitOk;
}

int RunWatch(const std::vector<std::string>& args) {
  if (!args.empty()) return ReportLocalError("usage: hartctl watch [--resume_after N] [--max_events N]");
  int exit_code = kExitOk;
  auto stub = Stub(&exit_code);
  if (!stub) return exit_code;
  grpc::ClientContext context;
  v1::WatchEscalationsRequest request;
  request.set_resume_after(absl::GetFlag(FLAGS_resume_after));
  auto reader = stub->WatchEscalations(&context, request);
  const int64_t max_events = absl::GetFlag(FLAGS_max_events);
  int64_t seen = 0;
  v1::EscalationEvent event;
  while ((max_events == 0 || seen < max_events) && reader->Read(&event)) {
    ++seen;
    if (JsonMode()) {
      std::cout << ToJson(event, /*one_line=*/true) << std::endl;
      continue;
    }
    std::vector<std::string> targets;
    for (int t : event.targets()) targets.push_back(v1::EscalationTarget_Name(static_cast<v1::EscalationTarget>(t)));
    std::cout << "seq=" << event.sequence() << " at=" << FormatTime(event.at(), true)
              << " referral=" << event.referral_id() << " delivery=" << event.delivery_id()
              << " agency=" << event.agency_id() << " step=" << event.step()
              << " reason=" << v1::EscalationReason_Name(event.reason())
              << " targets=" << absl::StrJoin(targets, ",")
              << " notified=" << absl::StrJoin(event.notified_agency_ids(), ",") << std::endl;
  }
  context.TryCancel();
  const grpc::Status status = reader->Finish();
  if (max_events != 0 && seen >= max_events) return kExitOk;
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    return ReportRpcError(status);
  }
  return kExitOk;
}

int RunRedeliver(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportLocalError("usage: hartctl redeliver DELIVERY_ID --reason TEXT [--to AGENCY]");
  }
  const std::string reason = absl::GetFlag(FLAGS_reason);
  if (reason.empty()) return ReportLocalError("--reason is required (it is audited)");
  int exit_code = kExitOk;
  auto stub = Stub(&exit_code);
  if (!stub) return exit_code;
  v1::RedeliverRequest request;
  request.set_delivery_id(args[0]);
  request.set_to_agency_id(absl::GetFlag(FLAGS_to));
  request.set_reason(reason);
  v1::RedeliverResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->Redeliver(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
  } else {
    std::cout << "redelivered " << args[0] << " as " << response.new_delivery_id() << " to "
              << response.agency_id() << " (ack due "
              << FormatTime(response.ack_deadline(), true) << ")\n";
  }
  return kExitOk;
}

int RunAckOnBehalf(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportLocalError(
        "usage: hartctl ack-on-behalf DELIVERY_ID --kind accepted|declined|received --reason TEXT");
  }
  const std::string reason = absl::GetFlag(FLAGS_reason);
  if (reason.empty()) return ReportLocalError("--reason is required (it is audited)");
  auto kind = AckKindFlag();
  if (!kind.ok()) return ReportLocalError(kind.status());
  int exit_code = kExitOk;
  auto stub = Stub(&exit_code);
  if (!stub) return exit_code;
  v1::AcknowledgeOnBehalfRequest request;
  request.set_delivery_id(args[0]);
  request.set_kind(*kind);
  request.set_note(absl::GetFlag(FLAGS_note));
  request.set_reason(reason);
  v1::AcknowledgeOnBehalfResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->AcknowledgeOnBehalf(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
  } else {
    std::cout << args[0] << " is now " << v1::DeliveryState_Name(response.state()) << "\n";
  }
  return kExitOk;
}

int RunSeal(const std::vector<std::string>& args) {
  if (args.size() != 1) return ReportLocalError("usage: hartctl seal REFERRAL_ID --order REFERENCE");
  const std::string order = absl::GetFlag(FLAGS_order);
  if (order.empty()) return ReportLocalError("--order (the court order's reference) is required");
  int exit_code = kExitOk;
  auto stub = Stub(&exit_code);
  if (!stub) return exit_code;
  v1::SealReferralRequest request;
  request.set_referral_id(args[0]);
  request.set_court_order_reference(order);
  v1::SealReferralResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->SealReferral(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
  } else {
    std::cout << "sealed " << args[0] << ": its data key is destroyed; erasure notices to "
              << (response.notified_agency_ids().empty()
                      ? std::string("nobody (nothing had gone out)")
                      : JoinComma(response.notified_agency_ids()))
              << "; " << response.stopped_deliveries() << " deliveries stopped\n";
  }
  return kExitOk;
}

int RunKeys(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] != "rotate") return ReportLocalError("usage: hartctl keys rotate");
  auto channel = OpenChannel(IdentityOr("operator"));
  if (!channel.ok()) return ReportLocalError(channel.status());
  auto stub = v1::OperatorService::NewStub(*channel);
  v1::RotateDataKeysResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->RotateDataKeys(&context, v1::RotateDataKeysRequest(), &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
  } else {
    std::cout << "active key " << response.active_key_id() << "; rewrapped "
              << response.rewrapped() << " data keys\n";
  }
  return kExitOk;
}

int RunAdapters(const std::vector<std::string>& args) {
  if (!args.empty()) return ReportLocalError("usage: hartctl adapters");
  int exit_code = kExitOk;
  auto stub = Stub(&exit_code);
  if (!stub) return exit_code;
  v1::ListAdapterHealthResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status =
      stub->ListAdapterHealth(&context, v1::ListAdapterHealthRequest(), &response);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"AGENCY", "ADAPTER", "STATE", "FAILURES", "IN FLIGHT", "QUEUED", "LAST SUCCESS",
               "OPEN UNTIL", "LAST ERROR"});
  for (const auto& a : response.adapters()) {
    table.AddRow({a.agency_id(), a.adapter(), v1::AdapterHealth::State_Name(a.state()),
                  absl::StrCat(a.consecutive_failures()), absl::StrCat(a.in_flight()),
                  absl::StrCat(a.queued()),
                  FormatTime(a.last_success_at(), a.has_last_success_at()),
                  FormatTime(a.circuit_open_until(), a.has_circuit_open_until()),
                  a.last_error()});
  }
  table.Print(std::cout, "");
  return kExitOk;
}

}  // namespace hart::cli
