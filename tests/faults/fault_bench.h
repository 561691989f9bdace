// One backend under faults: its brokers (a single SQLite broker, or replicas
// on a throw-away PostgreSQL), the webhook partner, the feed partners that
// persist across rounds, and the rounds themselves. Each round runs fresh
// careline load, injects one fault at a seeded instant, lets the load go on
// until intakes are taken again, stops it and checks everything the broker
// acknowledged in that round (CheckScenario and CheckLadderSteps).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/failover_checks.h"
#include "tests/faults/fault_checks.h"
#include "tests/faults/supplement_load.h"

namespace hart::testing {

// kKill: at a seeded instant. The aimed kills: kKillCommit with many
// intakes in flight (a group commit), kKillStep right around an escalation
// step (after the webhook got one), kKillSeal during a SealReferral,
// kKillRotate during a key rotation (new ACTIVE key, RotateDataKeys). The
// clock steps go through the broker's clock seam (HART_TEST_CLOCK_OFFSET_FILE):
// forward 3 hours, back 10 minutes. kCorrupt flips a byte of a referral's
// sealed intake and of an audit row, checks, then flips them back.
// PostgreSQL only: kPgRestart restarts the database server under load,
// kPgTerminate ends every broker connection with pg_terminate_backend.
enum class Fault {
  kKill, kPause, kKillCommit, kKillStep, kKillSeal, kKillRotate, kClockForward, kClockBack,
  kCorrupt, kPgRestart, kPgTerminate
};
bool PostgresOnly(Fault fault);
const char* FaultName(Fault fault);  // "kill -9", "pause", "kill@cmt", ...
inline constexpr Fault kAllFaults[] = {Fault::kKill,         Fault::kPause,     Fault::kKillCommit,
                                       Fault::kKillStep,     Fault::kKillSeal,  Fault::kKillRotate,
                                       Fault::kClockForward, Fault::kClockBack, Fault::kCorrupt,
                                       Fault::kPgRestart,    Fault::kPgTerminate};

struct BenchOptions {
  bool postgres = false;
  int replicas = 2;  // PostgreSQL only
  uint64_t seed = 1;
  // SIGSTOP to SIGCONT: longer than the claim lease (2 s in the cluster's
  // config), so the claims of a paused broker expire under it.
  std::chrono::milliseconds pause_length{5000};
  int client_threads = 2;
  // Intakes a second the clients start together (kill@cmt's twelve clients
  // go unpaced): a steady careline the feed partners keep up with. Unpaced,
  // the load outruns a partner that acknowledges one event at a time, its
  // backlog passes the 10 s ack deadlines, and the ladders' notices bury
  // the statewide coordinator's feed: the checks then time out on the
  // partners, not on the broker.
  double intake_rate = 20;
};

// What one round showed; counts are this round's (CheckScenario's feed
// gaps and duplicates are over the whole run: the row takes the increase).
struct RoundRow {
  int round = 0;
  Fault fault = Fault::kKill;
  std::string victim;     // "replica-a"
  double instant_s = 0;   // load start -> fault, from the seed
  size_t acknowledged = 0;
  size_t lost = 0;
  size_t duplicates = 0;  // extra receptions, all under the same delivery id
  size_t conflicting_ids = 0;
  size_t feed_gaps = 0;
  size_t unsettled = 0;
  size_t steps = 0;
  size_t steps_twice = 0;
  size_t steps_lost = 0;  // skipped, or overdue without any
  size_t steps_early = 0;  // recorded before the delivery's ack deadline (broker time)
  size_t supplements = 0;  // acknowledged in the round
  size_t supplement_lost = 0;
  std::string note;        // what the fault kind observed
  // A failure the broker is known to have (owned elsewhere): printed in the
  // row and the summary as KNOWN FAILURE, not counted as the round's own.
  std::string known_failure;
  double restart_s = -1;  // kill -> the broker served again (kill rounds)
  double recover_s = -1;  // fault over (kill; SIGCONT) -> every broker took an intake
  // Pause on several replicas: intakes the others took while it was
  // stopped, when the first of them was answered (from SIGSTOP), and its
  // pushes they sent again after its claims expired.
  size_t taken_by_others = 0;
  double others_first_s = -1;
  size_t pushes_taken_over = 0;
  // Intake clients whose call to the paused replica was open when it
  // stopped: they wait for it, so they take no intake elsewhere meanwhile.
  size_t clients_held = 0;
  int client_threads = 0;
  // Batches of the paused replica's outcomes the store refused after it
  // resumed (its claims were taken since: the fencing check held).
  size_t fenced_batches = 0;
  double round_s = 0;  // wall time of the whole round, checks included
  double check_s = 0;  // of which the checks after the load stopped
  bool audit_verified = false;
  bool clean = false;
};

class FaultBench {
 public:
  explicit FaultBench(const BenchOptions& options);
  ~FaultBench();

