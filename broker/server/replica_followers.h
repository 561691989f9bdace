// How a replica on a shared store (PostgreSQL) follows what the other
// replicas commit. Their NOTIFY hints (FollowOtherReplicas) wake it at
// once: the feed-head watcher for feeds that grew, the dispatcher for new
// deliveries and timers, the escalation watchers for escalation steps.
// Polls bound the delay when a hint is lost: feed heads every
// `feed_poll` (FeedHeadWatcher), escalation watchers every
// `escalation_poll` while any is connected.
//
// Threads: a scheduler thread of its own runs the watcher's passes (which
// block on the store) and the escalation poll; the listener has its own.
// The destructor stops the listener first, then the polls: when it
// returns, nothing of it runs.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/clock.h"
#include "broker/common/callback_gate.h"
#include "broker/common/thread_scheduler.h"
#include "broker/common/topic_hub.h"
#include "broker/feed/feed_head_watcher.h"
#include "broker/feed/feed_hub.h"
#include "broker/replica_signals.h"
#include "broker/store.h"
#include "broker/store/store_factory.h"

namespace hart {

class ReplicaFollowers {
 public:
  struct Targets {
    feed::FeedHub* feeds = nullptr;
    TopicHub* escalations = nullptr;
    std::function<void()> wake_dispatcher;  // safe from any thread at any time
    // Another replica sealed these referrals (empty: any may have been);
    // memory only, safe from any thread at any time.
    std::function<void(const std::vector<std::string>& referral_ids)> referrals_sealed;
  };
  struct Intervals {
    absl::Duration feed_poll = absl::Seconds(1);
    absl::Duration escalation_poll = absl::Seconds(1);
  };

  // Null if the store has no other replicas (sqlite). `store`, `clock` and
  // the targets must outlive the result.
  static absl::StatusOr<std::unique_ptr<ReplicaFollowers>> Start(
      const StoreOpenOptions& store_options, Store& store, const Clock& clock, Targets targets,
      Intervals intervals);
  ~ReplicaFollowers();
  ReplicaFollowers(const ReplicaFollowers&) = delete;
  ReplicaFollowers& operator=(const ReplicaFollowers&) = delete;

 private:
  ReplicaFollowers(Store& store, const Clock& clock, Targets targets, Intervals intervals);
  void PollEscalationsLater();
  void WakeEscalationWatchers();

  const Clock& clock_;
  const Targets targets_;
  const Intervals intervals_;
  ThreadScheduler scheduler_;
  feed::FeedHeadWatcher watcher_;
  const std::shared_ptr<CallbackGate> gate_ = std::make_shared<CallbackGate>();
  absl::Mutex mu_;
  uint64_t next_escalation_poll_ ABSL_GUARDED_BY(mu_) = 0;  // the scheduler's id
  // Last member: destroyed first, so no hint arrives while the rest goes.
  std::unique_ptr<ReplicaSignals> signals_;
};

}  // namespace hart
