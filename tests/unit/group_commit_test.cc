#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/store/batch_writer.h"
#include "broker/store/store_factory.h"
#include "broker/store/store_wrapper.h"
#include "broker/store/write_queue.h"
#include "broker/common/time_util.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using hart::testing::TempDir;
using hart::testing::TestNow;
using hart::testing::WaitFor;

NewReferral MakeReferral(const std::string& id, const std::string& delivery_id) {
  NewReferral r;
  r.referral.referral_id = "ref_" + id;
  r.referral.careline_report_id = "CL-" + id;
  r.referral.content_sha256 = std::string(32, 'x');
  r.referral.receipt.set_referral_id(r.referral.referral_id);
  r.referral.received_at = TestNow();
  r.referral.accepted_at = TestNow();
  DeliveryRecord d;
  d.delivery_id = delivery_id;
  d.referral_id = r.referral.referral_id;
  d.agency_id = "hartford-pd";
  d.agency_kind = v1::LOCAL_LAW_ENFORCEMENT;
  d.rule_ids = {"ht-referral"};
  d.adapter_type = "grpc_feed";
  d.created_at = d.next_attempt_at = d.ack_deadline = TestNow();
  r.deliveries.push_back(d);
  r.audit.push_back({TestNow(), "careline/test", "intake.accepted", r.referral.referral_id, "", "", ""});
  return r;
}

// Holds the first batch until released.
class BlockingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
      std::span<WriteRequest> batch) override {
    if (!first_done_.exchange(true)) {
      entered.Notify();
      release.WaitForNotification();
    }
    batch_sizes.push_back(batch.size());
    return StoreWrapper::ApplyWrites(batch);
  }
  absl::Notification entered;
  absl::Notification release;
  std::vector<size_t> batch_sizes;  // written by the writer thread only

 private:
  std::atomic<bool> first_done_{false};
};

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest()
      : sqlite_(std::move(OpenSqliteStore(dir_.path()).value())), store_(*sqlite_) {}
  TempDir dir_;
  std::unique_ptr<Store> sqlite_;
  BlockingStore store_;
};

// Verifies the answer comes only after the transaction returned.
TEST_F(GroupCommitTest, AnswersOnlyAfterTheCommit) {
  WriteQueue writes(store_, 16);
  std::atomic<bool> answered{false};
  writes.CreateReferral(MakeReferral("1", "dlv_1"), [&](absl::StatusOr<CreateReferralResult> r) {
    EXPECT_TRUE(r.ok());
    // By the time we are answered, the referral is readable.
    EXPECT_TRUE(sqlite_->GetReferral("ref_1").ok());
    answered = true;
  });
  store_.entered.WaitForNotification();
  EXPECT_FALSE(answered.load());
  EXPECT_EQ(sqlite_->GetReferral("ref_1").status().code(), absl::StatusCode::kNotFound);
  store_.release.Notify();
  EXPECT_TRUE(WaitFor([&] { return answered.load(); }));
}

