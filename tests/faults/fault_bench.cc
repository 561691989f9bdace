#include "tests/faults/fault_bench.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "broker/common/clock_offset_file.h"
#include "libpq-fe.h"
#include "tests/support/child_process.h"

namespace hart::testing {
namespace {

// Intakes acknowledged in a round before its fault instant is drawn, and
// after the fault before the round ends (the broker took work again).
constexpr size_t kBeforeFault = 5;
constexpr size_t kAfterFault = 10;
constexpr auto kLoadBound = std::chrono::seconds(40);
// The fault lands this long (drawn from the seed, uniformly) after the
// round's fifth acknowledged intake: anywhere in group commits, sealing,
// dispatch, feed appends and ladder steps.
constexpr uint64_t kMaxInstantMs = 1500;
// Rounds whose referrals each round's ladder check reads again.
constexpr size_t kLadderRounds = 3;

double Since(SteadyTime from) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

// Lines of the file holding `what` (a broker log; 0 if it is not there).
size_t CountInFile(const std::string& path, const std::string& what) {
  const std::string text = ReadText(path);
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

constexpr char kStatewideCoordinator[] = "dcf-hart-coordinator";

// CHECKPOINT: what PostgreSQL holds in shared buffers reaches its files.
absl::Status Checkpoint(const PostgresServer& server) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
      PQconnectdb(server.ConnectionStringWithPassword("postgres").c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return absl::UnavailableError("cannot connect");
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), "CHECKPOINT"), &PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return absl::InternalError(PQresultErrorMessage(res.get()));
  }
  return absl::OkStatus();
}

}  // namespace

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kKill: return "kill -9";
    case Fault::kPause: return "pause";
    case Fault::kKillCommit: return "kill@cmt";
    case Fault::kKillStep: return "kill@step";
    case Fault::kKillSeal: return "kill@seal";
    case Fault::kKillRotate: return "kill@rot";
    case Fault::kClockForward: return "clock+3h";
    case Fault::kClockBack: return "clock-10m";
    case Fault::kCorrupt: return "corrupt";
    case Fault::kPgRestart: return "pg-restart";
    case Fault::kPgTerminate: return "pg-term";
  }
  return "?";
}

bool PostgresOnly(Fault fault) {
  return fault == Fault::kPgRestart || fault == Fault::kPgTerminate;
}

FaultBench::FaultBench(const BenchOptions& options)
    : options_(options), random_(options.seed * 2 + (options.postgres ? 1 : 0)) {
  if (options_.postgres) {
    PostgresServerOptions pg;
    // The brokers are what the faults hit, not the database: its fsync on
    // a shared disk would only slow the load down.
    pg.fsync = false;
    auto started = PostgresServer::Start(pg);
    if (!started.ok()) {
      ADD_FAILURE() << "PostgreSQL: " << started.status();
      return;
    }
    server_ = std::move(*started);
  }
  // The brokers (children) inherit the clock seam's file; it holds 0 until
  // a clock round steps it.
  clock_file_ = dir_.path() + "/clock-offset-ms";
  std::ofstream(clock_file_) << "0\n";
  setenv(kClockOffsetFileEnv, clock_file_.c_str(), 1);
  std::string database;
  if (server_) {
    auto created = server_->CreateDatabase("faults");
    if (!created.ok()) {
      ADD_FAILURE() << created.status();
      return;
    }
    database = *created;
    database_ = database;
  }
  // Quick replies: the webhook takes every ladder step's renotifications
  // of stamford-pd too, and a slow one holds the round's checks up.
  auto webhook = WebhookPartner::Start(dir_.path() + "/webhook", absl::Milliseconds(5));
  if (!webhook.ok()) {
    ADD_FAILURE() << webhook.status();
    return;
  }
  webhook_ = std::move(*webhook);
  ClusterOptions cluster;
  cluster.server = server_.get();
  cluster.database = database;
  cluster.replicas = options_.replicas;
  cluster.fast_ladders = true;
  // The checks read every referral of three rounds as the supervisor, and
  // hartctl audit verify then proves every checkpoint with the same identity.
  cluster.rate_limit_per_second = 5000;
  cluster_ = std::make_unique<ReplicaCluster>(dir_.path(), cluster, *webhook_);
  feeds_ = std::make_unique<FeedPartners>(*cluster_);
  if (!cluster_->ok()) return;
  // No intake names the statewide coordinator; the ladders' last step and
  // the erasure orders of what it was told do. Its partner reads along from
  // the start, as the coordinator's desk would.
  feeds_->Ensure(kStatewideCoordinator);
  // What matches before any intake arrived is not the brokers' doing.
  for (const PiiFinding& finding : FindPlaintextPii(PiiPaths())) {
    ignored_pii_.insert(finding.field);
  }
}

FaultBench::~FaultBench() {
  if (feeds_) feeds_->StopAll();
  feeds_.reset();
  cluster_.reset();
  webhook_.reset();
  server_.reset();
}

