// The fault runner (issue #14, first part): the real hart-broker under
// careline load and feed partners, one fault per round, then every check of
// fault_bench.h, and a table of the rounds.
//
//   fault_runner [--rounds N] [--seed S] [--backends sqlite,postgres]
//                [--pause-every K] [--pause-ms MS] [--faults a,b,...] [--replicas R]
//                [--each N] [--rate R] [gtest flags]
//
// Per backend, N rounds (default 5): every K-th round (default 5) pauses a
// broker (SIGSTOP, MS milliseconds, SIGCONT); the others take the kinds of
// --faults in turn (default every other kind, fault_bench.h: kill -9 at a
// seeded instant, kill@cmt, clock+3h, kill@step, kill@seal, clock-10m,
// kill@rot, corrupt; on PostgreSQL also pg-restart and pg-term). A kill
// restarts the broker on the same data directory.
// The clock steps forward before it steps back, so the brokers' clock stays
// ahead of the clients' (whose intakes must not be received in its future).
// SQLite: one broker. PostgreSQL: R replicas (default 2) on a throw-away
// server; a pause leaves the others to take over. A seed (default 1) fixes
// each round's fault instant and victim. --each N instead of --rounds: N
// rounds of every kind and N pauses. --rate R: the careline clients start
// R intakes a second (default 20; kill@cmt's clients go as fast as they
// are answered).
// Exit status non-zero if any check failed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/faults/fault_bench.h"

