#include "broker/server/replica_followers.h"

#include <utility>

#include "broker/api/escalation_watch.h"

namespace hart {

absl::StatusOr<std::unique_ptr<ReplicaFollowers>> ReplicaFollowers::Start(
    const StoreOpenOptions& store_options, Store& store, const Clock& clock, Targets targets,
    Intervals intervals) {
  if (store_options.backend == "sqlite") return std::unique_ptr<ReplicaFollowers>();
  std::unique_ptr<ReplicaFollowers> followers(
      new ReplicaFollowers(store, clock, std::move(targets), intervals));
  ReplicaFollowers* self = followers.get();
  ReplicaSignalHandlers handlers;
  handlers.feeds_grew = [self](const std::vector<FeedGrowth>& feeds) {
    self->watcher_.Grew(feeds);
  };
  handlers.work_added = [self] { self->targets_.wake_dispatcher(); };
  handlers.escalated = [self] { self->WakeEscalationWatchers(); };
  handlers.referrals_sealed = self->targets_.referrals_sealed;
  auto signals = FollowOtherReplicas(store_options, std::move(handlers));
  if (!signals.ok()) return signals.status();
  followers->signals_ = std::move(*signals);
  followers->PollEscalationsLater();
  return followers;
}

ReplicaFollowers::ReplicaFollowers(Store& store, const Clock& clock, Targets targets,
                                   Intervals intervals)
    : clock_(clock),
      targets_(std::move(targets)),
      intervals_(intervals),
      scheduler_(clock),
      watcher_(store, *targets_.feeds, clock, scheduler_, intervals.feed_poll) {}

ReplicaFollowers::~ReplicaFollowers() {
  signals_.reset();      // no hint calls the watcher any more
  gate_->CloseAndWait();  // no escalation poll starts; a running one ends
  uint64_t pending = 0;
  {
    absl::MutexLock lock(&mu_);
    pending = next_escalation_poll_;
  }
  scheduler_.Cancel(pending);
  // Then the watcher (its own passes), then the scheduler's thread.
}

void ReplicaFollowers::PollEscalationsLater() {
  absl::MutexLock lock(&mu_);
  next_escalation_poll_ =
      scheduler_.RunAt(clock_.Now() + intervals_.escalation_poll, [gate = gate_, this] {
        if (!gate->Enter()) return;
        WakeEscalationWatchers();
        PollEscalationsLater();
        gate->Exit();
      });
}

void ReplicaFollowers::WakeEscalationWatchers() {
  // Each watcher reads what follows its own cursor from the store; the
  // value published is not used.
  if (targets_.escalations->ListenersPerTopic().contains(kEscalationTopic)) {
    targets_.escalations->Publish(kEscalationTopic, 0);
  }
}

}  // namespace hart
