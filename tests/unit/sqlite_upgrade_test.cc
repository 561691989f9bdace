// Stores made by an older broker: each test takes a store back to an older
// schema by hand and checks what the upgrade on the next open keeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/audit/audit_tree_writer.h"
#include "broker/common/time_util.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/store_factory.h"
#include "hart/store/v1/stored_acks.pb.h"
#include "tests/support/referral_factory.h"
#include "tests/support/test_support.h"
#include "tests/unit/sqlite_store_fixture.h"

namespace hart {
namespace {

using hart::testing::ReferralFactory;

// audit_subtrees taken back to its layout before schema 17.
constexpr char kSubtreesAsInSchema16[] =
    "CREATE TABLE old_subtrees (height INTEGER NOT NULL, idx INTEGER NOT NULL, "
    "hash BLOB NOT NULL, PRIMARY KEY (height, idx)) WITHOUT ROWID; "
    "INSERT INTO old_subtrees SELECT height, (leaf_end >> height) - 1, hash FROM audit_subtrees; "
    "DROP TABLE audit_subtrees; ALTER TABLE old_subtrees RENAME TO audit_subtrees; ";

// What schema 19 added, taken away again (every test below takes its store
// back to before it).
constexpr char kUndoSchema19[] =
    "DROP INDEX deliveries_urgent_due; ALTER TABLE deliveries DROP COLUMN priority; ";

class SqliteUpgradeTest : public SqliteStoreTest {};

constexpr char kStoredAcksOf[] = "SELECT stored_acks FROM deliveries WHERE delivery_id = ?";
constexpr char kTypeOfStoredAcks[] =
    "SELECT typeof(stored_acks) FROM deliveries WHERE delivery_id = ?";

// The first column of the row `sql` finds for `key`, read straight from the
// store's file.
std::string ReadValue(const std::string& dir, const std::string& sql, const std::string& key) {
  auto raw = sqlite::SqliteDb::Open(dir + "/hart.db", /*read_only=*/true);
  if (!raw.ok()) {
    ADD_FAILURE() << raw.status();
    return "";
  }
  auto stmt = (*raw)->Prepare(sql);
  if (!stmt.ok()) {
    ADD_FAILURE() << stmt.status();
    return "";
  }
  (*stmt)->Bind(1, key);
  if (!(*stmt)->Step().value_or(false)) {
    ADD_FAILURE() << "no row: " << sql;
    return "";
  }
  return (*stmt)->Text(0);
}

// Schema 17 keys the audit tree's stored subtrees by where they end: every
// subtree a store held before is found at the same height and index after.
TEST_F(SqliteUpgradeTest, UpgradeKeepsTheAuditTreesStoredSubtrees) {
  for (const char* suffix : {"-a", "-b", "-c", "-d", "-e", "-f"}) {
    ASSERT_TRUE(factory_->Submit(ReferralFactory::Example("urgent-hotel-bridgeport", suffix)).ok());
  }
  std::map<std::pair<uint32_t, uint64_t>, std::string> stored;
  const uint64_t leaves = store_->AuditHead()->size;
  for (uint32_t height = audit::kMinStoredSubtreeHeight; (uint64_t{1} << height) <= leaves;
       ++height) {
    for (uint64_t index = 0; ((index + 1) << height) <= leaves; ++index) {
      auto hash = store_->AuditSubtreeHash(height, index);
      ASSERT_TRUE(hash.ok()) << hash.status();
      ASSERT_TRUE(hash->has_value()) << height << "/" << index;
      stored[{height, index}] = **hash;
    }
  }
  ASSERT_GE(stored.size(), 2u) << leaves << " leaves";
  factory_.reset();
  store_.reset();
  auto raw = sqlite::SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/false);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE((*raw)->Exec(absl::StrCat(kUndoSchema19, kSubtreesAsInSchema16,
                                        "ALTER TABLE deliveries DROP COLUMN stored_acks; "
                                        "DELETE FROM schema_version WHERE version >= 17"))
                  .ok());
  raw->reset();
  auto reopened = OpenSqliteStore(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (const auto& [key, hash] : stored) {
    auto found = (*reopened)->AuditSubtreeHash(key.first, key.second);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->has_value()) << key.first << "/" << key.second;
    EXPECT_EQ(**found, hash) << key.first << "/" << key.second;
  }
  auto beyond = (*reopened)->AuditSubtreeHash(audit::kMinStoredSubtreeHeight, leaves);
  ASSERT_TRUE(beyond.ok()) << beyond.status();
  EXPECT_FALSE(beyond->has_value());
}

// Schema 18 keeps a delivery's acknowledgements in its own row. One recorded
// before, a row of the acks table, still reads, ahead of those recorded
// since, and sealing the referral empties the notes of both.
TEST_F(SqliteUpgradeTest, AcknowledgementsFromBeforeSchema18ReadFirstAndSealWithTheRest) {
  absl::StatusOr<v1::Receipt> receipt;
  {
    ReferralFactory on_feeds(*store_, clock_, feed::FeedPlacement({"hartford-pd"}));
    receipt = on_feeds.Submit(ReferralFactory::Example("school-sex-trafficking-hartford", "-k"));
  }
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const std::string referral_id = receipt->referral_id();
  std::string delivery_id;
  for (const auto& d : receipt->destinations()) {
    if (d.agency_id() == "hartford-pd") delivery_id = d.delivery_id();
  }
  ASSERT_FALSE(delivery_id.empty()) << "the example no longer routes to hartford-pd";
  auto acknowledge = [&](Store& store, v1::Acknowledgement::Kind kind, v1::DeliveryState from,
                         v1::DeliveryState to, const std::string& note) {
    AckWrite w;
    w.delivery_id = delivery_id;
    w.expected_state = from;
    w.new_state = to;
    w.ack.set_kind(kind);
    w.ack.set_note(note);
    w.ack.set_actor("agency/hartford-pd");
    *w.ack.mutable_recorded_at() = ToProtoTime(clock_.Now());
    w.audit = {clock_.Now(), "agency/hartford-pd", "delivery.ack", referral_id, delivery_id, "",
               ""};
    return store.ApplyAck(w).status();
  };
  ASSERT_TRUE(acknowledge(*store_, v1::Acknowledgement::RECEIVED, v1::IN_FLIGHT, v1::DELIVERED,
                          "seen at the front desk")
                  .ok());
  factory_.reset();
  store_.reset();
  // The acknowledgement as a broker before schema 18 left it: a row of acks.
  {
    store::v1::StoredAcks stored;
    ASSERT_TRUE(stored.ParseFromString(ReadValue(dir_.path(), kStoredAcksOf, delivery_id)));
    ASSERT_EQ(stored.acks_size(), 1);
    ASSERT_FALSE(stored.acks(0).sealed_note().empty());
    auto raw = sqlite::SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/false);
    ASSERT_TRUE(raw.ok()) << raw.status();
    auto insert = (*raw)->Prepare(
        "INSERT INTO acks (delivery_id, kind, note, actor, recorded_at) VALUES (?, ?, ?, ?, ?)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    (*insert)->Bind(1, delivery_id).Bind(2, int64_t{stored.acks(0).kind()})
        .BindBlob(3, stored.acks(0).sealed_note()).Bind(4, stored.acks(0).actor())
        .Bind(5, stored.acks(0).recorded_at_micros());
    ASSERT_TRUE((*insert)->Run().ok());
    insert->Release();
    ASSERT_TRUE((*raw)->Exec(absl::StrCat(kUndoSchema19,
                                          "ALTER TABLE deliveries DROP COLUMN stored_acks; "
                                          "DELETE FROM schema_version WHERE version >= 18"))
                    .ok());
  }
  auto reopened = OpenSqliteStore(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  Store& store = **reopened;
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(acknowledge(store, v1::Acknowledgement::ACCEPTED, v1::DELIVERED, v1::ACKNOWLEDGED,
                          "assigned to a detective")
                  .ok());
  auto acks_of_delivery = [&]() -> std::vector<v1::Acknowledgement> {
    auto deliveries = store.GetDeliveries(referral_id);
    EXPECT_TRUE(deliveries.ok()) << deliveries.status();
    if (!deliveries.ok()) return {};
    for (const auto& d : *deliveries) {
      if (d.delivery.delivery_id == delivery_id) return d.acks;
    }
    ADD_FAILURE() << "the delivery is gone";
    return {};
  };
  const auto acks = acks_of_delivery();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].kind(), v1::Acknowledgement::RECEIVED);
  EXPECT_EQ(acks[0].note(), "seen at the front desk");
  EXPECT_EQ(acks[1].kind(), v1::Acknowledgement::ACCEPTED);
  EXPECT_EQ(acks[1].note(), "assigned to a detective");
  EXPECT_EQ(acks[1].actor(), "agency/hartford-pd");
  EXPECT_EQ(FromProtoTime(acks[1].recorded_at()), clock_.Now());
  EXPECT_EQ(FromProtoTime(acks[0].recorded_at()), clock_.Now() - absl::Minutes(5));
  // `||` makes TEXT: the append keeps the column a BLOB.
  EXPECT_EQ(ReadValue(dir_.path(), kTypeOfStoredAcks, delivery_id), "blob");

