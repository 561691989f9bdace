// proto_partner: a feed partner written from proto/ alone, the way an agency
// integrating with the broker would: only the code protoc and grpc_cpp_plugin
// generate from hart/referral/v1/*.proto, and gRPC. No broker library and no
// test support code, so anything this needs that the .proto files do not say
// is a gap in the contract.
//
// It subscribes to FeedService as the agency of its client certificate,
// acknowledges every delivery RECEIVED then ACCEPTED, prints
//   delivery <deliveryId> seq <sequence>
// once per distinct delivery, and exits 0 when --expect distinct deliveries
// were received and acknowledged; 1 on timeout; 2 on a usage error; 3 when an
// acknowledgement is refused. A stream that breaks (a replica restarting) is
// opened again after the last sequence seen, as the proto asks of partners.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "hart/referral/v1/feed.grpc.pb.h"

namespace v1 = hart::referral::v1;
using Clock = std::chrono::system_clock;

namespace {

constexpr char kUsage[] =
    "usage: proto_partner --target HOST:PORT --ca FILE --cert FILE --key FILE --agency ID\n"
    "                     --expect N --timeout-seconds S [--resume-after SEQ]\n";

struct Options {
  std::string target, ca, cert, key, agency;
  uint64_t expect = 0;
  int64_t timeout_seconds = 0;
  uint64_t resume_after = 0;
};

[[noreturn]] void UsageError(const std::string& why) {
  std::cerr << "proto_partner: " << why << "\n" << kUsage;
  std::exit(2);
}

uint64_t ParseNumber(const std::string& flag, const std::string& text) {
  // Digits only: std::stoull would take "-1" and wrap it.
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    UsageError(flag + " needs a non-negative number, not '" + text + "'");
  }
  return std::stoull(text);
}

Options ParseFlags(int argc, char** argv) {
  Options o;
  bool have_expect = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      UsageError(flag + " needs a value");
    }
    if (flag == "--target") o.target = value;
    else if (flag == "--ca") o.ca = value;
    else if (flag == "--cert") o.cert = value;
    else if (flag == "--key") o.key = value;
    else if (flag == "--agency") o.agency = value;
    else if (flag == "--expect") { o.expect = ParseNumber(flag, value); have_expect = true; }
    else if (flag == "--timeout-seconds") o.timeout_seconds = static_cast<int64_t>(ParseNumber(flag, value));
    else if (flag == "--resume-after") o.resume_after = ParseNumber(flag, value);
    else UsageError("unknown flag " + flag);
  }
  if (o.target.empty() || o.ca.empty() || o.cert.empty() || o.key.empty() || o.agency.empty()) {
    UsageError("--target, --ca, --cert, --key and --agency are required");
  }
  if (!have_expect) UsageError("--expect is required");
  if (o.timeout_seconds <= 0) UsageError("--timeout-seconds must be positive");
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "proto_partner: cannot read " << path << "\n";
    std::exit(2);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Transient(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// RECEIVED, then ACCEPTED (feed.proto: a transport, then a business
// acknowledgement). Both are idempotent, so a retry after a lost answer is
// safe. Returns false when the broker refuses one.
bool AcknowledgeTwice(v1::FeedService::Stub& stub, const std::string& delivery_id,
                      Clock::time_point deadline) {
  for (const auto kind : {v1::Acknowledgement::RECEIVED, v1::Acknowledgement::ACCEPTED}) {
    for (int attempt = 1;; ++attempt) {
      v1::AcknowledgeRequest request;
      request.set_delivery_id(delivery_id);
      request.set_kind(kind);
      v1::AcknowledgeResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::min(deadline, Clock::now() + std::chrono::seconds(10)));
      const grpc::Status status = stub.Acknowledge(&context, request, &response);
      if (status.ok()) break;
      std::cerr << "proto_partner: Acknowledge " << v1::Acknowledgement::Kind_Name(kind) << " "
                << delivery_id << ": " << status.error_code() << " " << status.error_message()
                << "\n";
      if (!Transient(status) || attempt >= 5 || Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));  // back off
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseFlags(argc, argv);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(options.ca);
  ssl.pem_cert_chain = ReadFile(options.cert);
  ssl.pem_private_key = ReadFile(options.key);
  auto channel = grpc::CreateChannel(options.target, grpc::SslCredentials(ssl));
  auto stub = v1::FeedService::NewStub(channel);

  const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_seconds);
  std::set<std::string> acknowledged;
  uint64_t last_sequence = options.resume_after;
  if (options.expect == 0) return 0;

  while (Clock::now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    v1::SubscribeRequest request;
    request.set_resume_after(last_sequence);
    auto reader = stub->Subscribe(&context, request);
    v1::FeedEvent event;
    while (reader->Read(&event)) {
      if (event.event_case() != v1::FeedEvent::kDelivery) continue;  // heartbeats
      if (event.sequence() > last_sequence) last_sequence = event.sequence();
      const std::string& id = event.delivery().delivery_id();
      // A redelivery of something already acknowledged: feed.proto says drop it.
      if (acknowledged.contains(id)) continue;
      if (!AcknowledgeTwice(*stub, id, deadline)) {
        std::cerr << "proto_partner: the broker refused to acknowledge " << id << "\n";
        context.TryCancel();
        (void)reader->Finish();
        return 3;
      }
      acknowledged.insert(id);
      std::cout << "delivery " << id << " seq " << event.sequence() << std::endl;
      if (acknowledged.size() >= options.expect) {
        context.TryCancel();  // done: end the stream; Finish reports CANCELLED
        (void)reader->Finish();
        std::cerr << "proto_partner: " << acknowledged.size()
                  << " deliveries received and acknowledged (" << options.agency << ")\n";
        return 0;
      }
    }
    const grpc::Status status = reader->Finish();
    if (Clock::now() >= deadline) break;
    // The stream ended early (a replica stopping, a network blip): subscribe
    // again after the last sequence seen.
    std::cerr << "proto_partner: the feed stream ended (" << status.error_code() << " "
              << status.error_message() << "); subscribing again after " << last_sequence
              << "\n";
    if (!Transient(status) && status.error_code() != grpc::StatusCode::OK &&
        status.error_code() != grpc::StatusCode::CANCELLED) {
      return 3;  // PERMISSION_DENIED, UNAUTHENTICATED, ...: retrying will not help
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // back off before reconnecting
  }
  std::cerr << "proto_partner: timed out after " << options.timeout_seconds << " s with "
            << acknowledged.size() << " of " << options.expect << " deliveries for "
            << options.agency << "\n";
  return 1;
}
