// The watcher that publishes feed growth committed by other replicas: a fake
// FeedStore whose heads the test moves (as another replica's appends would),
// a ManualClock and ManualScheduler for the passes. Also shutdown with the
// production ThreadScheduler while a store read is in progress.
#include "broker/feed/feed_head_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "broker/common/thread_scheduler.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/test_support.h"

namespace hart::feed {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using hart::testing::ManualScheduler;
using hart::testing::TestNow;

constexpr absl::Duration kInterval = absl::Milliseconds(200);

// Only FeedHead is used: heads and errors set by the test, reads counted.
class FakeFeedStore final : public FeedStore {
 public:
  absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(std::span<const FeedAppend>,
                                                              absl::Time) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string&, uint64_t,
                                                  size_t) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(const std::string&, uint64_t,
                                                            uint64_t, size_t) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<uint64_t> FeedHead(const std::string& agency) override {
    absl::Notification* hold = nullptr;
    {
      absl::MutexLock lock(&mu_);
      ++reads_[agency];
      if (auto e = errors_.find(agency); e != errors_.end()) return e->second;
      hold = hold_;
    }
    if (hold != nullptr) {
      if (!entered_.HasBeenNotified()) entered_.Notify();  // reads run on one thread
      hold->WaitForNotification();
    }
    absl::MutexLock lock(&mu_);
    return heads_[agency];
  }

  void SetHead(const std::string& agency, uint64_t head) {
    absl::MutexLock lock(&mu_);
    heads_[agency] = head;
  }
  void SetError(const std::string& agency, absl::Status error) {
    absl::MutexLock lock(&mu_);
    if (error.ok()) {
      errors_.erase(agency);
    } else {
      errors_[agency] = std::move(error);
    }
  }
  int reads(const std::string& agency) const {
    absl::MutexLock lock(&mu_);
    auto it = reads_.find(agency);
    return it == reads_.end() ? 0 : it->second;
  }
  // Reads block until `release` is notified; `entered()` fires at the first.
  void HoldReadsUntil(absl::Notification* release) {
    absl::MutexLock lock(&mu_);
    hold_ = release;
  }
  absl::Notification& entered() { return entered_; }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, uint64_t> heads_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> errors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> reads_ ABSL_GUARDED_BY(mu_);
  absl::Notification* hold_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Notification entered_;
};

// A subscriber on one agency: records the heads it is woken with.
class Subscriber {
 public:
  Subscriber(FeedHub& hub, const std::string& agency) : hub_(hub) {
    token_ = hub_.Listen(agency, [this](uint64_t head) {
      absl::MutexLock lock(&mu_);
      wakes_.push_back(head);
    });
  }
  ~Subscriber() { Leave(); }
  void Leave() {
    if (token_ != 0) hub_.Unlisten(token_);
    token_ = 0;
  }
  std::vector<uint64_t> wakes() const {
    absl::MutexLock lock(&mu_);
    return wakes_;
  }

 private:
  FeedHub& hub_;
  FeedHub::Token token_ = 0;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> wakes_ ABSL_GUARDED_BY(mu_);
};

class FeedHeadWatcherTest : public ::testing::Test {
 protected:
  // Moves time by `d` and runs what is due; returns how many callbacks ran.
  size_t Advance(absl::Duration d) {
    clock_.Advance(d);
    return scheduler_.RunDue();
  }

  FakeFeedStore store_;
  FeedHub hub_;
  ManualClock clock_{TestNow()};
  ManualScheduler scheduler_{clock_};
  std::unique_ptr<FeedHeadWatcher> watcher_ =
      std::make_unique<FeedHeadWatcher>(store_, hub_, clock_, scheduler_, kInterval);
};

TEST_F(FeedHeadWatcherTest, PublishesAnotherReplicasAppendAfterOneIntervalNotBefore) {
  Subscriber partner(hub_, "hartford-pd");
  store_.SetHead("hartford-pd", 3);  // appended by another replica

  EXPECT_EQ(Advance(kInterval - absl::Milliseconds(1)), 0u);
  EXPECT_THAT(partner.wakes(), IsEmpty());
  EXPECT_EQ(store_.reads("hartford-pd"), 0);

  EXPECT_EQ(Advance(absl::Milliseconds(1)), 1u);
  EXPECT_THAT(partner.wakes(), ElementsAre(3u));

  // Unchanged: not announced again.
  EXPECT_EQ(Advance(kInterval), 1u);
  EXPECT_THAT(partner.wakes(), ElementsAre(3u));

  store_.SetHead("hartford-pd", 5);
  EXPECT_EQ(Advance(kInterval), 1u);
  EXPECT_THAT(partner.wakes(), ElementsAre(3u, 5u));
}

