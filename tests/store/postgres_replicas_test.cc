// What several brokers on one PostgreSQL database rely on, with two stores
// open on the same database at once (two replicas): one leader at a time,
// claims that never overlap, per-agency feed sequences and the audit tree
// without gap or fork under concurrent writers.
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "broker/audit/audit_entry.h"
#include "broker/audit/merkle_tree.h"
#include "broker/common/crypto_random.h"
#include "broker/common/secret_file.h"
#include "broker/crypto/key_ring.h"
#include "broker/store/store_factory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/store/conformance_records.h"
#include "tests/store/reference_tree.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_support.h"

namespace hart::conformance {
namespace {

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
    a_.reset();
    b_.reset();
    if (server_ != nullptr) (void)server_->DropDatabase(database_);
  }

  std::unique_ptr<Store> Open(const std::string& broker_id) {
    StoreOpenOptions options;
    options.backend = "postgres";
    options.postgres.conninfo = server_->ConnectionString(database_);
    options.postgres.password = password_;
    options.postgres.pool_size = 4;
    options.broker_id = broker_id;
    options.keys = keys_.get();
    auto store = OpenStore(options);
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
      auto batch = store.ClaimDueDeliveries(kT0, kT0 + absl::Minutes(1), 3);
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

}  // namespace
}  // namespace hart::conformance
