#include "broker/feed/feed_head_watcher.h"

#include <set>
#include <utility>

#include "broker/common/logging.h"

namespace hart::feed {
namespace {

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("feed");
  return log;
}

}  // namespace

FeedHeadWatcher::FeedHeadWatcher(FeedStore& store, FeedHub& hub, const Clock& clock,
                                 Scheduler& scheduler, absl::Duration interval)
    : store_(store), hub_(hub), clock_(clock), scheduler_(scheduler), interval_(interval) {
  ScheduleNext();
}

FeedHeadWatcher::~FeedHeadWatcher() {
  gate_->CloseAndWait();  // no pass starts; a running one (and its store read) ends first
  uint64_t pending = 0;
  uint64_t poke = 0;
  {
    absl::MutexLock lock(&mu_);
    pending = next_pass_;
    poke = poke_waiting_ ? poke_pass_ : 0;
  }
  // If they still run, they only find the gate closed.
  scheduler_.Cancel(pending);
  if (poke != 0) scheduler_.Cancel(poke);
  // After Unlisten returns, the listener never runs again.
  for (const auto& [agency, token] : following_) hub_.Unlisten(token);
}

void FeedHeadWatcher::ScheduleNext() {
  // Under mu_, so that a pass due at once cannot record its successor's id
  // before this one is recorded (the destructor cancels the latest).
  absl::MutexLock lock(&mu_);
  next_pass_ = scheduler_.RunAt(clock_.Now() + interval_, [gate = gate_, this] {
    if (!gate->Enter()) return;  // the watcher is gone or going
    Pass();
    ScheduleNext();
    gate->Exit();
  });
}

void FeedHeadWatcher::Poke(const std::vector<std::string>& agencies) {
  absl::MutexLock lock(&mu_);
  if (agencies.empty()) poked_all_ = true;
  poked_.insert(agencies.begin(), agencies.end());
  if (poke_waiting_) return;  // that pass reads these too
  poke_waiting_ = true;
  poke_pass_ = scheduler_.RunAt(clock_.Now(), [gate = gate_, this] {
    if (!gate->Enter()) return;
    std::set<std::string> agencies;
    bool all = false;
    {
      absl::MutexLock lock(&mu_);
      poke_waiting_ = false;
      agencies.swap(poked_);
      all = std::exchange(poked_all_, false);
    }
    Pass(all ? nullptr : &agencies);
    gate->Exit();
  });
}

void FeedHeadWatcher::Grew(const std::vector<FeedGrowth>& feeds) {
  std::vector<std::string> unknown;
  for (const FeedGrowth& feed : feeds) {
    if (!feed.head) {
      unknown.push_back(feed.agency);
      continue;
    }
    {
      // An agency not followed yet (no pass since its first listener came)
      // is published too: a wake its listeners may not need is harmless.
      absl::MutexLock lock(&mu_);
      auto known = known_.find(feed.agency);
      if (known != known_.end()) {
        if (*feed.head <= known->second) continue;
        known->second = *feed.head;
      }
    }
    hub_.Publish(feed.agency, *feed.head);  // outside mu_: the hub calls OnPublished
  }
  if (feeds.empty() || !unknown.empty()) Poke(unknown);
}

void FeedHeadWatcher::Pass(const std::set<std::string>* only) {
  Follow(hub_.ListenersPerTopic());
  bool failed = false;
  for (const auto& [agency, token] : following_) {
    if (only != nullptr && !only->contains(agency)) continue;
    absl::StatusOr<uint64_t> head = store_.FeedHead(agency);  // blocks
    if (!head.ok()) {
      failed = true;
      ReadFailed(agency, head.status());
      if (absl::IsUnavailable(head.status())) break;  // the next pass retries them all
      continue;
    }
    bool grew = false;
    {
      absl::MutexLock lock(&mu_);
      uint64_t& known = known_[agency];
      grew = *head > known;
      if (grew) known = *head;
    }
    if (grew) hub_.Publish(agency, *head);  // our own listener raises known_ again: harmless
  }
  if (!failed && failing_) {
    failing_ = false;
    Log()->info("event=feed_head_reads_recovered");
  }
}

void FeedHeadWatcher::Follow(const std::map<std::string, size_t>& listeners) {
  std::set<std::string> wanted;  // agencies with a listener other than ours
  for (const auto& [agency, count] : listeners) {
    if (count > (following_.contains(agency) ? 1u : 0u)) wanted.insert(agency);
  }
  for (auto it = following_.begin(); it != following_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    // Nobody here reads this feed any more.
    hub_.Unlisten(it->second);
    {
      absl::MutexLock lock(&mu_);
      known_.erase(it->first);
    }
    it = following_.erase(it);
  }
  for (const std::string& agency : wanted) {
    if (following_.contains(agency)) continue;
    following_.emplace(agency, hub_.Listen(agency, [this, agency](uint64_t head) {
                         OnPublished(agency, head);
                       }));
  }
}

void FeedHeadWatcher::OnPublished(const std::string& agency, uint64_t head) {
  absl::MutexLock lock(&mu_);
  uint64_t& known = known_[agency];
  if (head > known) known = head;
}

void FeedHeadWatcher::ReadFailed(const std::string& agency, const absl::Status& status) {
  // The code only: a store's message may quote data.
  if (!failing_) {
    Log()->warn("event=feed_head_read_failed agency={} code={}", agency,
                absl::StatusCodeToString(status.code()));
  } else {
    Log()->debug("event=feed_head_read_failed agency={} code={}", agency,
                 absl::StatusCodeToString(status.code()));
  }
  failing_ = true;
}

}  // namespace hart::feed