TEST_F(FeedHeadWatcherTest, APokeReadsThePokedFeedsAtOnceAndOnlyThose) {
  Subscriber hartford(hub_, "hartford-pd");
  Subscriber task_force(hub_, "task-force");
  store_.SetHead("hartford-pd", 2);  // both appended by another replica
  store_.SetHead("task-force", 4);

  // Another replica's NOTIFY named hartford-pd only: read now, not after
  // an interval; task-force waits for the next timed pass.
  watcher_->Poke({"hartford-pd"});
  EXPECT_EQ(Advance(absl::ZeroDuration()), 1u);
  EXPECT_THAT(hartford.wakes(), ElementsAre(2u));
  EXPECT_THAT(task_force.wakes(), IsEmpty());
  EXPECT_EQ(store_.reads("task-force"), 0);

  Advance(kInterval);
  EXPECT_THAT(task_force.wakes(), ElementsAre(4u));
  EXPECT_THAT(hartford.wakes(), ElementsAre(2u));  // unchanged: not announced again
}

TEST_F(FeedHeadWatcherTest, PokesWaitingToRunShareOnePassAndAnEmptyPokeReadsEveryFeed) {
  Subscriber hartford(hub_, "hartford-pd");
  Subscriber task_force(hub_, "task-force");
  Advance(kInterval);  // followed from now on
  store_.SetHead("hartford-pd", 1);
  store_.SetHead("task-force", 1);
  const int hartford_reads = store_.reads("hartford-pd");

  watcher_->Poke({"hartford-pd"});
  watcher_->Poke({"hartford-pd"});
  watcher_->Poke({});  // any feed may have grown (a reconnected listener)
  EXPECT_EQ(Advance(absl::ZeroDuration()), 1u);
  EXPECT_EQ(store_.reads("hartford-pd"), hartford_reads + 1);
  EXPECT_THAT(hartford.wakes(), ElementsAre(1u));
  EXPECT_THAT(task_force.wakes(), ElementsAre(1u));

  // A poke after that pass ran gets a pass of its own.
  store_.SetHead("task-force", 2);
  watcher_->Poke({"task-force"});
  EXPECT_EQ(Advance(absl::ZeroDuration()), 1u);
  EXPECT_THAT(task_force.wakes(), ElementsAre(1u, 2u));
}

TEST_F(FeedHeadWatcherTest, AHintCarryingTheHeadIsPublishedAtOnceWithoutARead) {
  Subscriber hartford(hub_, "hartford-pd");
  Subscriber task_force(hub_, "task-force");
  Advance(kInterval);  // followed from now on; both feeds empty
  const int hartford_reads = store_.reads("hartford-pd");
  const int task_force_reads = store_.reads("task-force");

  // Another replica's commit moved hartford-pd to 3 and said so; it named
  // task-force without a sequence (read it).
  store_.SetHead("task-force", 2);
  watcher_->Grew({{"hartford-pd", 3}, {"task-force", std::nullopt}});
  EXPECT_THAT(hartford.wakes(), ElementsAre(3u));  // before any pass ran
  EXPECT_EQ(store_.reads("hartford-pd"), hartford_reads);
  EXPECT_THAT(task_force.wakes(), IsEmpty());
  EXPECT_EQ(Advance(absl::ZeroDuration()), 1u);  // the poke for task-force
  EXPECT_THAT(task_force.wakes(), ElementsAre(2u));
  EXPECT_EQ(store_.reads("task-force"), task_force_reads + 1);
  EXPECT_EQ(store_.reads("hartford-pd"), hartford_reads);

  // A late or repeated hint at or below what was announced wakes nobody,
  // nor does one below what this replica published itself.
  watcher_->Grew({{"hartford-pd", 3}});
  watcher_->Grew({{"hartford-pd", 2}});
  hub_.Publish("hartford-pd", 5);
  watcher_->Grew({{"hartford-pd", 4}});
  EXPECT_THAT(hartford.wakes(), ElementsAre(3u, 5u));
  watcher_->Grew({{"hartford-pd", 6}});
  EXPECT_THAT(hartford.wakes(), ElementsAre(3u, 5u, 6u));
  EXPECT_EQ(Advance(absl::ZeroDuration()), 0u);  // nothing left to read
}

TEST_F(FeedHeadWatcherTest, AnEmptyHintReadsEveryFeed) {
  Subscriber hartford(hub_, "hartford-pd");
  Subscriber task_force(hub_, "task-force");
  Advance(kInterval);
  store_.SetHead("hartford-pd", 1);
  store_.SetHead("task-force", 1);

  watcher_->Grew({});  // a reconnected listener: any feed may have grown
  EXPECT_EQ(Advance(absl::ZeroDuration()), 1u);
  EXPECT_THAT(hartford.wakes(), ElementsAre(1u));
  EXPECT_THAT(task_force.wakes(), ElementsAre(1u));
}

TEST_F(FeedHeadWatcherTest, ReadsOnlyAgenciesWithListeners) {
  auto partner = std::make_unique<Subscriber>(hub_, "hartford-pd");
  store_.SetHead("hartford-pd", 1);
  store_.SetHead("dcf-intake", 7);

  Advance(kInterval);
  EXPECT_EQ(store_.reads("hartford-pd"), 1);
  EXPECT_EQ(store_.reads("dcf-intake"), 0);

  // Once the partner leaves, its feed is not read and the watcher's own
  // listener does not keep it followed.
  partner.reset();
  Advance(kInterval);
  Advance(kInterval);
  EXPECT_EQ(store_.reads("hartford-pd"), 1);
  EXPECT_EQ(hub_.ListenerCount(), 0u);
}