RoundRow FaultBench::RunRound(int round, Fault fault) {
  RoundRow row;
  const SteadyTime round_start = std::chrono::steady_clock::now();
  row.round = round;
  row.fault = fault;
  const std::string scenario = absl::StrCat(backend(), "-r", round);
  // A replica that exited by itself since the last round is a failure of
  // its own (a crash the fault did not cause), named here.
  for (int i = 0; i < cluster_->size(); ++i) {
    if (!cluster_->alive(i)) continue;
    if (auto status = cluster_->replica(i).WaitForExit(std::chrono::milliseconds(0))) {
      ADD_FAILURE() << scenario << ": " << ReplicaCluster::Name(i) << " exited by itself ("
                    << DescribeExit(*status) << ") since the last round";
      cluster_->Kill(i);  // marks it down; it has been reaped
    }
  }
  // A replica an earlier round left down (it failed to start again, which
  // that round reported) is started again, so one failure does not fail
  // every round after it.
  for (int i = 0; i < cluster_->size(); ++i) {
    if (!cluster_->alive(i) && !cluster_->Restart(i)) {
      ADD_FAILURE() << scenario << ": " << ReplicaCluster::Name(i) << " is down and did not "
                    << "start again";
    }
  }
  // kill@cmt: many clients at once, so the writer's group commits batch
  // many intakes and the kill finds some in flight.
  const bool commit_round = fault == Fault::kKillCommit;
  IntakeLoad load(*cluster_, *feeds_, scenario, commit_round ? 12 : options_.client_threads,
                  commit_round ? 0 : options_.intake_rate);
  SupplementLoad supplements(*cluster_, *feeds_, load, scenario);
  if (!WaitFor([&] { return load.acknowledged() >= kBeforeFault; }, kLoadBound)) {
    ADD_FAILURE() << scenario << ": no intake acknowledged before the fault";
    return row;
  }
  // Drawn in a fixed order, so a seed gives the same instants and victims.
  const uint64_t instant_ms = random_() % (kMaxInstantMs + 1);
  const int victim = static_cast<int>(random_() % static_cast<uint64_t>(cluster_->size()));
  row.instant_s = static_cast<double>(instant_ms) / 1000;
  row.victim = ReplicaCluster::Name(victim);
  const int victim_port = cluster_->ack_port(victim);
  const size_t posts_before = webhook_->Posts().size();
  size_t posts_at_resume = posts_before;
  Injected injected;
  const std::string victim_log = cluster_->data_dir(victim) + ".log";
  const size_t fenced_before = CountInFile(victim_log, "event=outcomes_fenced");
  if (fault == Fault::kPause) {
    std::this_thread::sleep_for(std::chrono::milliseconds(instant_ms));  // the fault's instant
    injected.fault_at = std::chrono::steady_clock::now();
    cluster_->Pause(victim);
    std::this_thread::sleep_for(options_.pause_length);  // the fault's length
    posts_at_resume = webhook_->Posts().size();
    cluster_->Resume(victim);
    injected.recover_from = std::chrono::steady_clock::now();
  } else {
    injected = Inject(fault, victim, instant_ms, load, row);
  }
  const SteadyTime fault_at = injected.fault_at;
  const SteadyTime recover_from = injected.recover_from;
  row.restart_s = injected.restart_s;
  for (const auto& problem : injected.problems) ADD_FAILURE() << scenario << ": " << problem;
  const size_t acknowledged_at_fault = load.acknowledged();
  // And every live broker took one again: a restarted one is reached only
  // once the clients' channels reconnect (gRPC's backoff), which the
  // others' intakes may outrun.
  auto every_replica_served = [&] {
    std::set<int> served;
    for (const SubmitCall& call : load.Calls()) {
      if (call.code == grpc::StatusCode::OK && call.started >= recover_from) {
        served.insert(call.replica);
      }
    }
    for (int i = 0; i < cluster_->size(); ++i) {
      if (cluster_->alive(i) && served.count(i) == 0) return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitFor(
      [&] {
        return load.acknowledged() >= acknowledged_at_fault + kAfterFault &&
               every_replica_served();
      },
      kLoadBound))
      << scenario << ": the load did not pick up again after the fault on every broker";
  supplements.Stop();
  load.Stop();

  const SteadyTime checks_start = std::chrono::steady_clock::now();
  const ScenarioReport report =
      CheckScenario(scenario, *cluster_, load, *feeds_, *webhook_, recover_from);
  ExpectClean(report);
  const std::vector<v1::Receipt> receipts = load.Receipts();
  // This round's referrals and the two rounds' before: a ladder (10 s
  // deadline, steps 1 s apart) finishes after the round that made it.
  recent_receipts_.push_back(receipts);
  if (recent_receipts_.size() > kLadderRounds) recent_receipts_.pop_front();
  std::vector<v1::Receipt> recent;
  for (const auto& round_receipts : recent_receipts_) {
    recent.insert(recent.end(), round_receipts.begin(), round_receipts.end());
  }
  const LadderReport ladders =
      CheckLadderSteps(*cluster_, recent, absl::Milliseconds(clock_offset_ms_));
  const SupplementReport supplemented =
      CheckSupplements(*cluster_, *feeds_, *webhook_, supplements.Acked());
  for (const auto& problem : supplemented.problems) ADD_FAILURE() << scenario << ": " << problem;
  for (const auto& problem : ladders.problems) ADD_FAILURE() << scenario << ": " << problem;
  const CommandOutput audit = cluster_->VerifyAudit(cluster_->Pick(0));
  EXPECT_EQ(audit.exit_code, 0) << scenario << ": hartctl audit verify:\n" << audit.text;

  row.acknowledged = report.acknowledged;
  row.lost = report.lost;
  row.unsettled = report.unsettled;
  row.conflicting_ids = report.conflicting_ids;
  row.duplicates = report.duplicates - duplicates_so_far_;
  row.feed_gaps = report.feed_gaps - gaps_so_far_;
  duplicates_so_far_ = report.duplicates;
  gaps_so_far_ = report.feed_gaps;
  row.steps = ladders.steps;
  row.steps_twice = ladders.steps_twice;
  row.steps_lost = ladders.steps_skipped + ladders.overdue_without_step;
  row.steps_early = ladders.steps_early;
  row.supplements = supplemented.acknowledged;
  row.supplement_lost = supplemented.lost;
  row.recover_s = report.recover_s;
  row.round_s = Since(round_start);
  row.check_s = Since(checks_start);
  row.audit_verified = audit.exit_code == 0;
  if (fault == Fault::kPause && cluster_->size() > 1) {
    row.client_threads = options_.client_threads;
    for (const SubmitCall& call : load.Calls()) {
      if (call.replica == victim && call.started < fault_at && call.finished > fault_at) {
        ++row.clients_held;
      }
      if (call.replica != victim && call.code == grpc::StatusCode::OK &&
          call.started >= fault_at && call.finished <= recover_from) {
        ++row.taken_by_others;
        const double at = std::chrono::duration<double>(call.finished - fault_at).count();
        if (row.others_first_s < 0 || at < row.others_first_s) row.others_first_s = at;
      }
    }
    // Pushes the paused replica had made (or claimed) that another replica
    // sent while it was stopped or after: its claims expired under it.
    const std::vector<WebhookPost> posts = webhook_->Posts();
    std::set<std::string> by_victim, by_others;
    for (size_t i = 0; i < posts.size(); ++i) {
      if (posts[i].ack_port == victim_port && i < posts_at_resume) {
        by_victim.insert(posts[i].delivery_id);
      } else if (posts[i].ack_port != victim_port && i >= posts_before) {
        by_others.insert(posts[i].delivery_id);
      }
    }
    for (const auto& id : by_victim) row.pushes_taken_over += by_others.count(id);
    row.fenced_batches = CountInFile(victim_log, "event=outcomes_fenced") - fenced_before;
  }
  if (fault == Fault::kClockBack && (report.lost > 0 || supplemented.lost > 0)) {
    // What the lost deliveries are waiting for (broker/dispatch compares
    // next_attempt_at with the stepped clock): named, still a failure.
    const size_t held = HeldByStepBack(receipts);
    if (held > 0) {
      row.note += absl::StrCat("; ", held, " deliveries held: next attempt after the stepped-back "
                               "clock (dispatch due query)");
    }
  }
  row.clean = row.lost == 0 && row.unsettled == 0 && row.conflicting_ids == 0 &&
              row.feed_gaps == 0 && row.steps_twice == 0 && row.steps_lost == 0 &&
              row.steps_early == 0 && row.supplement_lost == 0 && injected.problems.empty() &&
              row.audit_verified && report.problems.empty() && ladders.problems.empty();
  return row;
}

LadderReport FaultBench::CheckLastLadders() {
  std::vector<v1::Receipt> recent;
  for (const auto& round_receipts : recent_receipts_) {
    recent.insert(recent.end(), round_receipts.begin(), round_receipts.end());
  }
  return CheckLadderSteps(*cluster_, recent, absl::Milliseconds(clock_offset_ms_));
}

std::vector<PiiFinding> FaultBench::FindPii() {
  return FindPlaintextPii(PiiPaths(), ignored_pii_);
}

std::vector<std::string> FaultBench::PiiPaths() {
  std::vector<std::string> paths;
  if (server_) {
    const absl::Status checkpoint = Checkpoint(*server_);
    EXPECT_TRUE(checkpoint.ok()) << "CHECKPOINT: " << checkpoint;
    paths.push_back(server_->data_dir());
  } else {
    paths.push_back(cluster_->data_dir(0));
  }
  for (int i = 0; i < cluster_->size(); ++i) paths.push_back(cluster_->data_dir(i) + ".log");
  return paths;
}

}  // namespace hart::testing
