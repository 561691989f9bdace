// hartctl feed --agency ID: FeedService.Subscribe as the agency, one line per
// delivery event, optionally acknowledging each one; stops after
// --max_events delivery events or --idle_exit seconds without one.
#include <chrono>
#include <cmath>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/cli/cli_acknowledge.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_idle_watchdog.h"
#include "broker/cli/cli_output.h"
#include "hart/referral/v1/feed.grpc.pb.h"

ABSL_FLAG(uint64_t, resume_after, 0,
          "feed: the last sequence already processed; 0 replays the whole feed.");
ABSL_FLAG(std::string, ack, "none",
          "feed: acknowledge each delivery: none, received, or accepted "
          "(RECEIVED then ACCEPTED).");
ABSL_FLAG(int64_t, max_events, 0, "feed: stop after this many delivery events (0 = no limit).");
ABSL_FLAG(double, idle_exit, 0,
          "feed: stop when no delivery event arrived for this many seconds "
          "(0 = run until interrupted).");

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

struct FeedOptions {
  bool ack_received = false;
  bool ack_accepted = false;
  int64_t max_events = 0;
  std::chrono::milliseconds idle_exit{0};
};

absl::StatusOr<FeedOptions> ReadFeedFlags() {
  FeedOptions options;
  const std::string ack = absl::AsciiStrToLower(absl::GetFlag(FLAGS_ack));
  if (ack == "received") {
    options.ack_received = true;
  } else if (ack == "accepted") {
    options.ack_received = options.ack_accepted = true;
  } else if (ack != "none") {
    return absl::InvalidArgumentError("--ack must be none, received or accepted");
  }
  options.max_events = absl::GetFlag(FLAGS_max_events);
  if (options.max_events < 0) {
    return absl::InvalidArgumentError("--max_events must be 0 (no limit) or more");
  }
  const double idle = absl::GetFlag(FLAGS_idle_exit);
  if (!(idle >= 0) || !std::isfinite(idle)) {
    return absl::InvalidArgumentError("--idle_exit must be 0 (never) or a number of seconds");
  }
  options.idle_exit = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(idle * 1000)));
  return options;
}

// Sends the acknowledgements --ack asks for; false (after reporting) if one failed.
bool AcknowledgeEvent(v1::FeedService::Stub& stub, const FeedOptions& options,
                      const std::string& delivery_id, std::string* state) {
  std::vector<v1::Acknowledgement::Kind> kinds;
  if (options.ack_received) kinds.push_back(v1::Acknowledgement::RECEIVED);
  if (options.ack_accepted) kinds.push_back(v1::Acknowledgement::ACCEPTED);
  for (const auto kind : kinds) {
    v1::AcknowledgeResponse response;
    const grpc::Status status = Acknowledge(stub, delivery_id, kind, "", &response);
    if (!status.ok()) {
      ReportRpcError(status);
      return false;
    }
    *state = v1::DeliveryState_Name(response.state());
  }
  return true;
}

void PrintEventLine(const v1::FeedEvent& event, const std::string& ack_state) {
  const auto& d = event.delivery();
  std::string line = absl::StrCat(
      "seq=", event.sequence(), " delivery=", d.delivery_id(), " referral=", d.referral_id(),
      " priority=", v1::Priority_Name(d.referral().priority()),
      " redelivery=", d.redelivery() ? "true" : "false");
  if (!ack_state.empty()) absl::StrAppend(&line, " state=", ack_state);
  std::cout << line << std::endl;
}

}  // namespace

int RunFeed(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return ReportLocalError(
        "usage: hartctl feed --agency ID [--resume_after N] [--ack none|received|accepted] "
        "[--max_events N] [--idle_exit SECONDS]");
  }
  auto options = ReadFeedFlags();
  if (!options.ok()) return ReportLocalError(options.status());
  auto identity = AgencyIdentity("feed");
  if (!identity.ok()) return ReportLocalError(identity.status());
  auto channel = OpenChannel(*identity);
  if (!channel.ok()) return ReportLocalError(channel.status());

  auto stub = v1::FeedService::NewStub(*channel);
  v1::SubscribeRequest request;
  request.set_resume_after(absl::GetFlag(FLAGS_resume_after));
  grpc::ClientContext context;  // no deadline: the stream runs until we stop it
  IdleWatchdog watchdog(context, options->idle_exit);
  auto reader = stub->Subscribe(&context, request);

  int64_t delivery_events = 0;
  bool ack_failed = false;
  bool reached_max = false;
  v1::FeedEvent event;
  while (reader->Read(&event)) {
    const bool is_delivery = event.has_delivery();
    if (is_delivery) watchdog.Touch();
    // --json prints every event (heartbeats too) before acknowledging it;
    // text prints delivery events only, with the state the acks led to.
    if (JsonMode()) std::cout << ToJson(event, /*one_line=*/true) << std::endl;
    std::string ack_state;
    if (is_delivery && (options->ack_received || options->ack_accepted)) {
      if (!AcknowledgeEvent(*stub, *options, event.delivery().delivery_id(), &ack_state)) {
        ack_failed = true;
      }
      watchdog.Touch();  // time spent acknowledging is not idleness
    }
    if (!JsonMode() && is_delivery) PrintEventLine(event, ack_state);
    if (is_delivery && ++delivery_events == options->max_events) {
      reached_max = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  const bool we_stopped = reached_max || watchdog.Fired();
  if (!status.ok() && !(we_stopped && status.error_code() == grpc::StatusCode::CANCELLED)) {
    ReportRpcError(status);
    return kExitRpcFailed;
  }
  if (!JsonMode()) {
    std::cerr << "feed stopped after " << delivery_events << " delivery event(s)";
    if (reached_max) {
      std::cerr << " (--max_events reached)";
    } else if (watchdog.Fired()) {
      std::cerr << " (none for " << absl::GetFlag(FLAGS_idle_exit) << " s)";
    }
    std::cerr << "\n";
  }
  return ack_failed ? kExitRpcFailed : kExitOk;
}

}  // namespace hart::cli