TEST_F(FeedHeadWatcherTest, DoesNotRepublishWhatThisReplicaPublished) {
  Subscriber partner(hub_, "hartford-pd");
  Advance(kInterval);  // the watcher follows the agency; its feed is empty
  EXPECT_THAT(partner.wakes(), IsEmpty());

  // This replica's writer queue commits and announces sequence 4 itself.
  store_.SetHead("hartford-pd", 4);
  hub_.Publish("hartford-pd", 4);
  Advance(kInterval);
  EXPECT_EQ(store_.reads("hartford-pd"), 2);
  EXPECT_THAT(partner.wakes(), ElementsAre(4u));

  store_.SetHead("hartford-pd", 6);  // then another replica appends
  Advance(kInterval);
  EXPECT_THAT(partner.wakes(), ElementsAre(4u, 6u));
}

TEST_F(FeedHeadWatcherTest, StoreErrorsDoNotStopLaterPasses) {
  Subscriber partner(hub_, "hartford-pd");
  store_.SetHead("hartford-pd", 2);
  store_.SetError("hartford-pd", absl::UnavailableError("database unreachable"));

  Advance(kInterval);
  EXPECT_EQ(store_.reads("hartford-pd"), 1);
  EXPECT_THAT(partner.wakes(), IsEmpty());
  Advance(kInterval);
  EXPECT_EQ(store_.reads("hartford-pd"), 2);
  EXPECT_EQ(scheduler_.pending(), 1u);

  store_.SetError("hartford-pd", absl::OkStatus());
  Advance(kInterval);
  EXPECT_THAT(partner.wakes(), ElementsAre(2u));
}

TEST_F(FeedHeadWatcherTest, OtherErrorsDoNotSkipTheOtherAgencies) {
  Subscriber a(hub_, "agency-a");
  Subscriber b(hub_, "agency-b");
  store_.SetError("agency-a", absl::InternalError("odd row"));
  store_.SetHead("agency-b", 9);

  Advance(kInterval);
  EXPECT_EQ(store_.reads("agency-a"), 1);
  EXPECT_THAT(b.wakes(), ElementsAre(9u));
}

TEST_F(FeedHeadWatcherTest, UnavailableEndsThePassEarly) {
  Subscriber a(hub_, "agency-a");
  Subscriber b(hub_, "agency-b");
  store_.SetError("agency-a", absl::UnavailableError("database unreachable"));
  store_.SetHead("agency-b", 9);

  Advance(kInterval);  // agencies in id order: b waits for the next pass
  EXPECT_EQ(store_.reads("agency-b"), 0);
  store_.SetError("agency-a", absl::OkStatus());
  Advance(kInterval);
  EXPECT_THAT(b.wakes(), ElementsAre(9u));
}

TEST_F(FeedHeadWatcherTest, NothingRunsAfterDestruction) {
  Subscriber partner(hub_, "hartford-pd");
  Advance(kInterval);  // following: a listener of its own on the hub
  EXPECT_EQ(hub_.ListenerCount(), 2u);
  EXPECT_EQ(scheduler_.pending(), 1u);
  watcher_->Poke({"hartford-pd"});
  EXPECT_EQ(scheduler_.pending(), 2u);

  watcher_.reset();
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(hub_.ListenerCount(), 1u);  // the partner's only

  store_.SetHead("hartford-pd", 8);
  EXPECT_EQ(Advance(10 * kInterval), 0u);
  EXPECT_EQ(store_.reads("hartford-pd"), 1);
  EXPECT_THAT(partner.wakes(), IsEmpty());
  hub_.Publish("hartford-pd", 9);  // the watcher's listener is gone
  EXPECT_THAT(partner.wakes(), ElementsAre(9u));
}

// With the production scheduler: the destructor waits for a pass blocked in
// a store read; the pass's publication happens before it returns.
TEST(FeedHeadWatcherThreadTest, DestructorWaitsForARunningPass) {
  FakeFeedStore store;
  FeedHub hub;
  SystemClock clock;
  ThreadScheduler scheduler(clock);
  Subscriber partner(hub, "hartford-pd");
  store.SetHead("hartford-pd", 5);
  absl::Notification release;
  store.HoldReadsUntil(&release);

  auto watcher = std::make_unique<FeedHeadWatcher>(store, hub, clock, scheduler,
                                                   absl::Milliseconds(1));
  store.entered().WaitForNotification();
  auto destroyed = std::async(std::launch::async, [&] { watcher.reset(); });
  release.Notify();
  destroyed.get();

  EXPECT_THAT(partner.wakes(), ElementsAre(5u));
  EXPECT_EQ(hub.ListenerCount(), 1u);  // the partner's only
}

}  // namespace
}  // namespace hart::feed
