// The "corrupted input at rest" round: one flipped byte in a referral's
// sealed intake (AES-256-GCM: the tag no longer verifies) and one in an
// audit row, written behind the broker's back while it serves. What must
// show: DATA_LOSS for that referral, the verifier naming the audit index,
// and everything else served as before (another referral, readiness, the
// round's own intakes and acknowledgements). Both bytes are flipped back
// afterwards, so later rounds check an intact store.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/faults/fault_at_rest.h"
#include "tests/faults/fault_bench.h"

namespace hart::testing {
namespace {

// Past the 12-byte nonce: a byte of the ciphertext itself.
constexpr uint32_t kIntakeByte = 20;
constexpr uint32_t kAuditByte = 1;

bool Serving(BrokerProcess& broker) {
  auto health = grpc::health::v1::Health::NewStub(broker.Channel("operator"));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return health->Check(CallContext().get(), request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

grpc::StatusCode GetReferral(BrokerProcess& broker, const std::string& referral_id) {
  v1::GetReferralRequest request;
  request.set_referral_id(referral_id);
  v1::ReferralStatus stored;
  return broker.Supervisor()->GetReferral(CallContext().get(), request, &stored).error_code();
}

// Re-reads `agency`'s feed from just before `sequence` (as a partner
// resuming from an old cursor would): what the first event read says.
std::string ReReadFeed(BrokerProcess& broker, const std::string& agency, uint64_t sequence) {
  auto stub = broker.Feed(agency);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  v1::SubscribeRequest request;
  request.set_resume_after(sequence - 1);
  auto stream = stub->Subscribe(&context, request);
  v1::FeedEvent event;
  while (stream->Read(&event)) {
    if (!event.has_delivery()) continue;  // a heartbeat
    context.TryCancel();
    stream->Finish();
    return absl::StrCat("feed re-read: event ", event.sequence(), " served",
                        event.delivery().referral().unreadable() ? " as unreadable" : "");
  }
  const grpc::Status status = stream->Finish();
  return absl::StrCat("feed re-read from ", sequence, ": code ",
                      static_cast<int>(status.error_code()));
}

}  // namespace

void FaultBench::Corrupt(const IntakeLoad& load, Injected& out, RoundRow& row) {
  out.fault_at = out.recover_from = std::chrono::steady_clock::now();
  std::vector<v1::Receipt> candidates =
      recent_receipts_.empty() ? load.Receipts() : recent_receipts_.back();
  std::erase_if(candidates, [&](const v1::Receipt& r) { return sealed_.count(r.referral_id()); });
  if (candidates.size() < 2) {
    out.problems.push_back("no referrals to corrupt");
    return;
  }
  const v1::Receipt& target = candidates[0];
  const std::string& other = candidates[1].referral_id();
  const RowByte intake{"referrals", "intake", "referral_id", target.referral_id(), false,
                       kIntakeByte};
  // `action` (TEXT, never empty): some entries' payload digest is empty.
  // The rows' idx is 1-based, the log's indexes 0-based.
  const RowByte audit{"audit_events", "action", "idx",
                      std::to_string(target.audit_index() + 1), true, kAuditByte, true};
  auto flip = [&](const RowByte& at) {
    return server_ ? FlipBytePostgres(server_->ConnectionStringWithPassword(database_), at)
                   : FlipByteSqlite(cluster_->data_dir(0) + "/hart.db", at);
  };
  if (auto s = flip(intake); !s.ok()) {
    out.problems.push_back(absl::StrCat("flipping the intake byte: ", s.ToString()));
    return;
  }
  const int serving = cluster_->Pick(0);
  if (serving < 0) {
    out.problems.push_back("no broker alive to read the damaged referral");
    static_cast<void>(flip(intake));
    return;
  }
  BrokerProcess& broker = cluster_->replica(serving);
  const grpc::StatusCode damaged = GetReferral(broker, target.referral_id());
  if (damaged != grpc::StatusCode::DATA_LOSS) {
    out.problems.push_back(absl::StrCat("GetReferral of the damaged referral answered ",
                                        static_cast<int>(damaged), ", not DATA_LOSS"));
  }
  if (GetReferral(broker, other) != grpc::StatusCode::OK) {
    out.problems.push_back("another referral is not served while one is damaged");
  }
  if (!Serving(broker)) out.problems.push_back("not ready while one referral is damaged");
  // A feed partner resuming from before the damaged referral's event.
  std::string feed_agency;
  uint64_t feed_sequence = 0;
  for (const auto& d : target.destinations()) {
    const FeedPartner* partner = feeds_->Find(d.agency_id());
    if (partner == nullptr || !feed_agency.empty()) continue;
    for (const FeedDeliverySeen& seen : partner->Seen()) {
      if (seen.delivery_id == d.delivery_id() && feed_agency.empty()) {
        feed_agency = d.agency_id();
        feed_sequence = seen.sequence;
      }
    }
  }
  const std::string feed_note =
      feed_agency.empty() ? "no feed event to re-read"
                          : ReReadFeed(broker, feed_agency, feed_sequence);
  std::string audit_note = "audit byte not flipped";
  if (auto s = flip(audit); !s.ok()) {
    out.problems.push_back(absl::StrCat("flipping the audit byte: ", s.ToString()));
  } else {
    const CommandOutput verify = RunHartctl(
        absl::StrCat("--target 127.0.0.1:", broker.port(),
                     " --as supervisor audit verify --public_key ", dir_.path(),
                     "/audit-signing.key.pub"));
    // The verifier's finding: "index N: ..." (log_verifier.cc).
    const std::string index = absl::StrCat("index ", target.audit_index(), ":");
    const bool named = verify.text.find(index) != std::string::npos;
    if (verify.exit_code == 0 || !named) {
      out.problems.push_back(absl::StrCat("audit verify with entry ", target.audit_index(),
                                          " altered: exit ", verify.exit_code,
                                          ", index named: ", named));
    }
    if (auto r = flip(audit); !r.ok()) out.problems.push_back("restoring the audit byte failed");
    audit_note = absl::StrCat("verify named ", index.substr(0, index.size() - 1));
  }
  if (auto r = flip(intake); !r.ok()) out.problems.push_back("restoring the intake byte failed");
  if (GetReferral(broker, target.referral_id()) != grpc::StatusCode::OK) {
    out.problems.push_back("the restored referral is not served again");
  }
  row.note = absl::StrCat("GetReferral ", damaged == grpc::StatusCode::DATA_LOSS ? "DATA_LOSS" :
                          std::to_string(static_cast<int>(damaged)), "; ", audit_note);
  // The damaged referral's event still goes out on its feed, marked
  // unreadable (without its facts), so the feed goes on past it.
  if (!feed_agency.empty()) {
    if (feed_note.find(" served as unreadable") == std::string::npos) {
      out.problems.push_back(absl::StrCat("damaged intake on ", feed_agency, "'s feed: ",
                                          feed_note, " (want: served as unreadable)"));
    } else {
      row.note += "; its feed event served as unreadable";
    }
  }
}

}  // namespace hart::testing
