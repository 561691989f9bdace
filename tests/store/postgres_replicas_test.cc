// What several brokers on one PostgreSQL database rely on, with two stores
// open on the same database at once (two replicas): one leader at a time,
// claims that never overlap, per-agency feed sequences and the audit tree
// without gap or fork under concurrent writers, and the NOTIFY hints each
// replica's commits send the others (FollowOtherReplicas).
#include <algorithm>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "broker/audit/audit_entry.h"
#include "broker/audit/merkle_tree.h"
#include "broker/common/crypto_random.h"
#include "broker/common/secret_file.h"
#include "broker/crypto/key_ring.h"
#include "broker/store/postgres/pg_conn.h"
#include "broker/store/store_factory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/store/conformance_records.h"
#include "tests/store/reference_tree.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_support.h"

namespace hart::conformance {
namespace {

// Records what a follower hands over, as text ("work", "escalated",
// "feeds:a@3,b@1" with each feed's new head, "b@?" for one without, or
// "feeds:*" for any feed; "sealed:ID,ID" or "sealed:*"), for bounded waits.
class SignalLog {
 public:
  ReplicaSignalHandlers Handlers() {
    ReplicaSignalHandlers h;
    h.feeds_grew = [this](const std::vector<FeedGrowth>& feeds) {
      std::vector<std::string> listed;
      for (const FeedGrowth& f : feeds) {
        listed.push_back(absl::StrCat(f.agency, "@", f.head ? absl::StrCat(*f.head) : "?"));
      }
      Add(feeds.empty() ? "feeds:*" : "feeds:" + absl::StrJoin(listed, ","));
    };
    h.work_added = [this] { Add("work"); };
    h.escalated = [this] { Add("escalated"); };
    h.referrals_sealed = [this](const std::vector<std::string>& referral_ids) {
      Add(referral_ids.empty() ? "sealed:*" : "sealed:" + absl::StrJoin(referral_ids, ","));
    };
    return h;
  }
  // Waits up to 30 s for `what` at or after position `from`; its position.
  std::optional<size_t> WaitFor(const std::string& what, size_t from = 0) {
    std::optional<size_t> found;
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (size_t i = from; i < entries_.size(); ++i) {
        if (entries_[i] == what) {
          found = i;
          return true;
        }
      }
      return false;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&seen), absl::Seconds(30));
    return found;
  }
  std::vector<std::string> Entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  void Add(std::string entry) {
    absl::MutexLock lock(&mu_);
    entries_.push_back(std::move(entry));
  }
  absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
};

class PostgresReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    auto database = server_->CreateDatabase("replicas");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *database;
    auto password = ReadSecretFile(server_->password_file());
    ASSERT_TRUE(password.ok()) << password.status();
    password_ = *password;
    auto keys = crypto::KeyRing::Load(keys_dir_.path() + "/keys", true, random_);
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::move(*keys);
    a_ = Open("broker-a");
    b_ = Open("broker-b");
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }

  void TearDown() override {
    followers_.clear();  // they call into log_
    a_.reset();
    b_.reset();
    if (server_ != nullptr) (void)server_->DropDatabase(database_);
  }

  StoreOpenOptions Options(const std::string& broker_id) {
    StoreOpenOptions options;
    options.backend = "postgres";
    options.postgres.conninfo = server_->ConnectionString(database_);
    options.postgres.password = password_;
    options.postgres.pool_size = 4;
    options.broker_id = broker_id;
    options.keys = keys_.get();
    return options;
  }

  // Follows the other replicas' commits as `broker_id` into log_ and waits
  // until it listens (its first "everything may have changed"); the
  // position in log_ after that, or nothing (a test failure) if it never
  // connected.
  std::optional<size_t> Follow(const std::string& broker_id) {
    auto follower = FollowOtherReplicas(Options(broker_id), log_.Handlers());
    EXPECT_TRUE(follower.ok()) << follower.status();
    if (!follower.ok() || *follower == nullptr) return std::nullopt;
    followers_.push_back(std::move(*follower));
    auto listening = log_.WaitFor("escalated");
    EXPECT_TRUE(listening.has_value()) << "the follower never connected";
    if (!listening.has_value()) return std::nullopt;
    return *listening + 1;
  }

  std::unique_ptr<Store> Open(const std::string& broker_id) {
    auto store = OpenStore(Options(broker_id));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string database_;
  std::string password_;
  testing::TempDir keys_dir_;
  CryptoRandom random_;
  std::unique_ptr<crypto::KeyRing> keys_;
  std::unique_ptr<Store> a_;
  std::unique_ptr<Store> b_;
  SignalLog log_;
  std::vector<std::unique_ptr<ReplicaSignals>> followers_;  // destroyed before log_
};

