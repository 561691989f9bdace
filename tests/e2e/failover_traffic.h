// The traffic of a failover test and what it saw: careline clients
// submitting intakes to the replicas round robin, and one feed partner per
// agency, each subscribed to its own replica, acknowledging every delivery
// (RECEIVED, then ACCEPTED) and resubscribing elsewhere from its cursor when
// its replica goes away or falls silent. Nothing here injects faults; the
// test does.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/replica_cluster.h"

namespace hart::testing {

using SteadyTime = std::chrono::steady_clock::time_point;

// Every client call is made with this deadline; a call that takes longer
// than it (plus scheduling slack) hung.
inline constexpr auto kCallDeadline = std::chrono::seconds(8);
// A feed stream that brings nothing, not even a heartbeat (the cluster's
// config sends one every second), for this long is given up and resumed
// elsewhere: its replica is paused or cut off.
inline constexpr auto kFeedSilenceLimit = std::chrono::seconds(4);

// One SubmitIntake call.
struct SubmitCall {
  int replica = -1;
  SteadyTime started;
  SteadyTime finished;
  grpc::StatusCode code = grpc::StatusCode::OK;
};

class FeedPartners;

// Careline clients: `threads` threads, each submitting fresh intakes (unique
// careline ids, received now) to the live replicas in turn until Stop().
// Each receipt's feed agencies get a partner in `partners`.
class IntakeLoad {
 public:
  // `per_second` > 0: the threads together start at most that many
  // intakes a second (a steady careline); 0: each as fast as answered.
  IntakeLoad(ReplicaCluster& cluster, FeedPartners& partners, const std::string& scenario,
             int threads, double per_second = 0);
  ~IntakeLoad() { Stop(); }
  void Stop();

  size_t acknowledged() const;
  std::vector<v1::Receipt> Receipts() const;  // of the calls answered OK
  std::vector<SubmitCall> Calls() const;

 private:
  void Run(int thread);

  ReplicaCluster& cluster_;
  FeedPartners& partners_;
  const std::string scenario_;
  std::vector<v1::Intake> templates_;
  std::chrono::steady_clock::duration interval_{};  // per thread; zero: unpaced
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> next_id_{1};
  mutable std::mutex mu_;
  std::vector<v1::Receipt> receipts_;
  std::vector<SubmitCall> calls_;
  std::vector<std::thread> threads_;
};

// One delivery event a feed partner read.
struct FeedDeliverySeen {
  uint64_t sequence = 0;
  std::string delivery_id;
  std::string referral_id;
  v1::MessageKind kind = v1::MESSAGE_KIND_UNSPECIFIED;
  bool redelivery = false;
};

// One agency's feed partner, on its own thread (and a watchdog thread that
// cancels a silent stream).
class FeedPartner {
 public:
  FeedPartner(ReplicaCluster& cluster, const std::string& agency_id, int preferred_replica);
  ~FeedPartner() { Stop(); }
  void Stop();

  const std::string& agency_id() const { return agency_id_; }
  std::vector<FeedDeliverySeen> Seen() const;
  std::set<std::string> DeliveryIds() const;
  // Within one subscription, a non-redelivery event whose sequence is not
  // the previous one's plus one (the first: resume_after + 1).
  std::vector<std::string> ContinuityBreaks() const;
  // The resume_after of each subscription after the first.
  std::vector<uint64_t> ResumedAfter() const;
  // Acknowledge calls: how many failed UNAVAILABLE or DEADLINE_EXCEEDED,
  // the other failures ("NOT_FOUND for dlv_..."), the longest call.
  size_t failed_acks() const;
  std::vector<std::string> UnexpectedAckFailures() const;
  std::chrono::steady_clock::duration longest_ack() const;
  // The mean of the Acknowledge calls (two an event, one after the other):
  // what bounds how fast this partner reads its feed.
  std::chrono::steady_clock::duration mean_ack() const;
  // Streams given up for silence (kFeedSilenceLimit).
  size_t silent_streams() const;

 private:
  void Run();
  // Reads one subscription until it ends or an acknowledgement fails.
  void Follow(int replica);
  void WatchForSilence();
  void Heard() { last_heard_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
  bool Acknowledge(v1::FeedService::Stub& stub, const std::string& delivery_id);

  ReplicaCluster& cluster_;
  const std::string agency_id_;
  const int preferred_replica_;
  std::atomic<bool> stopping_{false};
  uint64_t cursor_ = 0;  // the last sequence fully acknowledged (RECEIVED + ACCEPTED)
  mutable std::mutex mu_;
  grpc::ClientContext* open_stream_ = nullptr;  // to cancel it on Stop()
  std::vector<FeedDeliverySeen> seen_;
  std::vector<std::string> breaks_;
  std::vector<uint64_t> resumed_after_;
  size_t failed_acks_ = 0;
  std::vector<std::string> unexpected_ack_failures_;
  std::chrono::steady_clock::duration longest_ack_{};
  std::chrono::steady_clock::duration ack_time_{};  // all Acknowledge calls together
  size_t ack_calls_ = 0;
  size_t silent_streams_ = 0;  // streams the watchdog cancelled
  std::atomic<int64_t> last_heard_{0};  // steady_clock ticks
  std::condition_variable stop_requested_;
  std::thread thread_;
  std::thread watchdog_;
};

// The feed partners, one per agency, started the first time a receipt names
// the agency; each prefers the replica after the previous one's, so every
// replica serves some.
class FeedPartners {
 public:
  explicit FeedPartners(ReplicaCluster& cluster) : cluster_(cluster) {}
  void EnsureFor(const v1::Receipt& receipt);
  // A partner for `agency_id` (a feed agency) if none follows it yet: for
  // agencies only notices reach (ladder steps, erasure orders).
  void Ensure(const std::string& agency_id);
  FeedPartner* Find(const std::string& agency_id) const;
  std::vector<FeedPartner*> All() const;
  void StopAll();

 private:
  void EnsureLocked(const std::string& agency_id);
  ReplicaCluster& cluster_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FeedPartner>> partners_;
};

}  // namespace hart::testing