namespace hart::testing {
namespace {

struct RunnerFlags {
  int rounds = 5;
  int each = 0;  // --each: rounds of every kind (sets rounds and pause_every per backend)
  uint64_t seed = 1;
  int pause_every = 5;
  int pause_ms = 5000;
  int replicas = 2;  // PostgreSQL
  double rate = 20;   // intakes a second (BenchOptions::intake_rate)
  std::vector<std::string> backends = {"sqlite", "postgres"};
  std::vector<Fault> faults = {Fault::kKill,       Fault::kKillCommit, Fault::kClockForward,
                               Fault::kKillStep,   Fault::kKillSeal,   Fault::kClockBack,
                               Fault::kKillRotate, Fault::kCorrupt,    Fault::kPgRestart,
                               Fault::kPgTerminate};
};
RunnerFlags flags;

bool ParseFlags(int argc, char** argv) {
  for (int i = 1; i < argc; i += 2) {  // every flag takes a value
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : "";
    bool ok = true;
    if (arg == "--rounds") {
      ok = absl::SimpleAtoi(value, &flags.rounds) && flags.rounds > 0;
    } else if (arg == "--seed") {
      ok = absl::SimpleAtoi(value, &flags.seed);
    } else if (arg == "--each") {
      ok = absl::SimpleAtoi(value, &flags.each) && flags.each > 0;
    } else if (arg == "--pause-every") {
      ok = absl::SimpleAtoi(value, &flags.pause_every) && flags.pause_every > 0;
    } else if (arg == "--pause-ms") {
      ok = absl::SimpleAtoi(value, &flags.pause_ms) && flags.pause_ms > 0;
    } else if (arg == "--faults") {
      flags.faults.clear();
      for (const auto& name : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        bool known = false;
        for (Fault fault : kAllFaults) {
          if (name == FaultName(fault)) {
            flags.faults.push_back(fault);
            known = true;
          }
        }
        ok = ok && known;
      }
      ok = ok && !flags.faults.empty();
      // The brokers' clock must stay ahead of the clients' (an intake is
      // never received in the broker's future): forward before back.
      const auto forward = std::find(flags.faults.begin(), flags.faults.end(),
                                     Fault::kClockForward);
      const auto back = std::find(flags.faults.begin(), flags.faults.end(), Fault::kClockBack);
      if (back != flags.faults.end() && forward > back) {
        std::cerr << "--faults: clock+3h must come before clock-10m\n";
        ok = false;
      }
    } else if (arg == "--rate") {
      ok = absl::SimpleAtod(value, &flags.rate) && flags.rate > 0;
    } else if (arg == "--replicas") {
      ok = absl::SimpleAtoi(value, &flags.replicas) && flags.replicas >= 2 &&
           flags.replicas <= ReplicaCluster::kMaxReplicas;
    } else if (arg == "--backends") {
      flags.backends = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return false;
    }
    if (!ok) {
      std::cerr << "bad value for " << arg << ": " << value << "\n";
      return false;
    }
  }
  return true;
}

bool Wanted(const std::string& backend) {
  return std::find(flags.backends.begin(), flags.backends.end(), backend) !=
         flags.backends.end();
}

void PrintHeader(const std::string& backend, int rounds, int pause_every) {
  std::printf("\nfault runner: %s, %d rounds, seed %llu (pause %d ms every %d rounds), %g "
              "intakes/s\n",
              backend.c_str(), rounds, static_cast<unsigned long long>(flags.seed),
              flags.pause_ms, pause_every, flags.rate);
  std::printf(
      "%5s %-8s %-9s %-9s %7s %5s %5s %4s %4s %4s %5s %5s %5s %5s %8s %8s %6s %6s %s\n", "round",
      "backend", "fault", "victim", "instant", "acked", "supps", "lost", "dups", "gaps", "steps",
      "twice", "early", "slost", "restart", "recover", "round", "checks", "");
  std::fflush(stdout);
}

void PrintRow(const std::string& backend, const RoundRow& r) {
  std::string note = r.note;
  if (r.fault == Fault::kPause && r.client_threads > 0) {
    char text[240];
    std::snprintf(text, sizeof text,
                  "paused: the others took %zu intakes, the first answered %.2fs in; %zu of %d "
                  "clients waited on it; re-sent %zu of its pushes; its late outcomes fenced off "
                  "%zu times",
                  r.taken_by_others, r.others_first_s, r.clients_held, r.client_threads,
                  r.pushes_taken_over, r.fenced_batches);
    note = text;
  }
  if (!r.known_failure.empty()) {
    note += (note.empty() ? "" : "; ") + std::string("KNOWN FAILURE: ") + r.known_failure;
  }
  if (!r.clean) note += note.empty() ? "FAILED" : "; FAILED";
  std::printf(
      "%5d %-8s %-9s %-9s %6.2fs %5zu %5zu %4zu %4zu %4zu %5zu %5zu %5zu %5zu %7.2fs %7.2fs "
      "%5.1fs %5.1fs %s\n",
      r.round, backend.c_str(), FaultName(r.fault), r.victim.c_str(), r.instant_s,
      r.acknowledged, r.supplements, r.lost + r.supplement_lost, r.duplicates, r.feed_gaps,
      r.steps, r.steps_twice, r.steps_early, r.steps_lost,
      r.restart_s, r.recover_s, r.round_s, r.check_s, note.c_str());
  std::fflush(stdout);
}

// One line per fault kind: rounds, intakes, lost, duplicates by id, rounds
// with any failed check, and the recover times' minimum, median and maximum.
void PrintSummary(const std::string& backend, const std::vector<RoundRow>& rows) {
  std::printf("%-8s %-9s %6s %6s %6s %5s %5s %6s %20s\n", "backend", "fault", "rounds", "acked",
              "supps", "lost", "dups", "failed", "recover min/med/max");
  for (Fault fault : kAllFaults) {
    size_t rounds = 0, acked = 0, supps = 0, lost = 0, dups = 0, failed = 0;
    std::vector<double> recover;
    for (const RoundRow& r : rows) {
      if (r.fault != fault) continue;
      ++rounds;
      acked += r.acknowledged;
      supps += r.supplements;
      lost += r.lost + r.supplement_lost;
      dups += r.duplicates;
      failed += r.clean ? 0 : 1;
      recover.push_back(r.recover_s);
    }
    if (rounds == 0) continue;
    std::sort(recover.begin(), recover.end());
    std::printf("%-8s %-9s %6zu %6zu %6zu %5zu %5zu %6zu %7.2f/%.2f/%.2fs\n", backend.c_str(),
                FaultName(fault), rounds, acked, supps, lost, dups, failed, recover.front(),
                recover[recover.size() / 2], recover.back());
  }
  std::fflush(stdout);
}

void RunBackend(bool postgres) {
  BenchOptions options;
  options.postgres = postgres;
  options.seed = flags.seed;
  options.pause_length = std::chrono::milliseconds(flags.pause_ms);
  options.replicas = flags.replicas;
  options.intake_rate = flags.rate;
  // PostgreSQL's own faults (pg-restart, pg-term) have no SQLite round.
  std::vector<Fault> kinds;
  for (Fault fault : flags.faults) {
    if (postgres || !PostgresOnly(fault)) kinds.push_back(fault);
  }
  ASSERT_FALSE(kinds.empty()) << "no fault kind of --faults applies to this backend";
  // --each N: N rounds of every kind and N pauses (the pause is the last of
  // every cycle of kinds).
  const int pause_every = flags.each > 0 ? static_cast<int>(kinds.size()) + 1 : flags.pause_every;
  const int rounds = flags.each > 0 ? flags.each * pause_every : flags.rounds;
  const auto setup_start = std::chrono::steady_clock::now();
  FaultBench bench(options);
  ASSERT_TRUE(bench.ok());
  PrintHeader(bench.backend(), rounds, pause_every);
  std::printf("(brokers started in %.1fs)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start)
                  .count());
  std::vector<RoundRow> rows;
  size_t next_kind = 0;
  for (int round = 1; round <= rounds; ++round) {
    const Fault fault = round % pause_every == 0
                            ? Fault::kPause
                            : kinds[next_kind++ % kinds.size()];
    rows.push_back(bench.RunRound(round, fault));
    PrintRow(bench.backend(), rows.back());
  }
  PrintSummary(bench.backend(), rows);
  for (const RoundRow& r : rows) {
    if (r.known_failure.empty()) continue;
    std::printf("KNOWN FAILURE (round %d, %s): %s\n", r.round, FaultName(r.fault),
                r.known_failure.c_str());
  }
  // Once more over the last rounds' referrals: a step run twice after
  // their rounds' checks, or one that fell due later and never ran.
  const LadderReport ladders = bench.CheckLastLadders();
  for (const auto& problem : ladders.problems) ADD_FAILURE() << "last rounds: " << problem;
  const std::vector<PiiFinding> pii = bench.FindPii();
  for (const auto& finding : pii) {
    ADD_FAILURE() << finding.file << " holds the " << finding.field << " in plaintext";
  }
  for (const auto& field : bench.ignored_pii()) {
    std::printf("not searched for: the %s (in the store before any intake)\n", field.c_str());
  }
  std::printf("last rounds again: %zu ladder steps, %zu twice, %zu lost; plaintext PII in the "
              "raw store and logs: %zu findings\n",
              ladders.steps, ladders.steps_twice,
              ladders.steps_skipped + ladders.overdue_without_step, pii.size());
  std::fflush(stdout);
  if (::testing::Test::HasFailure()) std::cout << bench.LogTails() << std::endl;
}

TEST(FaultRunner, Sqlite) {
  if (!Wanted("sqlite")) GTEST_SKIP() << "not in --backends";
  RunBackend(false);
}

TEST(FaultRunner, Postgres) {
  if (!Wanted("postgres")) GTEST_SKIP() << "not in --backends";
  RunBackend(true);
}

}  // namespace
}  // namespace hart::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // takes the --gtest_ flags out
  if (!hart::testing::ParseFlags(argc, argv)) return 2;
  return RUN_ALL_TESTS();
}