TEST_F(PostgresReplicasTest, OneLeaderAtATimeAndTheLeasePassesOnOnlyWhenItExpires) {
  const absl::Duration lease = absl::Seconds(10);
  EXPECT_TRUE(*a_->TryLead(kT0, kT0 + lease));
  EXPECT_FALSE(*b_->TryLead(kT0 + absl::Seconds(1), kT0 + absl::Seconds(1) + lease));
  // The leader renews; the other still waits.
  EXPECT_TRUE(*a_->TryLead(kT0 + absl::Seconds(5), kT0 + absl::Seconds(5) + lease));
  EXPECT_FALSE(*b_->TryLead(kT0 + absl::Seconds(12), kT0 + absl::Seconds(12) + lease));
  // The leader stops renewing (killed, paused): the lease expires, b takes it.
  const absl::Time expired = kT0 + absl::Seconds(5) + lease;
  EXPECT_TRUE(*b_->TryLead(expired, expired + lease));
  EXPECT_FALSE(*a_->TryLead(expired + absl::Seconds(1), expired + absl::Seconds(1) + lease));
}

TEST_F(PostgresReplicasTest, ConcurrentClaimsFromTwoBrokersNeverTakeTheSameDelivery) {
  std::vector<std::string> agencies;
  for (int i = 0; i < 60; ++i) agencies.push_back(absl::StrCat("agency-", i));
  NewReferral referral = Referral("fan", agencies);
  ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  std::vector<DeliveryRecord> by_a, by_b;
  auto drain = [](Store& store, std::vector<DeliveryRecord>& into) {
    for (;;) {
      auto batch = store.ClaimDueDeliveries(kT0, kT0 + absl::Minutes(1), 3, {});
      ASSERT_TRUE(batch.ok()) << batch.status();
      if (batch->empty()) return;
      into.insert(into.end(), batch->begin(), batch->end());
    }
  };
  std::thread ta([&] { drain(*a_, by_a); });
  std::thread tb([&] { drain(*b_, by_b); });
  ta.join();
  tb.join();
  std::set<std::string> claimed;
  for (const auto& d : by_a) {
    EXPECT_EQ(d.claim_owner, "broker-a");
    EXPECT_TRUE(claimed.insert(d.delivery_id).second) << d.delivery_id << " claimed twice";
  }
  for (const auto& d : by_b) {
    EXPECT_EQ(d.claim_owner, "broker-b");
    EXPECT_TRUE(claimed.insert(d.delivery_id).second) << d.delivery_id << " claimed twice";
  }
  EXPECT_EQ(claimed.size(), agencies.size());
}

TEST_F(PostgresReplicasTest, FeedSequencesAndTheAuditTreeStayGapFreeUnderTwoWriters) {
  // 40 referrals, each with a delivery to the same agency, appended to its
  // feed by both brokers at once, one append per call.
  constexpr int kReferrals = 40;
  for (int i = 0; i < kReferrals; ++i) {
    NewReferral referral = Referral(absl::StrCat("r", i), {"task-force"});
    ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  }
  auto append = [&](Store& store, int parity) {
    for (int i = parity; i < kReferrals; i += 2) {
      const std::string referral_id = ReferralId(absl::StrCat("r", i));
      FeedAppend item{DeliveryId(absl::StrCat("r", i), "task-force"), "task-force",
                      Event("delivery.sent", referral_id)};
      auto appended = store.AppendToFeeds({&item, 1}, kT0);
      ASSERT_TRUE(appended.ok()) << appended.status();
    }
  };
  std::thread ta([&] { append(*a_, 0); });
  std::thread tb([&] { append(*b_, 1); });
  ta.join();
  tb.join();

  auto feed = b_->ReadFeed("task-force", 0, 1000);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->size(), static_cast<size_t>(kReferrals));
  std::set<std::string> seen;
  for (size_t i = 0; i < feed->size(); ++i) {
    EXPECT_EQ((*feed)[i].sequence, i + 1) << "feed gap or disorder";
    EXPECT_TRUE(seen.insert((*feed)[i].delivery.delivery_id).second);
  }
  EXPECT_EQ(*a_->FeedHead("task-force"), static_cast<uint64_t>(kReferrals));

  // One tree: its head as either broker reads it is the RFC 6962 root of
  // every leaf, in index order, each the canonical hash of its event.
  auto head_a = a_->AuditHead();
  auto head_b = b_->AuditHead();
  ASSERT_TRUE(head_a.ok() && head_b.ok());
  EXPECT_EQ(head_a->size, head_b->size);
  EXPECT_EQ(head_a->root_hash, head_b->root_hash);
  std::vector<std::string> leaves;
  for (uint64_t start = 0;;) {
    AuditQuery query;
    query.start_index = start;
    query.limit = 500;
    auto events = a_->ListAuditEvents(query);
    ASSERT_TRUE(events.ok()) << events.status();
    if (events->empty()) break;
    for (const auto& e : *events) {
      ASSERT_EQ(e.index, leaves.size()) << "audit gap";
      EXPECT_EQ(e.leaf_hash, audit::EntryLeafHash(audit::ToEntry(e.index, e)));
      leaves.push_back(e.leaf_hash);
    }
    start = leaves.size();
  }
  ASSERT_EQ(leaves.size(), head_a->size);
  InMemoryLeaves reference(leaves);
  auto root = audit::SubtreeRoot(reference, 0, leaves.size());
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, head_a->root_hash);
}