// Verifies concurrent submissions share one transaction, and a failing
// transaction answers every member with the error and stores nothing.
TEST_F(GroupCommitTest, FailedBatchAnswersEveryMemberAndStoresNothing) {
  WriteQueue writes(store_, 16);
  std::atomic<int> ok{0}, failed{0};
  auto count = [&](absl::StatusOr<CreateReferralResult> r) { (r.ok() ? ok : failed)++; };
  writes.CreateReferral(MakeReferral("blocker", "dlv_blocker"), count);
  store_.entered.WaitForNotification();
  // Queued while the writer is busy: these two form the next batch. The
  // second is malformed (its delivery names a referral that does not
  // exist: a foreign-key violation, a broker bug, not a per-item outcome),
  // so the transaction fails midway, after the first was written.
  writes.CreateReferral(MakeReferral("2", "dlv_2"), count);
  NewReferral malformed = MakeReferral("3", "dlv_3");
  malformed.deliveries[0].referral_id = "ref_nobody";
  writes.CreateReferral(std::move(malformed), count);
  store_.release.Notify();
  ASSERT_TRUE(WaitFor([&] { return ok + failed == 3; }));
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(failed.load(), 2);
  EXPECT_THAT(store_.batch_sizes, ::testing::ElementsAre(1, 2));
  EXPECT_EQ(sqlite_->GetReferral("ref_2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sqlite_->GetReferral("ref_3").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sqlite_->GetDelivery("dlv_2").status().code(), absl::StatusCode::kNotFound);
  // Only the blocker's audit event exists.
  EXPECT_EQ(sqlite_->ListAuditEvents({})->size(), 1u);
}

// Records what the writer queue tells its observer.
class RecordingObserver final : public WriteQueueObserver {
 public:
  void OnBatchWritten(size_t items, absl::Duration took, bool committed) override {
    absl::MutexLock lock(&mu_);
    batches_.emplace_back(items, committed);
    EXPECT_GE(took, absl::ZeroDuration());
  }
  std::vector<std::pair<size_t, bool>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<size_t, bool>> batches_ ABSL_GUARDED_BY(mu_);
};

// Verifies the observer hears of every batch, its size and whether it
// committed, before its members are answered.
TEST_F(GroupCommitTest, TellsTheObserverEachBatchsSizeAndOutcome) {
  RecordingObserver observer;
  WriteQueue writes(store_, 16, {}, &observer);
  std::atomic<int> answered{0};
  auto count = [&](absl::StatusOr<CreateReferralResult>) { answered++; };
  writes.CreateReferral(MakeReferral("blocker", "dlv_blocker"), count);
  store_.entered.WaitForNotification();
  writes.CreateReferral(MakeReferral("2", "dlv_2"), count);
  NewReferral malformed = MakeReferral("3", "dlv_3");
  malformed.deliveries[0].referral_id = "ref_nobody";  // fails the whole batch
  writes.CreateReferral(std::move(malformed), [&](absl::StatusOr<CreateReferralResult> r) {
    // Told before the batch's members are answered.
    EXPECT_EQ(observer.batches().size(), 2u);
    count(std::move(r));
  });
  store_.release.Notify();
  ASSERT_TRUE(WaitFor([&] { return answered == 3; }));
  EXPECT_THAT(observer.batches(), ::testing::ElementsAre(std::make_pair(size_t{1}, true),
                                                          std::make_pair(size_t{2}, false)));
}

// Verifies the hook runs once per committed batch, before the batch's
// callbacks, with its requests and results side by side.
TEST_F(GroupCommitTest, RunsAfterCommitHookOnSuccess) {
  std::atomic<int> hooks{0};
  std::atomic<bool> saw_the_request{false};
  store_.release.Notify();
  WriteQueue writes(store_, 16, [&](auto requests, auto results) {
    hooks++;
    saw_the_request = requests.size() == 1 && results.size() == 1 &&
                      std::get<NewReferral>(requests[0]).referral.referral_id == "ref_1";
  });
  std::atomic<bool> done{false};
  std::atomic<int> hooks_when_answered{-1};
  writes.CreateReferral(MakeReferral("1", "dlv_1"), [&](auto) {
    hooks_when_answered = hooks.load();
    done = true;
  });
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  EXPECT_EQ(hooks.load(), 1);
  EXPECT_EQ(hooks_when_answered.load(), 1);
  EXPECT_TRUE(saw_the_request.load());
}

AckWrite MakeAck(const std::string& delivery_id, v1::DeliveryState expected) {
  AckWrite w;
  w.delivery_id = delivery_id;
  w.expected_state = expected;
  w.new_state = v1::DELIVERED;
  w.ack.set_kind(v1::Acknowledgement::RECEIVED);
  w.ack.set_actor("agency/test");
  *w.ack.mutable_recorded_at() = ToProtoTime(TestNow());
  w.audit = {TestNow(), "agency/test", "delivery.ack.received", "", delivery_id, "", ""};
  return w;
}

// Verifies intakes, acks, supplements and feed appends queued together
// share one transaction, and each is answered with its own result.
TEST_F(GroupCommitTest, DifferentWritesShareOneCommit) {
  WriteQueue writes(store_, 16);
  std::atomic<int> answered{0};
  writes.CreateReferral(MakeReferral("blocker", "dlv_blocker"), [&](auto r) {
    EXPECT_TRUE(r.ok()) << r.status();
    answered++;
  });
  store_.entered.WaitForNotification();
  writes.CreateReferral(MakeReferral("2", "dlv_2"), [&](absl::StatusOr<CreateReferralResult> r) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outcome, CreateReferralResult::Outcome::kCreated);
    answered++;
  });
  writes.ApplyAck(MakeAck("dlv_blocker", v1::PENDING), [&](absl::StatusOr<uint64_t> index) {
    EXPECT_TRUE(index.ok()) << index.status();
    answered++;
  });
  ReferralChange change;
  change.referral_id = "ref_blocker";
  change.expected_version = 1;
  change.intake.set_careline_report_id("CL-blocker");
  change.at = TestNow();
  change.supplement_id = "sup_1";
  change.audit.push_back({TestNow(), "careline/test", "referral.supplemented", "ref_blocker",
                          "", "", ""});
  writes.ApplyReferralChange(change, [&](absl::StatusOr<ReferralChanged> r) {
    EXPECT_TRUE(r.ok()) << r.status();
    answered++;
  });
  FeedAppend append{"dlv_2", "hartford-pd",
                    {TestNow(), "broker", "delivery.sent", "ref_2", "dlv_2", "", ""}};
  writes.AppendToFeed(append, TestNow(), [&](absl::StatusOr<FeedAppendResult> r) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->sequence, 1u);
    answered++;
  });
  store_.release.Notify();
  ASSERT_TRUE(WaitFor([&] { return answered == 5; }));
  EXPECT_THAT(store_.batch_sizes, ::testing::ElementsAre(1, 4));
  EXPECT_EQ(sqlite_->GetDelivery("dlv_blocker")->state, v1::DELIVERED);
  EXPECT_EQ(sqlite_->GetReferral("ref_blocker")->version, 2);
  EXPECT_TRUE(sqlite_->FindSupplement("sup_1")->has_value());
  EXPECT_EQ(sqlite_->FeedHead("hartford-pd").value(), 1u);
}

