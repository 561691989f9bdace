// Brings appends committed by other replicas (sharing the database) to this
// replica's subscribers: only this replica's own commits are published on
// its hub (PublishHeads), so the watcher reads FeedHead for each agency that
// has a listener here and publishes the head if it grew past what the hub
// already announced. A hint that carries the new head (another replica's
// NOTIFY, sent only once its transaction committed: ReplicaSignals) is
// published at once without a read; one without is read at once (a poke).
// Every `interval` it reads them all in any case, the bound when a hint is
// lost.
//
// To tell its own replica's announcements from growth it must report, it
// listens on the hub itself (for the agencies it follows) and remembers the
// highest head published per agency; it stops following an agency once its
// own listener is the only one left. A head it never saw announced is
// published once when first read (a harmless extra wake: a subscriber that
// arrived while another replica appended must not miss that append).
//
// Threads: passes, store reads included, run on the scheduler's thread and
// block on the store. Give it a ThreadScheduler of its own (one thread, idle
// between passes), not the server's shared one: that one runs the delivery
// guards' watchdogs, which must stay short. (Not the store executor either:
// its bounded queue serves clients, and hart_feed does not link it.) The
// next pass is scheduled when one ends, so passes never overlap or pile up.
//
// Store errors are logged (agency id and status code only) and the read is
// retried on the next pass; UNAVAILABLE ends the pass early, since the
// other agencies' reads would only wait for the same unreachable store.
//
// Thread safety: the hub may publish from any thread meanwhile. The
// destructor cancels the pending pass, waits for a running one to finish (a
// store read in progress included) and stops listening: when it returns,
// nothing of the watcher runs. It must not be called from a pass.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/clock.h"
#include "broker/common/callback_gate.h"
#include "broker/feed/feed_hub.h"
#include "broker/feed_store.h"
#include "broker/replica_signals.h"
#include "broker/scheduler.h"

namespace hart::feed {

class FeedHeadWatcher {
 public:
  // Everything passed must outlive the watcher; `interval` > 0. The first
  // pass runs one interval after construction.
  FeedHeadWatcher(FeedStore& store, FeedHub& hub, const Clock& clock, Scheduler& scheduler,
                  absl::Duration interval);
  ~FeedHeadWatcher();
  FeedHeadWatcher(const FeedHeadWatcher&) = delete;
  FeedHeadWatcher& operator=(const FeedHeadWatcher&) = delete;

  // These agencies' feeds grew elsewhere (empty: any may have): a pass over
  // them runs now, on the scheduler, unless one is already waiting to run
  // (it then covers them too). Any thread; never blocks on the store.
  void Poke(const std::vector<std::string>& agencies);
  // Another replica's hint (empty: any feed may have grown): a head it
  // carries above what was announced here is published now, on the calling
  // thread; the feeds without one are poked. Any thread; never blocks on
  // the store.
  void Grew(const std::vector<FeedGrowth>& feeds);

 private:
  void ScheduleNext();
  // Reads the heads of the agencies followed (only those in `only`, if set).
  void Pass(const std::set<std::string>* only = nullptr);
  // Starts or stops following agencies to match the hub's other listeners.
  void Follow(const std::map<std::string, size_t>& listeners);
  void OnPublished(const std::string& agency, uint64_t head);
  void ReadFailed(const std::string& agency, const absl::Status& status);

  FeedStore& store_;
  FeedHub& hub_;
  const Clock& clock_;
  Scheduler& scheduler_;
  const absl::Duration interval_;
  // Captured by the scheduled pass, which may outlive the watcher (dropped
  // or not) and then finds the gate closed.
  const std::shared_ptr<CallbackGate> gate_ = std::make_shared<CallbackGate>();

  // Touched by one pass at a time, then by the destructor (after the gate).
  std::map<std::string, FeedHub::Token> following_;
  bool failing_ = false;  // the last read failed: warn once per outage

  absl::Mutex mu_;  // taken inside the hub's lock (OnPublished): never call the hub with it
  std::map<std::string, uint64_t> known_ ABSL_GUARDED_BY(mu_);  // highest head published
  uint64_t next_pass_ ABSL_GUARDED_BY(mu_) = 0;                 // the scheduler's id
  // A poked pass waiting to run, and what it is to read.
  bool poke_waiting_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t poke_pass_ ABSL_GUARDED_BY(mu_) = 0;  // the scheduler's id
  bool poked_all_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> poked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::feed