// Replica A read the referral (and holds its data key in its cache) when
// replica B seals it: A's change, prepared before, must not write an intake
// back under the destroyed key.
TEST_F(PostgresReplicasTest, AChangeFromAReplicaThatReadBeforeAnotherSealedIsRefused) {
  NewReferral referral = Referral("sealed-elsewhere", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  auto before = a_->GetReferral(ReferralId("sealed-elsewhere"));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(b_->SealReferral(Seal(ReferralId("sealed-elsewhere"), kT0 + absl::Hours(1))).ok());
  const absl::Status change =
      a_->ApplyReferralChange(ChangeOf(*before, kT0 + absl::Hours(2)));
  EXPECT_FALSE(change.ok());
  EXPECT_TRUE(absl::IsAborted(change) || absl::IsFailedPrecondition(change)) << change;
  auto after = b_->GetReferral(ReferralId("sealed-elsewhere"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->intake.ByteSizeLong(), 0u);
  EXPECT_TRUE(after->sealed_at.has_value());
}

// Replicas are told of a new key-encryption key one at a time (SIGHUP). One
// not told yet, with a key ring of its own as a separate process has, still
// opens what the others wrapped with the new key: new referrals and those
// the rotation rewrapped.
TEST_F(PostgresReplicasTest, AReplicaNotYetToldOfANewKeyOpensWhatTheOthersWrappedWithIt) {
  auto own_keys = crypto::KeyRing::Load(keys_dir_.path() + "/keys", false, random_);
  ASSERT_TRUE(own_keys.ok()) << own_keys.status();
  StoreOpenOptions options = Options("broker-c");
  options.keys = own_keys->get();
  auto not_told = OpenStore(options);
  ASSERT_TRUE(not_told.ok()) << not_told.status();
  const std::string first_key = (*own_keys)->active_key_id();
  NewReferral before = Referral("before-rotation", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&before, 1}).ok());
  std::ofstream(keys_dir_.path() + "/keys/kek-rotated.kek", std::ios::binary)
      << random_.Bytes(32);
  std::ofstream(keys_dir_.path() + "/keys/ACTIVE") << "kek-rotated\n";
  ASSERT_TRUE(keys_->Reload().ok());  // broker-a and broker-b are told
  NewReferral after = Referral("after-rotation", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&after, 1}).ok());
  auto rewrapped = a_->RewrapDataKeys();
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*rewrapped, 1u);  // before-rotation's
  for (const char* name : {"before-rotation", "after-rotation"}) {
    auto read = (*not_told)->GetReferral(ReferralId(name));
    ASSERT_TRUE(read.ok()) << name << ": " << read.status();
    EXPECT_GT(read->intake.ByteSizeLong(), 0u) << name;
  }
  // It still wraps new data keys with the key it was started with.
  EXPECT_EQ((*own_keys)->active_key_id(), first_key);
}