// Verifies an item refused on its own (a colliding id, an unknown
// delivery, a lost compare-and-set) writes nothing, audit tree included,
// while the rest of its batch commits.
TEST_F(GroupCommitTest, ItemRefusedAloneLeavesTheRestCommitted) {
  WriteQueue writes(store_, 16);
  std::atomic<int> answered{0};
  writes.CreateReferral(MakeReferral("blocker", "dlv_blocker"), [&](auto) { answered++; });
  store_.entered.WaitForNotification();
  absl::StatusOr<CreateReferralResult> second, third;
  absl::Status unknown_ack, stale_ack;
  writes.CreateReferral(MakeReferral("2", "dlv_same"), [&](auto r) {
    second = std::move(r);
    answered++;
  });
  writes.CreateReferral(MakeReferral("3", "dlv_same"), [&](auto r) {
    third = std::move(r);
    answered++;
  });
  writes.ApplyAck(MakeAck("dlv_nobody", v1::PENDING), [&](auto r) {
    unknown_ack = r.status();
    answered++;
  });
  writes.ApplyAck(MakeAck("dlv_blocker", v1::IN_FLIGHT), [&](auto r) {
    stale_ack = r.status();
    answered++;
  });
  store_.release.Notify();
  ASSERT_TRUE(WaitFor([&] { return answered == 5; }));
  EXPECT_THAT(store_.batch_sizes, ::testing::ElementsAre(1, 4));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, CreateReferralResult::Outcome::kCreated);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(unknown_ack.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(stale_ack.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(sqlite_->GetReferral("ref_2").ok());
  EXPECT_EQ(sqlite_->GetReferral("ref_3").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sqlite_->GetDelivery("dlv_same")->referral_id, "ref_2");
  EXPECT_EQ(sqlite_->GetDelivery("dlv_blocker")->state, v1::PENDING);
  // Two leaves (blocker, ref_2); the refused items' leaves were rolled
  // back with them, so the next event takes index 2, without a gap.
  EXPECT_EQ(sqlite_->AuditHead()->size, 2u);
  std::atomic<bool> done{false};
  absl::StatusOr<uint64_t> next_index;
  writes.ApplyAck(MakeAck("dlv_blocker", v1::PENDING), [&](auto r) {
    next_index = std::move(r);
    done = true;
  });
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  ASSERT_TRUE(next_index.ok()) << next_index.status();
  EXPECT_EQ(*next_index, 2u);
  EXPECT_EQ(sqlite_->ListAuditEvents({})->size(), 3u);
}

// A writer of ints whose batches are recorded. Its first batch may be held
// (the writer then finds what queued meanwhile when it is released). With
// the default long linger, nothing but what ends the wait (another
// interactive request, a full batch, the destructor) gets lingering
// requests written.
class RecordingWriter {
 public:
  using Writer = BatchWriter<int, int>;
  explicit RecordingWriter(size_t max_batch, size_t max_background = 8,
                           absl::Duration linger = absl::Hours(1))
      : writer_(std::make_unique<Writer>(
            [this](std::span<const int> batch) -> absl::StatusOr<std::vector<int>> {
              if (hold_first_.exchange(false)) {
                entered_.Notify();
                release_.WaitForNotification();
              }
              absl::MutexLock lock(&mu_);
              batches_.emplace_back(batch.begin(), batch.end());
              return std::vector<int>(batch.begin(), batch.end());
            },
            max_batch, Writer::AfterCommitFn{}, max_background, linger)) {}

  void Submit(int value, Writer::Lane lane) {
    writer_->Submit(value, [this](absl::StatusOr<int> r) {
      EXPECT_TRUE(r.ok());
      ++answered_;
    }, lane);
  }
  // Submits `value` and holds its batch in the writer until Release().
  void SubmitHeld(int value) {
    hold_first_ = true;
    Submit(value, Writer::Lane::kInteractive);
    entered_.WaitForNotification();
  }
  void Release() { release_.Notify(); }
  bool WaitAnswered(int n) { return WaitFor([&] { return answered_ == n; }); }
  void Stop() { writer_.reset(); }
  int answered() const { return answered_; }
  std::vector<std::vector<int>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  std::atomic<bool> hold_first_{false};
  absl::Notification entered_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::vector<std::vector<int>> batches_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> answered_{0};
  std::unique_ptr<Writer> writer_;
};

// Verifies background requests wait behind interactive ones, join a batch
// at most max_background at a time and one at a time beside interactive
// ones, each lane in its own order.
TEST(BatchWriterLaneTest, BackgroundWaitsBehindInteractiveAndJoinsAFewAtATime) {
  using Lane = RecordingWriter::Writer::Lane;
  RecordingWriter w(/*max_batch=*/8, /*max_background=*/2);
  w.SubmitHeld(0);  // the batch being written
  for (int i = 101; i <= 105; ++i) w.Submit(i, Lane::kBackground);
  w.Submit(1, Lane::kInteractive);
  w.Submit(2, Lane::kInteractive);
  w.Release();
  ASSERT_TRUE(w.WaitAnswered(8));
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(::testing::ElementsAre(0),
                                                  ::testing::ElementsAre(1, 2, 101),
                                                  ::testing::ElementsAre(102, 103),
                                                  ::testing::ElementsAre(104, 105)));
}

