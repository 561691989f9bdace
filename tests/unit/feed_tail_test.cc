#include "broker/feed/feed_tail.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include <google/protobuf/util/message_differencer.h>

#include "absl/synchronization/notification.h"
#include "broker/feed/feed_cursor.h"
#include "broker/feed/feed_placement.h"
#include "broker/feed/seal_begins.h"
#include "broker/intake/sealer.h"
#include "broker/views/delivery_message.h"
#include "tests/support/referral_factory.h"

namespace hart::feed {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using hart::testing::ReferralFactory;
using hart::testing::TempDir;
using hart::testing::TestNow;

// One committed intake whose deliveries went on the feeds at `sequences`
// (agency, sequence), as the writer queue hands it to the hook.
struct Committed {
  std::vector<WriteRequest> requests;
  std::vector<absl::StatusOr<WriteResult>> results;
};

void AddIntake(Committed& batch, const std::string& referral_id,
               const std::vector<std::pair<std::string, uint64_t>>& sequences) {
  NewReferral item;
  item.referral.referral_id = referral_id;
  item.referral.accepted_at = TestNow() + absl::Nanoseconds(1500);
  item.referral.priority = v1::URGENT;
  auto intake = std::make_shared<v1::Intake>();
  intake->set_careline_report_id("CR-" + referral_id);
  item.opened_intake = intake;
  CreateReferralResult created;
  for (const auto& [agency, sequence] : sequences) {
    DeliveryRecord d;
    d.delivery_id = absl::StrCat(referral_id, "-", agency);
    d.referral_id = referral_id;
    d.agency_id = agency;
    d.ack_deadline = TestNow() + absl::Hours(1) + absl::Nanoseconds(700);
    item.deliveries.push_back(d);
    created.feed_appends.push_back({d.delivery_id, agency, sequence, sequence * 10});
  }
  batch.requests.push_back(std::move(item));
  batch.results.push_back(WriteResult{std::move(created)});
}

std::vector<uint64_t> Sequences(const std::optional<std::vector<CursorEvent>>& events) {
  std::vector<uint64_t> out;
  if (events) {
    for (const auto& e : *events) out.push_back(e.entry.sequence);
  }
  return out;
}

class FeedTailTest : public ::testing::Test {
 protected:
  void Remember(const Committed& batch) { tail_.Remember(batch.requests, batch.results); }

