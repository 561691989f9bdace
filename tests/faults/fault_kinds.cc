// The fault kinds of a round (fault_bench.h, Fault) other than the pause:
// where each one lands and what it checks of itself. The round's common
// checks (fault_bench.cc) follow each of them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/common/time_util.h"
#include "broker/common/crypto_random.h"
#include "hart/referral/v1/operator.grpc.pb.h"
#include "tests/faults/fault_at_rest.h"
#include "tests/faults/fault_bench.h"

namespace hart::testing {
namespace {

// How long a kill@step round waits for an escalation step to be pushed:
// the round's first stamford-pd delivery is due 10 s after it was made
// (steps 1 s apart), and earlier rounds' ladders may still be climbing.
// (Police deadlines of 3 s were tried: feed partners behind a restart then
// miss theirs too, and the ladder notices swamp the coordinator's feed.)
constexpr auto kStepBound = std::chrono::seconds(15);
constexpr auto kLogBound = std::chrono::seconds(10);

double Since(SteadyTime from) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Written to a temporary name and renamed: a reader sees the old or the new.
void WriteAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << bytes;
  }
  ::chmod(tmp.c_str(), 0600);
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

FaultBench::Injected FaultBench::KillAndRestart(int victim) {
  Injected out;
  out.fault_at = std::chrono::steady_clock::now();
  cluster_->Kill(victim);
  const bool restarted = cluster_->Restart(victim);
  if (!restarted) out.problems.push_back(ReplicaCluster::Name(victim) + " did not start again");
  if (restarted) out.restart_s = Since(out.fault_at);
  out.recover_from = out.fault_at;
  return out;
}

FaultBench::Injected FaultBench::Inject(Fault fault, int victim, uint64_t instant_ms,
                                        const IntakeLoad& load, RoundRow& row) {
  Injected out;
  switch (fault) {
    case Fault::kKill:
    case Fault::kKillCommit: {
      // kill@cmt: twelve clients keep the writer's batches full; any
      // instant finds intakes between their submission and their commit.
      std::this_thread::sleep_for(std::chrono::milliseconds(
          fault == Fault::kKill ? instant_ms : instant_ms % 300));  // the seeded instant
      out = KillAndRestart(victim);
      size_t in_flight = 0;
      for (const SubmitCall& call : load.Calls()) {
        if (call.started <= out.fault_at && call.finished >= out.fault_at) ++in_flight;
      }
      if (fault == Fault::kKillCommit) row.note = absl::StrCat(in_flight, " intakes in flight");
      return out;
    }
    case Fault::kKillStep: KillStep(victim, instant_ms, out, row); return out;
    case Fault::kKillSeal: KillSeal(victim, instant_ms, out, row); return out;
    case Fault::kKillRotate: KillRotate(victim, instant_ms, out, row); return out;
    case Fault::kClockForward:
    case Fault::kClockBack:
      std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms));  // the seeded instant
      out.fault_at = out.recover_from = std::chrono::steady_clock::now();
      StepClock(fault == Fault::kClockForward ? absl::Hours(3) : -absl::Minutes(10), row);
      return out;
    case Fault::kCorrupt: Corrupt(load, out, row); return out;
    case Fault::kPgRestart: RestartPostgres(instant_ms, out, row); return out;
    case Fault::kPgTerminate: TerminateBackends(instant_ms, out, row); return out;
    case Fault::kPause: break;  // fault_bench.cc
  }
  return out;
}

// Right around a ladder step: the webhook partner never acknowledges, so
// its deliveries climb their ladders a step a second once their deadline
// passed; a step's notice reaching it says steps are running, and the
// kill lands within the next second, in or between steps.
void FaultBench::KillStep(int victim, uint64_t instant_ms, Injected& out, RoundRow& row) {
  auto escalations = [&] {
    size_t n = 0;
    for (const WebhookPost& post : webhook_->Posts()) n += post.kind == v1::ESCALATION;
    return n;
  };
  const size_t before = escalations();
  const bool seen = PollFor([&] { return escalations() > before; }, kStepBound);
  row.note = seen ? "after a step's notice" : "no step seen in 15s";
  std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms % 1000));  // seeded
  out = KillAndRestart(victim);
}