  SealWrite seal;
  seal.referral_id = referral_id;
  seal.at = clock_.Now();
  seal.audit.push_back(
      {clock_.Now(), "supervisor/dcf", "referral.sealed", referral_id, "", "", ""});
  ASSERT_TRUE(store.SealReferral(seal).ok());
  EXPECT_EQ(acks_of_delivery().size(), 2u);
  reopened->reset();
  // Not only unreadable without the destroyed key: the sealed notes are gone.
  EXPECT_EQ(ReadValue(dir_.path(), "SELECT note FROM acks WHERE delivery_id = ?", delivery_id), "");
  store::v1::StoredAcks stored;
  ASSERT_TRUE(stored.ParseFromString(ReadValue(dir_.path(), kStoredAcksOf, delivery_id)));
  ASSERT_EQ(stored.acks_size(), 1);
  EXPECT_EQ(stored.acks(0).kind(), v1::Acknowledgement::ACCEPTED);
  EXPECT_EQ(stored.acks(0).sealed_note(), "");
}

// A store from before schema 7 kept intakes in the clear with no data key.
// Schema 11 lists them once (legacy_intakes) and the open seals them, so no
// start-up has to look among every referral for them again. (The store is
// taken back to version 10, so migrations 11 to 18 run on it too.)
TEST_F(SqliteUpgradeTest, UpgradeSealsIntakesStoredInTheClear) {
  auto receipt = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", ""));
  ASSERT_TRUE(receipt.ok());
  const std::string id = receipt->referral_id();
  const std::string plaintext = store_->GetReferral(id)->intake.SerializeAsString();
  factory_.reset();
  store_.reset();
  auto raw = sqlite::SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/false);
  ASSERT_TRUE(raw.ok()) << raw.status();
  auto run = [&](const std::string& sql, std::optional<std::string> blob = std::nullopt) {
    auto stmt = (*raw)->Prepare(sql);
    ASSERT_TRUE(stmt.ok()) << stmt.status();
    if (blob) (*stmt)->BindBlob(1, *blob).Bind(2, id);
    ASSERT_TRUE((*stmt)->Run().ok()) << sql;
  };
  // The referral as a version-6 broker left it, in a store at version 10.
  run("UPDATE referrals SET intake = ? WHERE referral_id = ?", plaintext);
  ASSERT_TRUE((*raw)->Exec(absl::StrCat(kUndoSchema19,
                           "DELETE FROM referral_keys; DROP TABLE legacy_intakes; "
                           "DROP INDEX timers_by_referral_state; DROP INDEX referrals_by_accepted; "
                           "DROP INDEX referral_keys_wrapped_by_key; "
                           "CREATE INDEX timers_by_referral ON timers (referral_id); "
                           "DROP INDEX deliveries_ladder_due; DROP INDEX deliveries_pending_by_agency; "
                           "ALTER TABLE deliveries DROP COLUMN ladder_timer_id; "
                           "ALTER TABLE deliveries DROP COLUMN ladder_due_at; "
                           "ALTER TABLE deliveries DROP COLUMN ladder_base_at; "
                           "ALTER TABLE deliveries DROP COLUMN ladder_reason; "
                           "CREATE INDEX timers_due ON timers (state, due_at); "
                           "ALTER TABLE deliveries DROP COLUMN stored_acks; "
                           "DROP INDEX deliveries_dead_letters; DROP INDEX deliveries_due; "
                           "CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at); "
                           "CREATE TRIGGER deliveries_counted AFTER INSERT ON deliveries BEGIN "
                           "UPDATE delivery_counts SET n = n + 1 WHERE state = NEW.state; END; "
                           "DROP INDEX audit_by_referral; "
                           "CREATE INDEX audit_by_referral ON audit_events (referral_id); "
                           "CREATE INDEX audit_by_delivery ON audit_events (delivery_id); ",
                           kSubtreesAsInSchema16, "DELETE FROM schema_version WHERE version >= 11"))
                  .ok());
  raw->reset();
  {
    auto reopened = OpenSqliteStore(dir_.path());
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    auto referral = (*reopened)->GetReferral(id);
    ASSERT_TRUE(referral.ok()) << referral.status();
    EXPECT_EQ(referral->intake.SerializeAsString(), plaintext);
  }
  raw = sqlite::SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/true);
  ASSERT_TRUE(raw.ok()) << raw.status();
  auto count = [&](const std::string& sql) {
    auto stmt = (*raw)->Prepare(sql);
    EXPECT_TRUE(stmt.ok() && (*stmt)->Step().value_or(false)) << sql;
    return stmt.ok() ? (*stmt)->Int(0) : -1;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM referral_keys"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM legacy_intakes"), 0);
  // Version 15: the writer keeps the delivery counts, not triggers.
  EXPECT_EQ(count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"), 0);
  auto stored = (*raw)->Prepare("SELECT intake FROM referrals");
  ASSERT_TRUE(stored.ok() && (*stored)->Step().value_or(false));
  EXPECT_NE((*stored)->Text(0), plaintext) << "still in the clear";
}