  ManualClock clock_{TestNow()};
  FeedTail tail_{clock_, {.capacity = 8, .max_age = absl::Seconds(10)}};
};

// Verifies that a cursor is served from the event after its position, a
// page at most, and only while the tail holds that next event.
TEST_F(FeedTailTest, ServesTheEventsAfterAPositionOnlyWhenItHoldsTheNextOne) {
  Committed batch;
  AddIntake(batch, "r1", {{"a", 1}, {"b", 7}});
  AddIntake(batch, "r2", {{"a", 2}});
  AddIntake(batch, "r3", {{"a", 3}});
  Remember(batch);
  EXPECT_THAT(Sequences(tail_.After("a", 0, 64)), ElementsAre(1, 2, 3));
  EXPECT_THAT(Sequences(tail_.After("a", 1, 1)), ElementsAre(2));
  EXPECT_THAT(Sequences(tail_.After("b", 6, 64)), ElementsAre(7));
  EXPECT_FALSE(tail_.After("a", 3, 64));  // nothing after the tail: the store says
  EXPECT_FALSE(tail_.After("b", 5, 64));  // 6 is not held
  EXPECT_FALSE(tail_.After("c", 0, 64));
  EXPECT_EQ(tail_.size(), 4u);
}

// Verifies what a kept event carries: the feed reference, the audit index,
// times at the store's precision, the priority and the shared intake.
TEST_F(FeedTailTest, AKeptEventReadsAsTheStoredOne) {
  Committed batch;
  AddIntake(batch, "r1", {{"a", 4}});
  Remember(batch);
  auto events = tail_.After("a", 3, 64);
  ASSERT_TRUE(events);
  const CursorEvent& e = events->front();
  EXPECT_EQ(e.entry.delivery.transport_ref, "feed:a#4");
  EXPECT_EQ(e.entry.audit_index, 40u);
  EXPECT_EQ(e.entry.appended_at, absl::FromUnixMicros(absl::ToUnixMicros(TestNow()) + 1));
  EXPECT_EQ(e.entry.delivery.ack_deadline, TestNow() + absl::Hours(1));
  EXPECT_EQ(e.entry.priority, v1::URGENT);
  EXPECT_FALSE(e.entry.sealed);
  EXPECT_EQ(e.intake().careline_report_id(), "CR-r1");
  EXPECT_EQ(e.opened_intake, std::get<NewReferral>(batch.requests[0]).opened_intake);
}

// Verifies that a sequence gap (another replica's append) starts the
// agency's tail afresh, and that an append the tail cannot keep (the
// dispatcher's) drops only that agency's tail.
TEST_F(FeedTailTest, AGapOrAnAppendItCannotKeepStartsTheAgencyAfresh) {
  Committed first;
  AddIntake(first, "r1", {{"a", 1}, {"b", 1}});
  AddIntake(first, "r2", {{"a", 2}, {"b", 2}});
  Remember(first);
  Committed gap;
  AddIntake(gap, "r3", {{"a", 5}});
  Remember(gap);
  EXPECT_FALSE(tail_.After("a", 0, 64));
  EXPECT_THAT(Sequences(tail_.After("a", 4, 64)), ElementsAre(5));

  Committed appended;
  appended.requests.push_back(FeedAppendWrite{});
  appended.results.push_back(WriteResult{FeedAppendResult{"d", "b", 3}});
  Remember(appended);
  EXPECT_FALSE(tail_.After("b", 0, 64));
  EXPECT_FALSE(tail_.After("b", 2, 64));
  EXPECT_THAT(Sequences(tail_.After("a", 4, 64)), ElementsAre(5));
}

// Verifies that an intake without its opened intake, or an append whose
// audit index is unknown, is not served from memory.
TEST_F(FeedTailTest, KeepsNothingItCannotServeWhole) {
  Committed batch;
  AddIntake(batch, "r1", {{"a", 1}});
  std::get<NewReferral>(batch.requests[0]).opened_intake = nullptr;
  AddIntake(batch, "r2", {{"b", 1}});
  std::get<CreateReferralResult>(*batch.results[1]).feed_appends[0].audit_index.reset();
  Remember(batch);
  EXPECT_FALSE(tail_.After("a", 0, 64));
  EXPECT_FALSE(tail_.After("b", 0, 64));
  EXPECT_EQ(tail_.size(), 0u);
}

// Verifies that a committed change to a stored referral (a seal, a
// supplement) or an escalation step empties the tail, and that an item
// refused on its own keeps nothing.
TEST_F(FeedTailTest, AChangeToAStoredReferralEmptiesIt) {
  Committed batch;
  AddIntake(batch, "r1", {{"a", 1}});
  batch.requests.push_back(NewReferral{});
  batch.results.push_back(absl::AlreadyExistsError("refused on its own"));
  Remember(batch);
  EXPECT_EQ(tail_.size(), 1u);
  Committed change;
  change.requests.push_back(ReferralChange{});
  change.results.push_back(WriteResult{ReferralChanged{}});
  Remember(change);
  EXPECT_FALSE(tail_.After("a", 0, 64));
  EXPECT_EQ(tail_.size(), 0u);

  Remember(batch);
  Committed step;
  step.requests.push_back(EscalationWrite{});
  step.results.push_back(WriteResult{EscalationApplied{}});
  Remember(step);
  EXPECT_EQ(tail_.size(), 0u);
}

// Verifies the bounds: the oldest events go past the capacity (across
// agencies), and events past the age limit are not served.
TEST_F(FeedTailTest, KeepsAtMostItsCapacityAndNothingOlderThanItsAge) {
  Committed batch;
  for (uint64_t s = 1; s <= 6; ++s) AddIntake(batch, absl::StrCat("a", s), {{"a", s}});
  for (uint64_t s = 1; s <= 4; ++s) AddIntake(batch, absl::StrCat("b", s), {{"b", s}});
  Remember(batch);
  EXPECT_EQ(tail_.size(), 8u);
  EXPECT_FALSE(tail_.After("a", 0, 64));  // 1 and 2 went first
  EXPECT_THAT(Sequences(tail_.After("a", 2, 64)), ElementsAre(3, 4, 5, 6));
  EXPECT_THAT(Sequences(tail_.After("b", 0, 64)), ElementsAre(1, 2, 3, 4));

  clock_.Advance(absl::Seconds(9));
  Committed later;
  AddIntake(later, "b5", {{"b", 5}});
  Remember(later);
  clock_.Advance(absl::Seconds(2));  // the first batch is 11 s old, the second 2 s
  EXPECT_FALSE(tail_.After("a", 2, 64));
  EXPECT_FALSE(tail_.After("b", 0, 64));
  EXPECT_THAT(Sequences(tail_.After("b", 4, 64)), ElementsAre(5));
  EXPECT_EQ(tail_.size(), 1u);
}

// Verifies against a real store and the real intake path (routing, feed
// placement, sealing, the writer queue's hook) that a cursor served from
// the tail yields what a cursor reading the store yields: the same
// events, the same intake, the same message for the partner.
TEST(FeedTailStoreTest, ACursorServedFromTheTailSeesWhatTheStoreHolds) {
  TempDir dir;
  ManualClock clock(TestNow() + absl::Nanoseconds(123456));
  auto store = OpenSqliteStore(dir.path()).value();
  FeedTail tail(clock);
  std::set<std::string> agencies;
  for (const auto& agency : hart::testing::ConnecticutConfig().agencies()) {
    agencies.insert(agency.id());
  }
  ReferralFactory factory(*store, clock, FeedPlacement(agencies),
                          [&tail](auto requests, auto results) {
                            tail.Remember(requests, results);
                          });
  for (const char* suffix : {"-1", "-2", "-3"}) {
    ASSERT_TRUE(factory.Submit(ReferralFactory::Example("school-sex-trafficking-hartford", suffix))
                    .ok());
    clock.Advance(absl::Milliseconds(3));
  }
  const ViewBuilder views(hart::testing::ConnecticutConfig());
  for (const char* agency : {"hartford-pd", "csao"}) {
    SCOPED_TRACE(agency);
    FeedCursor from_tail(*store, agency, 0, 64, &tail);
    FeedCursor from_store(*store, agency, 0, 64);
    auto kept = from_tail.NextPage();
    auto read = from_store.NextPage();
    ASSERT_TRUE(kept.ok());
    ASSERT_TRUE(read.ok());
    ASSERT_EQ(kept->size(), 3u);
    ASSERT_EQ(read->size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      const CursorEvent& k = (*kept)[i];
      const CursorEvent& r = (*read)[i];
      EXPECT_NE(k.opened_intake, nullptr);  // served from memory
      EXPECT_EQ(r.opened_intake, nullptr);
      EXPECT_EQ(k.entry.sequence, r.entry.sequence);
      EXPECT_EQ(k.entry.audit_index, r.entry.audit_index);
      EXPECT_EQ(k.entry.appended_at, r.entry.appended_at);
      EXPECT_EQ(k.entry.priority, r.entry.priority);
      EXPECT_EQ(k.entry.delivery.transport_ref, r.entry.delivery.transport_ref);
      EXPECT_TRUE(MessageDifferencer::Equals(k.intake(), r.intake()));
      const auto sent = BuildDeliveryMessage(views, k.entry.delivery, &k.intake(),
                                             k.entry.priority, false);
      const auto stored = BuildDeliveryMessage(views, r.entry.delivery, &r.intake(),
                                               r.entry.priority, false);
      EXPECT_TRUE(MessageDifferencer::Equals(sent, stored))
          << sent.ShortDebugString() << "\n" << stored.ShortDebugString();
    }
    EXPECT_EQ(from_tail.position(), 3u);
    EXPECT_TRUE(from_tail.NextPage()->empty());  // past the tail: the store, which has no more
  }
}

// A real store whose new referrals go on hartford-pd's feed with the
// intake, the tail following the writer queue's commits.
class FeedTailOnAStoreTest : public ::testing::Test {
 protected:
  FeedTailOnAStoreTest()
      : clock_(TestNow()),
        store_(OpenSqliteStore(dir_.path()).value()),
        tail_(clock_),
        factory_(*store_, clock_, FeedPlacement({"hartford-pd"}),
                 [this](auto requests, auto results) {
                   if (hold_.entered != nullptr && !hold_.entered->HasBeenNotified()) {
                     held_referral_ = std::get<NewReferral>(requests[0]).referral.referral_id;
                     hold_.entered->Notify();
                     hold_.release->WaitForNotification();
                   }
                   tail_.Remember(requests, results);
                 }) {}

