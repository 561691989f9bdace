// Shared by the partner fault tests (partner_outage_test.cc,
// slow_subscriber_test.cc): the broker's resident memory sampled through a
// fault, feed subscribers that read at a chosen pace and check their
// sequence numbers, fresh intakes, and the figures table. Everything runs
// against the real hart-broker (tests/e2e/broker_process.h).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/e2e/broker_process.h"

namespace hart::testing {

using SteadyClock = std::chrono::steady_clock;

// A process's resident memory from /proc/<pid>/status, in KiB (zeros if
// unreadable). `total` is VmRSS; `anon` its anonymous part (RssAnon: heap,
// stacks, SQLite's page caches, gRPC buffers), what a backlog held in
// memory would grow. The rest is mostly file pages (the binary and its
// libraries, file-backed shared memory such as SQLite's log index).
struct Rss {
  uint64_t total = 0;
  uint64_t anon = 0;
};
Rss ReadRss(pid_t pid);

// Samples a process's Rss every `interval` on its own thread (a sampling
// rate, not synchronisation) and keeps the peaks per named phase.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid,
                      std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~RssSampler();
  // From now on samples count toward `phase`.
  void BeginPhase(const std::string& phase);
  Rss Peak(const std::string& phase) const;  // each field's own peak
  Rss Last() const;                          // the latest sample
  size_t samples() const;

 private:
  void Run();
  void RecordLocked(const Rss& rss);

  const pid_t pid_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::string phase_;
  std::map<std::string, Rss> peak_;
  Rss last_;
  size_t samples_ = 0;
  std::thread thread_;
};

// An example intake made unique (careline id `tag`-`n`), moved to `town`
// and received just now, so that no deadline passes during a test.
v1::Intake FreshIntake(const std::string& example, const std::string& town, const std::string& tag,
                       uint64_t n);

// One delivery event a subscriber read.
struct FeedArrival {
  uint64_t sequence = 0;
  std::string delivery_id;
  bool redelivery = false;
  SteadyClock::time_point at;
};

// How much a feed subscriber's connection takes in before its application
// reads it.
enum class ReceiveWindow {
  // gRPC's defaults: the window grows with the measured bandwidth-delay
  // product (megabytes on loopback), so a slow reader's client buffers much
  // of the backlog itself.
  kGrpcDefault,
  // 64 KiB and no growth: a slow reader stops the broker's writes after a
  // few events, so the backlog must wait in the broker (its store).
  kSmall,
};

// One agency's subscriber on its own thread: subscribes from 0 and reads
// every event, waiting `pace` after each delivery event (zero: as fast as
// the broker sends). A stream that ends is resumed from the last sequence
// read. With `ack`, each delivery is acknowledged RECEIVED.
class FeedFollower {
 public:
  FeedFollower(const BrokerProcess& broker, std::string agency_id,
               std::chrono::milliseconds pace = std::chrono::milliseconds(0), bool ack = false,
               ReceiveWindow window = ReceiveWindow::kGrpcDefault);
  ~FeedFollower() { Stop(); }
  void Stop();
  // Changes the pace from the next event on (zero: catch up at full speed).
  void SetPace(std::chrono::milliseconds pace);

  const std::string& agency_id() const { return agency_id_; }
  size_t delivery_count() const;
  std::vector<FeedArrival> Arrivals() const;
  // The first arrival of each delivery id.
  std::map<std::string, SteadyClock::time_point> FirstArrivals() const;
  // Waits (bounded) until every id in `ids` was read; false on timeout.
  bool WaitForIds(const std::set<std::string>& ids, std::chrono::milliseconds bound) const;
  // Problems with the sequence numbers: a non-redelivery event whose
  // sequence is not the previous one's plus one, or one id under two
  // sequences. Empty when the feed read was gap-free.
  std::vector<std::string> SequenceProblems() const;
  size_t resubscriptions() const;

 private:
  void Run();

  const BrokerProcess& broker_;
  const std::string agency_id_;
  const bool ack_;
  const ReceiveWindow window_;
  std::atomic<int64_t> pace_ms_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;  // new arrival, pace change or stop
  bool stopping_ = false;
  grpc::ClientContext* open_stream_ = nullptr;
  std::vector<FeedArrival> arrivals_;
  std::set<std::string> ids_;
  size_t resubscriptions_ = 0;
  std::thread thread_;
};

// Checks `condition` every `interval` until it holds or `bound` passes;
// true if it held. For conditions that cost calls or file checks.
bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds bound,
               std::chrono::milliseconds interval);

// Prints `rows` (label, value) as a two-column markdown table under `title`.
void PrintFigures(const std::string& title,
                  const std::vector<std::pair<std::string, std::string>>& rows);
std::string Mib(uint64_t kib);                 // "123.4 MiB"
std::string Mib(const Rss& rss);               // "123.4 MiB (anon 80.1 MiB)"
std::string Seconds(SteadyClock::duration d);  // "1.23 s"

// An environment variable as a number, or `fallback` when unset or bad.
int64_t EnvInt(const char* name, int64_t fallback);

// A memory-growth bound in MiB: `name` if set, else `plain` in a plain
// build and 4 x `plain` under AddressSanitizer, whose redzones and shadow
// inflate the broker's heap (see ShrinkChildQuarantine).
uint64_t MemoryBoundMib(const char* name, uint64_t plain);

// Under AddressSanitizer, brokers started from now on keep at most 8 MiB of
// freed memory in quarantine instead of 256 MiB, which would otherwise show
// as growth; a no-op in a plain build. Call before starting the broker.
void ShrinkChildQuarantine();

}  // namespace hart::testing