// A seal on one replica reaches the others as the referral's id, so they
// drop what they hold of its facts in memory.
TEST_F(PostgresReplicasTest, ASealOnOneReplicaIsSignalledToTheOthers) {
  const std::optional<size_t> listening = Follow("broker-b");
  ASSERT_TRUE(listening.has_value());
  NewReferral referral = Referral("sealed-and-told", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  ASSERT_TRUE(a_->SealReferral(Seal(ReferralId("sealed-and-told"), kT0 + absl::Hours(1))).ok());
  EXPECT_TRUE(log_.WaitFor("sealed:" + ReferralId("sealed-and-told"), *listening).has_value())
      << ::testing::PrintToString(log_.Entries());
}

TEST_F(PostgresReplicasTest, AnotherReplicasCommitsSignalWorkAndTheFeedsThatGrew) {
  const std::optional<size_t> listening = Follow("broker-b");
  ASSERT_TRUE(listening.has_value());
  const size_t from = *listening;

  NewReferral referral = Referral("signalled", {"task-force", "csao"});
  ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  EXPECT_TRUE(log_.WaitFor("work", from).has_value());
  std::vector<FeedAppend> appends;
  for (const char* agency : {"task-force", "csao"}) {
    appends.push_back({DeliveryId("signalled", agency), agency,
                       Event("delivery.sent", ReferralId("signalled"))});
  }
  ASSERT_TRUE(a_->AppendToFeeds(appends, kT0).ok());
  // One NOTIFY for the transaction, naming both feeds (in name order) with
  // the sequence each reached, so the follower need not read the heads.
  EXPECT_TRUE(log_.WaitFor("feeds:csao@1,task-force@1", from).has_value())
      << ::testing::PrintToString(log_.Entries());
  // Appending again changes nothing: no feed grew, no hint.
  ASSERT_TRUE(a_->AppendToFeeds(appends, kT0).ok());
  NewReferral marker = Referral("marker", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&marker, 1}).ok());
  const auto both_feeds = log_.WaitFor("feeds:csao@1,task-force@1", from);
  ASSERT_TRUE(both_feeds.has_value());
  ASSERT_TRUE(log_.WaitFor("work", *both_feeds + 1).has_value());
  const std::vector<std::string> entries = log_.Entries();
  EXPECT_EQ(std::count(entries.begin() + from, entries.end(), "feeds:csao@1,task-force@1"), 1)
      << ::testing::PrintToString(entries);
  // The next append names the head it moved to.
  const FeedAppend next{DeliveryId("marker", "csao"), "csao",
                        Event("delivery.sent", ReferralId("marker"))};
  ASSERT_TRUE(a_->AppendToFeeds({&next, 1}, kT0).ok());
  EXPECT_TRUE(log_.WaitFor("feeds:csao@2", *both_feeds + 1).has_value())
      << ::testing::PrintToString(log_.Entries());
}

// A batch rerun item by item (one intake refused after it took a feed
// sequence) announces the head it committed, not the one it gave back.
TEST_F(PostgresReplicasTest, TheHeadAnnouncedAfterARefusedItemIsTheOneCommitted) {
  const std::optional<size_t> listening = Follow("broker-b");
  ASSERT_TRUE(listening.has_value());
  const auto placed = [](const std::string& key, const char* agency) {
    NewReferral r = Referral(key, {agency});
    r.deliveries[0].state = v1::IN_FLIGHT;
    r.deliveries[0].attempts = 1;
    r.deliveries[0].last_attempt_at = kT0;
    r.feed_appends.push_back(FeedAppendFor(r.deliveries[0]));
    return r;
  };
  // Takes task-force's sequence 1, then its delivery collides with a's.
  NewReferral colliding = placed("c", "task-force");
  colliding.deliveries[0].delivery_id = DeliveryId("a", "csao");
  colliding.feed_appends[0].delivery_id = colliding.deliveries[0].delivery_id;
  std::vector<WriteRequest> batch = {placed("a", "csao"), colliding, placed("d", "csao")};
  auto results = a_->ApplyWrites(batch);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[1].status().code(), absl::StatusCode::kAlreadyExists);
  // task-force's feed did not grow: it is not named.
  EXPECT_TRUE(log_.WaitFor("feeds:csao@2", *listening).has_value())
      << ::testing::PrintToString(log_.Entries());
  EXPECT_EQ(b_->FeedHead("csao").value_or(0), 2u);
  EXPECT_EQ(b_->FeedHead("task-force").value_or(99), 0u);
}