// Verifies that interactive requests that fill every batch still leave
// one place to the background work waiting (an escalation's ladder step
// among it), so an overload of intakes or acks cannot starve it; and that
// a writer of batches of one alternates the lanes.
TEST(BatchWriterLaneTest, FullInteractiveBatchesKeepAPlaceForBackgroundWork) {
  using Lane = RecordingWriter::Writer::Lane;
  RecordingWriter w(/*max_batch=*/3, /*max_background=*/2);
  w.SubmitHeld(0);
  w.Submit(101, Lane::kBackground);
  w.Submit(102, Lane::kBackground);
  for (int i = 1; i <= 6; ++i) w.Submit(i, Lane::kInteractive);
  w.Release();
  ASSERT_TRUE(w.WaitAnswered(9));
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(::testing::ElementsAre(0),
                                                  ::testing::ElementsAre(1, 2, 101),
                                                  ::testing::ElementsAre(3, 4, 102),
                                                  ::testing::ElementsAre(5, 6)));
}

TEST(BatchWriterLaneTest, BatchesOfOneAlternateTheLanesWhileBothWait) {
  using Lane = RecordingWriter::Writer::Lane;
  RecordingWriter w(/*max_batch=*/1);
  w.SubmitHeld(0);
  w.Submit(101, Lane::kBackground);
  w.Submit(102, Lane::kBackground);
  for (int i = 1; i <= 3; ++i) w.Submit(i, Lane::kInteractive);
  w.Release();
  ASSERT_TRUE(w.WaitAnswered(6));
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(
                               ::testing::ElementsAre(0), ::testing::ElementsAre(101),
                               ::testing::ElementsAre(1), ::testing::ElementsAre(102),
                               ::testing::ElementsAre(2), ::testing::ElementsAre(3)));
}