  absl::StatusOr<v1::Receipt> Submit(const char* suffix) {
    return factory_.Submit(ReferralFactory::Example("school-sex-trafficking-hartford", suffix));
  }

  // Holds the next commit's hook (on the answering thread) until released.
  struct Hold {
    absl::Notification* entered = nullptr;
    absl::Notification* release = nullptr;
  };

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  FeedTail tail_;
  Hold hold_;
  std::string held_referral_;
  ReferralFactory factory_;
};

// What a subscription takes on its own thread, without the store
// executor: only the tail's events, and only once the cursor has sent its
// redeliveries (which are read from the store).
TEST_F(FeedTailOnAStoreTest, ACursorTakesAPageFromTheTailOnlyPastItsRedeliveries) {
  ASSERT_TRUE(Submit("-1").ok());
  ASSERT_TRUE(Submit("-2").ok());
  FeedCursor cursor(*store_, "hartford-pd", 0, 64, &tail_);
  EXPECT_FALSE(cursor.NextPageFromTail().has_value()) << "redeliveries come first, from the store";
  auto first = cursor.NextPage();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_FALSE(cursor.NextPageFromTail().has_value()) << "the tail holds nothing after 2";
  ASSERT_TRUE(Submit("-3").ok());
  auto kept = cursor.NextPageFromTail();
  ASSERT_TRUE(kept.has_value());
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ(kept->front().entry.sequence, 3u);
  EXPECT_NE(kept->front().opened_intake, nullptr);
  EXPECT_EQ(cursor.position(), 3u);
}

// A seal does not pass the writer queue whose commits the tail follows: the
// sealer clears the tail before it writes, so a subscriber behind the head
// is sent the sealed referral without its facts, never the intake the tail
// kept in the clear.
TEST_F(FeedTailOnAStoreTest, ASealedReferralIsNeverServedInTheClearFromTheTail) {
  auto receipt = Submit("-1");
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  ASSERT_EQ(tail_.size(), 1u);
  hart::testing::FakeRandom random;
  IdGenerator ids(random);
  Sealer::Hooks hooks;
  hooks.before = [this](const std::string&) { tail_.Clear(); };
  Sealer sealer(*store_, factory_.geography(), clock_, ids, std::move(hooks));
  ASSERT_TRUE(sealer.Seal(receipt->referral_id(), "HHD-FA-26-0001", "supervisor/x").ok());
  EXPECT_EQ(tail_.size(), 0u);

  FeedCursor cursor(*store_, "hartford-pd", 0, 64, &tail_);
  auto page = cursor.NextPage();
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  const CursorEvent& event = page->front();
  EXPECT_EQ(event.opened_intake, nullptr) << "read from the store, not the tail";
  EXPECT_TRUE(event.entry.sealed);
  EXPECT_FALSE(event.intake().has_child()) << "no facts of a sealed referral";
}

// The tail hears of a commit on the writer queue's answering thread, after
// the commit: a seal that begins in between (the referral is already
// readable) waits for the hook, or the hook would put the sealed intake
// back after the seal cleared the tail.
TEST_F(FeedTailOnAStoreTest, ASealWaitsForTheTailToHearOfTheReferralsCommit) {
  absl::Notification entered, release;
  hold_ = {&entered, &release};
  absl::StatusOr<v1::Receipt> receipt;
  std::thread submitter([&] { receipt = Submit("-1"); });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)));

  hart::testing::FakeRandom random;
  IdGenerator ids(random);
  RecentSeals seals;
  Sealer::Hooks hooks;
  hooks.before = [this, &seals](const std::string& referral_id) {
    SealsBegin({&factory_.writes(), &tail_, &seals}, {referral_id});  // as the broker does
  };
  Sealer sealer(*store_, factory_.geography(), clock_, ids, std::move(hooks));
  absl::Notification sealed;
  absl::Status seal_status;
  std::thread sealing([&] {
    seal_status = sealer.Seal(held_referral_, "HHD-FA-26-0002", "supervisor/x").status();
    sealed.Notify();
  });
  // A correct seal never ends while the hook is held; a wrong one ends at
  // once and this bound only gives it time to.
  EXPECT_FALSE(sealed.WaitForNotificationWithTimeout(absl::Milliseconds(300)))
      << "the seal went ahead before the tail heard of the referral's commit";
  release.Notify();
  sealing.join();
  submitter.join();
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  ASSERT_TRUE(seal_status.ok()) << seal_status;
  EXPECT_EQ(tail_.size(), 0u) << "the tail kept the sealed intake";

  FeedCursor cursor(*store_, "hartford-pd", 0, 64, &tail_);
  auto page = cursor.NextPage();
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ(page->front().opened_intake, nullptr) << "served from the tail";
  EXPECT_FALSE(page->front().intake().has_child()) << "facts of a sealed referral";
}

}  // namespace
}  // namespace hart::feed