  // False (with test failures) if the brokers or the database did not start.
  bool ok() const { return cluster_ != nullptr && cluster_->ok(); }
  std::string backend() const { return options_.postgres ? "postgres" : "sqlite"; }
  RoundRow RunRound(int round, Fault fault);
  // Over the last rounds' receipts once more (each round checks its own
  // and the two before): no ladder step twice, none lost. (Every receipt of
  // a long run would take minutes: each read is an audited call.)
  LadderReport CheckLastLadders();
  // The raw store (SQLite files; PostgreSQL's data directory after a
  // CHECKPOINT) and the brokers' logs: findings, empty when clean. Fields
  // the store held before any intake (PostgreSQL's catalogs hold common
  // words, a first name among them) are not looked for: ignored_pii().
  std::vector<PiiFinding> FindPii();
  const std::set<std::string>& ignored_pii() const { return ignored_pii_; }
  std::string LogTails() const { return cluster_ ? cluster_->LogTails() : ""; }

 private:
  BenchOptions options_;
  std::mt19937_64 random_;
  TempDir dir_;
  std::unique_ptr<PostgresServer> server_;
  std::string database_;  // on server_
  std::unique_ptr<WebhookPartner> webhook_;
  std::unique_ptr<ReplicaCluster> cluster_;
  std::unique_ptr<FeedPartners> feeds_;
  std::vector<std::string> PiiPaths();

  // What an injection did: when, and when the fault was over.
  struct Injected {
    SteadyTime fault_at;
    SteadyTime recover_from;
    double restart_s = -1;
    std::vector<std::string> problems;  // failed checks of the kind itself
  };
  // fault_kinds.cc: one per kind; `instant_ms` drawn from the seed.
  Injected Inject(Fault fault, int victim, uint64_t instant_ms, const IntakeLoad& load,
                  RoundRow& row);
  Injected KillAndRestart(int victim);
  void KillStep(int victim, uint64_t instant_ms, Injected& out, RoundRow& row);
  void KillSeal(int victim, uint64_t instant_ms, Injected& out, RoundRow& row);
  void KillRotate(int victim, uint64_t instant_ms, Injected& out, RoundRow& row);
  void StepClock(absl::Duration step, RoundRow& row);
  size_t HeldByStepBack(const std::vector<v1::Receipt>& receipts);
  void Corrupt(const IntakeLoad& load, Injected& out, RoundRow& row);
  void RestartPostgres(uint64_t instant_ms, Injected& out, RoundRow& row);
  void TerminateBackends(uint64_t instant_ms, Injected& out, RoundRow& row);
  std::string clock_file_;
  int64_t clock_offset_ms_ = 0;
  std::set<std::string> sealed_;  // referrals kill@seal sealed
  int key_generation_ = 0;
  std::deque<std::vector<v1::Receipt>> recent_receipts_;
  std::set<std::string> ignored_pii_;
  size_t duplicates_so_far_ = 0;
  size_t gaps_so_far_ = 0;
};

}  // namespace hart::testing