// During a SealReferral of a referral of the round before (all its
// deliveries went out, so sealing stops none this round counts). The call
// either completed or did not; after the restart the seal is finished
// with a retry, the referral shows sealed, and every ERASURE notice
// reaches its agency once.
void FaultBench::KillSeal(int victim, uint64_t instant_ms, Injected& out, RoundRow& row) {
  if (recent_receipts_.empty() || recent_receipts_.back().empty()) {
    row.note = "nothing to seal yet: plain kill";
    out = KillAndRestart(victim);
    return;
  }
  const auto& previous = recent_receipts_.back();
  const std::string referral = previous[instant_ms % previous.size()].referral_id();
  v1::SealReferralRequest request;
  request.set_referral_id(referral);
  request.set_court_order_reference(absl::StrCat("FAULT-ORDER-", referral.substr(0, 12)));
  grpc::Status first;
  std::thread sealer([&] {
    v1::SealReferralResponse response;
    first = cluster_->replica(victim).Supervisor()->SealReferral(CallContext().get(), request,
                                                                 &response);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms % 40));  // seeded, in the call
  out = KillAndRestart(victim);
  sealer.join();
  sealed_.insert(referral);
  row.note = first.ok() ? "seal answered before the kill" : "seal cut by the kill";
  v1::ReferralStatus stored;
  v1::GetReferralRequest get;
  get.set_referral_id(referral);
  if (!first.ok()) {
    v1::SealReferralResponse response;
    const grpc::Status again = cluster_->replica(victim).Supervisor()->SealReferral(
        CallContext().get(), request, &response);
    if (!again.ok() && again.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
      out.problems.push_back(absl::StrCat("sealing again after the kill answered ",
                                          static_cast<int>(again.error_code())));
    }
  }
  const grpc::Status read =
      cluster_->replica(victim).Supervisor()->GetReferral(CallContext().get(), get, &stored);
  if (!read.ok() || !stored.has_sealed_at()) {
    out.problems.push_back(absl::StrCat("referral ", referral, " is not sealed after the kill"));
    return;
  }
  std::map<std::string, std::vector<std::string>> erasures;  // by agency
  for (const auto& d : stored.deliveries()) {
    if (d.kind() == v1::ERASURE) erasures[d.agency_id()].push_back(d.delivery_id());
  }
  for (const auto& [agency, ids] : erasures) {
    if (ids.size() > 1) out.problems.push_back(absl::StrCat(agency, " got ", ids.size(),
                                                            " erasure notices"));
    feeds_->Ensure(agency);  // one only notices reached has a partner from now on
  }
  const bool arrived = PollFor(
      [&] {
        for (const auto& [agency, ids] : erasures) {
          if (!ReachedPartner(*feeds_, *webhook_, agency, ids[0])) return false;
        }
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
  size_t missing = 0;
  for (const auto& [agency, ids] : erasures) {
    if (ReachedPartner(*feeds_, *webhook_, agency, ids[0])) continue;
    ++missing;
    // What the broker says of it now: ids, state and attempts only.
    v1::ReferralStatus now;
    std::string state = "unknown";
    if (cluster_->replica(victim).Supervisor()->GetReferral(CallContext().get(), get, &now).ok()) {
      for (const auto& d : now.deliveries()) {
        if (d.delivery_id() != ids[0]) continue;
        state = absl::StrCat(v1::DeliveryState_Name(d.state()), ", ", d.attempts(), " attempts");
      }
    }
    out.problems.push_back(absl::StrCat("erasure notice ", ids[0], " of ", referral, " to ",
                                        agency, " never arrived (", state, ")"));
  }
  if (!arrived && missing == 0) out.problems.push_back("erasure notices arrived only late");
  row.note += absl::StrCat("; ", erasures.size() - missing, " of ", erasures.size(),
                           " erasure notices delivered");
}

// During a key rotation: a new key-encryption key becomes ACTIVE, every
// replica reloads its key directory (SIGHUP, as `systemctl reload` does),
// and the victim rewraps every data key (RotateDataKeys) when it is
// killed. After the restart the rotation runs again to its end; every
// referral the round checks must still open (GetReferral decrypts).
void FaultBench::KillRotate(int victim, uint64_t instant_ms, Injected& out, RoundRow& row) {
  const std::string key_dir = dir_.path() + "/keys";
  const std::string id = absl::StrCat("fault", ++key_generation_);
  WriteAtomically(key_dir + "/" + id + ".kek", CryptoRandom().Bytes(32));
  WriteAtomically(key_dir + "/ACTIVE", id + "\n");
  for (int i = 0; i < cluster_->size(); ++i) {
    if (!cluster_->alive(i)) continue;
    const std::string log = cluster_->data_dir(i) + ".log";
    const size_t reloads = Count(ReadText(log), "event=keys_reloaded");
    ::kill(cluster_->replica(i).pid(), SIGHUP);
    if (!PollFor([&] { return Count(ReadText(log), "event=keys_reloaded") > reloads; },
                 kLogBound)) {
      out.problems.push_back(ReplicaCluster::Name(i) + " did not reload its keys");
    }
  }
  auto rotate = [&](int replica, v1::RotateDataKeysResponse& response) {
    auto stub = v1::OperatorService::NewStub(cluster_->replica(replica).Channel("operator"));
    return stub->RotateDataKeys(CallContext().get(), v1::RotateDataKeysRequest(), &response);
  };
  grpc::Status first;
  std::thread rotator([&] {
    v1::RotateDataKeysResponse response;
    first = rotate(victim, response);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms % 200));  // seeded, in the call
  out = KillAndRestart(victim);
  rotator.join();
  v1::RotateDataKeysResponse response;
  const grpc::Status again = rotate(victim, response);
  if (!again.ok() || response.active_key_id() != id) {
    out.problems.push_back(absl::StrCat("the rotation after the kill answered ",
                                        static_cast<int>(again.error_code())));
  }
  row.note = absl::StrCat(first.ok() ? "rotation answered before the kill" : "rotation cut",
                          "; after restart rewrapped ", response.rewrapped());
}

// The database server stopped (fast shutdown) and started again on the
// same port under load: the brokers answer UNAVAILABLE meanwhile and
// reconnect by themselves; recovery counts from the server being back.
void FaultBench::RestartPostgres(uint64_t instant_ms, Injected& out, RoundRow& row) {
  std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms));  // the seeded instant
  out.fault_at = std::chrono::steady_clock::now();
  if (server_ == nullptr) {
    out.problems.push_back("pg-restart needs the PostgreSQL backend");
    out.recover_from = out.fault_at;
    return;
  }
  const absl::Status restarted = server_->Restart();
  out.recover_from = std::chrono::steady_clock::now();
  if (!restarted.ok()) out.problems.push_back(absl::StrCat("PostgreSQL restart: ", restarted.ToString()));
  row.note = absl::StrFormat("PostgreSQL down and up in %.2fs", Since(out.fault_at));
}

