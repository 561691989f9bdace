// hartctl audit verify | prove: check the broker's audit log the way a court
// or a partner would, trusting nothing but the checkpoint public key.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "broker/audit/audit_entry.h"
#include "broker/audit/checkpoint_signer.h"
#include "broker/audit/log_verifier.h"
#include "broker/audit/merkle_tree.h"
#include "broker/cli/cli_audit_report.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "hart/referral/v1/audit.grpc.pb.h"

ABSL_FLAG(std::string, public_key, "",
          "audit: the broker's checkpoint public key (PEM). Without it the key is fetched from "
          "the broker, which then vouches for itself.");
// Kept only to answer with the right tool: hartctl talks to a running broker.
ABSL_FLAG(std::string, data_dir, "",
          "Not supported: to verify a stopped broker's data directory, run hart-admin audit "
          "verify --data_dir DIR --public_key FILE.");
ABSL_FLAG(int64_t, index, -1, "audit prove: the audit index to prove (from a receipt, feed "
                              "event or ack response).");

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The public key: --public_key, else the broker's, with a warning.
absl::StatusOr<std::string> PublicKey(v1::AuditService::Stub& stub) {
  if (const std::string path = absl::GetFlag(FLAGS_public_key); !path.empty()) {
    HART_ASSIGN_OR_RETURN(pem, ReadFile(path));
    if (absl::Status key = audit::CheckPublicKey(pem); !key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.message()));
    }
    return pem;
  }
  std::cerr << "warning: no --public_key; using the key the broker serves\n";
  v1::PublicKey key;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub.GetPublicKey(&context, v1::GetPublicKeyRequest(), &key);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return key.public_key_pem();
}

int PrintReport(const audit::VerificationReport& report) {
  PrintVerificationReport(report, JsonMode(), std::cout);
  return report.ok ? kExitOk : kExitRpcFailed;
}

int Verify() {
  auto channel = OpenChannel(IdentityOr("auditor"));
  if (!channel.ok()) return ReportLocalError(channel.status());
  auto stub = v1::AuditService::NewStub(*channel);
  v1::AuditService::Stub* raw = stub.get();
  audit::LogToVerify log;
  // Cover everything written so far with a fresh signed checkpoint.
  v1::Checkpoint made;
  grpc::Status status = CallPaced([&](grpc::ClientContext& context) {
    return raw->CreateCheckpoint(&context, v1::CreateCheckpointRequest(), &made);
  });
  if (!status.ok()) return ReportRpcError(status);
  v1::ListCheckpointsResponse all;
  status = CallPaced([&](grpc::ClientContext& context) {
    return raw->ListCheckpoints(&context, v1::ListCheckpointsRequest(), &all);
  });
  if (!status.ok()) return ReportRpcError(status);
  log.checkpoints.assign(all.checkpoints().begin(), all.checkpoints().end());
  uint64_t start = 0;
  for (;;) {
    v1::ListEventsRequest request;
    request.set_start_index(start);
    request.set_page_size(1000);
    v1::ListEventsResponse page;
    status = CallPaced([&](grpc::ClientContext& context) {
      page.Clear();
      return raw->ListEvents(&context, request, &page);
    });
    if (!status.ok()) return ReportRpcError(status);
    log.events.insert(log.events.end(), page.events().begin(), page.events().end());
    if (page.next_start_index() == 0) break;
    start = page.next_start_index();
  }
  log.prove_consistency = [raw](uint64_t a, uint64_t b)
      -> absl::StatusOr<std::vector<std::string>> {
    v1::ProveConsistencyRequest request;
    request.set_first_size(a);
    request.set_second_size(b);
    v1::ConsistencyProof proof;
    const grpc::Status status = CallPaced([&](grpc::ClientContext& context) {
      proof.Clear();
      return raw->ProveConsistency(&context, request, &proof);
    });
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    return std::vector<std::string>(proof.proof().begin(), proof.proof().end());
  };
  auto key = PublicKey(*stub);
  if (!key.ok()) return ReportLocalError(key.status());
  log.public_key_pem = *key;
  return PrintReport(audit::VerifyLog(log));
}