TEST(BatchWriterLingerTest, LingeringRequestsWaitForAnInteractiveOneAndShareItsBatch) {
  using Lane = RecordingWriter::Writer::Lane;
  RecordingWriter w(/*max_batch=*/8);
  w.SubmitHeld(0);
  w.Submit(1, Lane::kLingering);
  w.Submit(2, Lane::kLingering);
  w.Submit(101, Lane::kBackground);  // does not end the wait either
  w.Release();
  // The writer is back for the next batch, and finds only these: it waits.
  ASSERT_TRUE(w.WaitAnswered(1));
  w.Submit(3, Lane::kInteractive);
  ASSERT_TRUE(w.WaitAnswered(5));
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(::testing::ElementsAre(0),
                                                  ::testing::ElementsAre(1, 2, 3, 101)));
}

TEST(BatchWriterLingerTest, AFullBatchOfLingeringRequestsIsWrittenAtOnce) {
  RecordingWriter w(/*max_batch=*/3);
  for (int i = 1; i <= 3; ++i) w.Submit(i, RecordingWriter::Writer::Lane::kLingering);
  ASSERT_TRUE(w.WaitAnswered(3));
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(::testing::ElementsAre(1, 2, 3)));
}

TEST(BatchWriterLingerTest, TheDestructorWritesWhatLingers) {
  RecordingWriter w(/*max_batch=*/8);
  w.SubmitHeld(0);
  w.Submit(1, RecordingWriter::Writer::Lane::kLingering);
  w.Release();
  ASSERT_TRUE(w.WaitAnswered(1));  // the writer is back, lingering over 1
  w.Stop();
  EXPECT_EQ(w.answered(), 2);
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(::testing::ElementsAre(0),
                                                  ::testing::ElementsAre(1)));
}

TEST(BatchWriterLingerTest, ALingeringRequestAloneIsWrittenWhenTheLingerEnds) {
  RecordingWriter w(/*max_batch=*/8, /*max_background=*/8, absl::Milliseconds(1));
  w.Submit(1, RecordingWriter::Writer::Lane::kLingering);
  ASSERT_TRUE(w.WaitAnswered(1));
  EXPECT_THAT(w.batches(), ::testing::ElementsAre(::testing::ElementsAre(1)));
}

}  // namespace
}  // namespace hart