TEST_F(PostgresReplicasTest, AReplicaIsNotSignalledItsOwnCommits) {
  const std::optional<size_t> listening = Follow("broker-a");
  ASSERT_TRUE(listening.has_value());
  const size_t from = *listening;
  NewReferral own = Referral("own", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&own, 1}).ok());
  NewReferral other = Referral("other", {"csao"});
  ASSERT_TRUE(b_->CreateReferrals({&other, 1}).ok());
  // Notifications arrive in commit order: a's would come before b's.
  ASSERT_TRUE(log_.WaitFor("work", from).has_value());
  const std::vector<std::string> entries = log_.Entries();
  EXPECT_EQ(std::vector<std::string>(entries.begin() + from, entries.end()),
            std::vector<std::string>{"work"});
}

TEST_F(PostgresReplicasTest, AFollowerWhoseConnectionIsKilledReconnectsAndSignalsEverything) {
  const std::optional<size_t> listening = Follow("broker-b");
  ASSERT_TRUE(listening.has_value());

  pg::PgConnectOptions admin;
  admin.conninfo = server_->ConnectionString(database_);
  admin.password = password_;
  auto conn = pg::PgConn::Connect(admin);
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto killed = (*conn)->Query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND query LIKE 'LISTEN%'");
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->rows(), 1);

  // Reconnected: what was notified meanwhile is lost, so everything may
  // have changed; and later commits are signalled again.
  auto again = log_.WaitFor("feeds:*", *listening);
  ASSERT_TRUE(again.has_value()) << ::testing::PrintToString(log_.Entries());
  EXPECT_TRUE(log_.WaitFor("sealed:*", *listening).has_value());
  NewReferral referral = Referral("after", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  EXPECT_TRUE(log_.WaitFor("work", *again + 3).has_value());
}

// A stopping broker's metrics read that waits on the database (here on a
// lock; on a large backlog, on counting it) ends at the stop, CANCELLED,
// not at the statement timeout 30 s later; its connection is closed, and
// the store serves on.
TEST_F(PostgresReplicasTest, AStopEndsASnapshotReadInProgressOnTheServer) {
  NewReferral referral = Referral("counted", {"csao"});
  ASSERT_TRUE(a_->CreateReferrals({&referral, 1}).ok());
  pg::PgConnectOptions admin;
  admin.conninfo = server_->ConnectionString(database_);
  admin.password = password_;
  // It holds the lock idle in its transaction for as long as the test needs.
  admin.idle_in_transaction_timeout = absl::ZeroDuration();
  auto blocker = pg::PgConn::Connect(admin);
  ASSERT_TRUE(blocker.ok()) << blocker.status();
  pg::PgConn& lock_holder = **blocker;
  // Outside any transaction: one sees pg_stat_activity as of its start.
  auto watcher = pg::PgConn::Connect(admin);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  auto holder_pid = lock_holder.Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(holder_pid.ok()) << holder_pid.status();
  ASSERT_TRUE(lock_holder.Exec("BEGIN; LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE").ok());
  std::future<absl::Status> read;
  // Released however the test ends, before `read` is waited for: a read
  // the stop missed then ends too.
  absl::Cleanup unlock = [&lock_holder] { (void)lock_holder.Exec("ROLLBACK"); };
  read = std::async(std::launch::async, [&] { return a_->ReadOpsSnapshot(kT0).status(); });
  // The backend of the read, once it waits on the lock.
  std::optional<int64_t> reader;
  auto waiting_on_the_lock = [&] {
    auto waiting = (*watcher)->Query(
        "SELECT pid FROM pg_stat_activity WHERE pg_blocking_pids(pid) @> ARRAY[$1::int]",
        pg::PgParams().Int(holder_pid->Int(0, 0)));
    if (waiting.ok() && waiting->rows() == 1) reader = waiting->Int(0, 0);
    return reader.has_value();
  };
  ASSERT_TRUE(testing::WaitFor(waiting_on_the_lock));
  a_->StopOpsSnapshotReads();
  ASSERT_EQ(read.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the read went on after the stop";
  EXPECT_EQ(read.get(), OpsSnapshotReadsStopped());
  auto gone = [&] {
    auto left = (*watcher)->Query("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1::int",
                                  pg::PgParams().Int(*reader));
    return left.ok() && left->Int(0, 0) == 0;
  };
  EXPECT_TRUE(testing::WaitFor(gone)) << "the cancelled read's connection was kept";
  EXPECT_EQ(a_->ReadOpsSnapshot(kT0).status(), OpsSnapshotReadsStopped());
  std::move(unlock).Invoke();
  EXPECT_TRUE(a_->GetDelivery(referral.deliveries[0].delivery_id).ok());
}

}  // namespace
}  // namespace hart::conformance