// Schema 19 claims URGENT deliveries first: those stored before take their
// referral's priority, and the urgent one is claimed ahead of a NORMAL one
// due earlier.
TEST_F(SqliteUpgradeTest, DeliveriesFromBeforeSchema19TakeTheirReferralsPriority) {
  auto normal = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", "-n"));
  ASSERT_TRUE(normal.ok()) << normal.status();
  clock_.Advance(absl::Minutes(1));
  auto urgent = factory_->Submit(ReferralFactory::Example("urgent-hotel-bridgeport", "-u"));
  ASSERT_TRUE(urgent.ok()) << urgent.status();
  ASSERT_EQ(urgent->priority(), v1::URGENT);
  ASSERT_EQ(normal->priority(), v1::NORMAL);
  factory_.reset();
  store_.reset();
  {
    auto raw = sqlite::SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/false);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)->Exec(absl::StrCat(kUndoSchema19,
                                          "DELETE FROM schema_version WHERE version >= 19"))
                    .ok());
  }
  auto reopened = OpenSqliteStore(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (const auto& [receipt, priority] : {std::pair{*normal, v1::NORMAL},
                                          std::pair{*urgent, v1::URGENT}}) {
    for (const auto& d : receipt.destinations()) {
      auto delivery = (*reopened)->GetDelivery(d.delivery_id());
      ASSERT_TRUE(delivery.ok()) << delivery.status();
      EXPECT_EQ(delivery->priority, priority) << d.agency_id();
    }
  }
  auto claimed = (*reopened)->ClaimDueDeliveries(clock_.Now(), clock_.Now() + absl::Minutes(1),
                                                 /*limit=*/1, {});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].referral_id, urgent->referral_id());
}

}  // namespace
}  // namespace hart