namespace hart {
namespace {

// Verifies that the writer goes on to the next batch while a callback of
// the previous one still runs, that callbacks keep submission order off the
// writer thread, and that destruction answers everything queued.
TEST(BatchWriterAnsweringTest, TheWriterWritesTheNextBatchWhileTheLastIsAnswered) {
  using Writer = BatchWriter<int, int>;
  absl::Mutex mu;
  std::vector<int> written;
  std::vector<int> answered;
  std::thread::id writer_thread;
  absl::Notification second_written;
  absl::Notification release_first_answer;
  {
    Writer writer(
        [&](std::span<int> batch) -> absl::StatusOr<std::vector<int>> {
          absl::MutexLock lock(&mu);
          writer_thread = std::this_thread::get_id();
          written.insert(written.end(), batch.begin(), batch.end());
          if (std::find(batch.begin(), batch.end(), 2) != batch.end()) second_written.Notify();
          return std::vector<int>(batch.begin(), batch.end());
        },
        /*max_batch=*/8);
    auto done = [&](absl::StatusOr<int> r) {
      ASSERT_TRUE(r.ok());
      if (*r == 1) release_first_answer.WaitForNotification();
      absl::MutexLock lock(&mu);
      EXPECT_NE(std::this_thread::get_id(), writer_thread);
      answered.push_back(*r);
    };
    writer.Submit(1, done);
    // Written while the answer to 1 is held: the writer does not wait for it.
    ASSERT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return !written.empty();
    }));
    writer.Submit(2, done);
    writer.Submit(3, done);
    // Not asserted: a writer held by the answer must still be released.
    EXPECT_TRUE(second_written.WaitForNotificationWithTimeout(absl::Seconds(10)));
    {
      absl::MutexLock lock(&mu);
      EXPECT_TRUE(answered.empty());
    }
    release_first_answer.Notify();
  }  // the destructor answers 2 and 3 before it returns
  EXPECT_THAT(answered, ::testing::ElementsAre(1, 2, 3));
  EXPECT_THAT(written, ::testing::ElementsAre(1, 2, 3));
}

// AwaitAfterCommits waits while a batch taken before it is still being
// written or has yet to pass the hook, and then returns; a batch that
// failed (whose hook never runs) counts as passed.
TEST(BatchWriterAnsweringTest, AwaitAfterCommitsWaitsForTheHookOfEveryBatchTakenBefore) {
  using Writer = BatchWriter<int, int>;
  absl::Notification in_write, release_write, in_hook, release_hook;
  std::atomic<int> hooked{0};
  Writer writer(
      [&](std::span<int> batch) -> absl::StatusOr<std::vector<int>> {
        if (batch.front() < 0) return absl::UnavailableError("disk gone");
        if (batch.front() == 1) {
          in_write.Notify();
          release_write.WaitForNotification();
        }
        return std::vector<int>(batch.begin(), batch.end());
      },
      /*max_batch=*/8, [&](std::span<const int> requests, std::span<const int>) {
        if (requests.front() == 1) {
          in_hook.Notify();
          release_hook.WaitForNotification();
        }
        ++hooked;
      });
  writer.AwaitAfterCommits();  // nothing taken: returns
  writer.Submit(1, [](absl::StatusOr<int>) {});
  ASSERT_TRUE(in_write.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::Notification returned;
  std::thread waiter([&] {
    writer.AwaitAfterCommits();
    EXPECT_EQ(hooked.load(), 1) << "returned before the hook ran";
    returned.Notify();
  });
  // A correct wait never ends here; a wrong one ends at once, and these
  // bounds only give it time to.
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(200)))
      << "returned while the batch was being written";
  release_write.Notify();
  ASSERT_TRUE(in_hook.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(200)))
      << "returned before the batch's hook ran";
  release_hook.Notify();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(30)));
  waiter.join();

  absl::Notification failed;
  writer.Submit(-1, [&](absl::StatusOr<int> r) {
    EXPECT_FALSE(r.ok());
    failed.Notify();
  });
  ASSERT_TRUE(failed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  writer.AwaitAfterCommits();  // a failed batch passed too (else: the test's timeout)
  EXPECT_EQ(hooked.load(), 1);
}

}  // namespace
}  // namespace hart