// Every broker session ended by the superuser (an operator, a failover
// proxy, an OOM kill): the brokers' pools reconnect by themselves.
void FaultBench::TerminateBackends(uint64_t instant_ms, Injected& out, RoundRow& row) {
  std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms));  // the seeded instant
  out.fault_at = out.recover_from = std::chrono::steady_clock::now();
  if (server_ == nullptr) {
    out.problems.push_back("pg-term needs the PostgreSQL backend");
    return;
  }
  const absl::StatusOr<int> ended = server_->TerminateBackends(database_);
  if (!ended.ok()) {
    out.problems.push_back(absl::StrCat("pg_terminate_backend: ", ended.status().ToString()));
    return;
  }
  row.note = absl::StrCat(*ended, " broker sessions ended");
}

// After a step back: retries of `receipts`' referrals still PENDING with
// their next attempt after the brokers' now (a backoff is "not before", so
// one rescheduled within the step before is held until the clock catches
// up; first attempts are due whatever the clock says).
size_t FaultBench::HeldByStepBack(const std::vector<v1::Receipt>& receipts) {
  const int replica = cluster_->Pick(0);
  if (replica < 0) return 0;
  auto stub = cluster_->replica(replica).Supervisor();
  const absl::Time now = absl::Now() + absl::Milliseconds(clock_offset_ms_);
  size_t held = 0;
  for (const v1::Receipt& receipt : receipts) {
    v1::GetReferralRequest request;
    request.set_referral_id(receipt.referral_id());
    v1::ReferralStatus stored;
    if (!stub->GetReferral(CallContext().get(), request, &stored).ok()) continue;
    for (const auto& d : stored.deliveries()) {
      // Retries only: a first attempt is due whatever the clock says.
      held += d.state() == v1::PENDING && d.attempts() > 0 && d.has_next_attempt_at() &&
              FromProtoTime(d.next_attempt_at()) > now;
    }
  }
  return held;
}

// The clock seam's offset, stepped; the brokers see it within 20 ms.
void FaultBench::StepClock(absl::Duration step, RoundRow& row) {
  clock_offset_ms_ += absl::ToInt64Milliseconds(step);
  WriteAtomically(clock_file_, absl::StrCat(clock_offset_ms_, "\n"));
  row.note = absl::StrCat("broker clock now wall ", clock_offset_ms_ >= 0 ? "+" : "",
                          absl::FormatDuration(absl::Milliseconds(clock_offset_ms_)));
}

}  // namespace hart::testing