// Proves one index against the latest checkpoint, the way a partner does.
int ProveIndex(v1::AuditService::Stub& stub, const std::string& public_key, uint64_t index) {
  v1::Checkpoint checkpoint;
  {
    grpc::ClientContext context;
    SetDeadline(context);
    const grpc::Status status =
        stub.GetCheckpoint(&context, v1::GetCheckpointRequest(), &checkpoint);
    if (!status.ok()) return ReportRpcError(status);
  }
  if (auto s = audit::VerifyCheckpoint(checkpoint, public_key); !s.ok()) {
    std::cout << "NOT VERIFIED: " << s.message() << "\n";
    return kExitRpcFailed;
  }
  if (index >= checkpoint.tree_size()) {
    std::cout << "NOT YET: index " << index << " is newer than the latest checkpoint (size "
              << checkpoint.tree_size() << "); try again after the next checkpoint\n";
    return kExitRpcFailed;
  }
  v1::InclusionProof proof;
  {
    v1::ProveInclusionRequest request;
    request.set_leaf_index(index);
    request.set_tree_size(checkpoint.tree_size());
    // `hartctl audit prove` without an index proves every event of a page.
    const grpc::Status status = CallPaced([&](grpc::ClientContext& context) {
      proof.Clear();
      return stub.ProveInclusion(&context, request, &proof);
    });
    if (!status.ok()) return ReportRpcError(status);
  }
  // The leaf hash is recomputed from the entry, never taken from the broker.
  const std::string leaf = audit::EntryLeafHash(proof.event().entry());
  const bool ok =
      proof.event().entry().index() == index &&
      audit::VerifyInclusion(leaf, index, checkpoint.tree_size(),
                             {proof.audit_path().begin(), proof.audit_path().end()},
                             checkpoint.root_hash());
  const auto& e = proof.event().entry();
  if (JsonMode()) {
    std::cout << "{\"index\":" << index << ",\"verified\":" << (ok ? "true" : "false")
              << ",\"treeSize\":" << checkpoint.tree_size() << ",\"action\":\"" << e.action()
              << "\"}\n";
  } else {
    std::cout << (ok ? "VERIFIED" : "NOT VERIFIED") << ": event " << index << " ("
              << e.action() << " by " << e.actor() << " at "
              << FormatRfc3339(absl::FromUnixMicros(e.at_micros())) << ", delivery "
              << (e.delivery_id().empty() ? "-" : e.delivery_id()) << ") is "
              << (ok ? "" : "NOT ") << "in the log of " << checkpoint.tree_size()
              << " entries signed at " << FormatRfc3339(FromProtoTime(checkpoint.timestamp()))
              << " by key " << checkpoint.key_id() << "\n";
  }
  return ok ? kExitOk : kExitRpcFailed;
}

int Prove(const std::vector<std::string>& args) {
  const int64_t index = absl::GetFlag(FLAGS_index);
  if ((index < 0) == args.empty()) {
    return ReportLocalError(
        "usage: hartctl audit prove --index N   or   hartctl audit prove DELIVERY_ID");
  }
  auto channel = OpenChannel(IdentityOr("auditor"));
  if (!channel.ok()) return ReportLocalError(channel.status());
  auto stub = v1::AuditService::NewStub(*channel);
  auto key = PublicKey(*stub);
  if (!key.ok()) return ReportLocalError(key.status());
  if (index >= 0) return ProveIndex(*stub, *key, static_cast<uint64_t>(index));
  // Every event about the delivery (needs the auditor or supervisor role).
  grpc::ClientContext context;
  SetDeadline(context);
  v1::ListEventsRequest request;
  request.set_delivery_id(args[0]);
  request.set_page_size(1000);
  v1::ListEventsResponse events;
  const grpc::Status status = stub->ListEvents(&context, request, &events);
  if (!status.ok()) return ReportRpcError(status);
  if (events.events().empty()) return ReportLocalError("no audit events for " + args[0]);
  int result = kExitOk;
  for (const auto& e : events.events()) {
    if (ProveIndex(*stub, *key, e.entry().index()) != kExitOk) result = kExitRpcFailed;
  }
  return result;
}

}  // namespace

int RunAudit(const std::vector<std::string>& args) {
  if (args.empty()) return ReportLocalError("usage: hartctl audit verify|prove ...");
  if (const std::string dir = absl::GetFlag(FLAGS_data_dir); !dir.empty()) {
    // Reading a broker's files is the admin tool's job: it opens them
    // through the store layer, whatever the backend.
    return ReportLocalError(
        "hartctl talks to a running broker only and no longer reads a data directory; to "
        "verify a stopped broker's files, run: hart-admin audit verify --data_dir " + dir +
        " --public_key FILE [--key-dir DIR]");
  }
  if (args[0] == "verify") return Verify();
  if (args[0] == "prove") return Prove({args.begin() + 1, args.end()});
  return ReportLocalError("unknown audit command '" + args[0] + "'; use verify or prove");
}

}  // namespace hart::cli
