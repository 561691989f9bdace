// Encryption at rest: the data directory without the key directory reveals
// no PII; keys rotate without losing data; sealing makes the data
// unrecoverable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "broker/acks/ack_recorder.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/aead.h"
#include "broker/crypto/key_ring.h"
#include "broker/intake/sealer.h"
#include "broker/intake/supplement_processor.h"
#include "sqlite3.h"
#include "tests/support/referral_factory.h"

namespace hart {
namespace {

using hart::testing::FakeRandom;
using hart::testing::LoadIntake;
using hart::testing::ReferralFactory;
using hart::testing::TempDir;
using hart::testing::TestNow;

std::vector<std::string> PiiOf(const v1::Intake& intake) {
  std::vector<std::string> pii = {intake.reporter().name(), intake.reporter().phone(),
                                  intake.child().given_name(), intake.child().family_name(),
                                  intake.child().date_of_birth(), intake.child().dcf_case_id()};
  if (!intake.concern().narrative().empty()) pii.push_back(intake.concern().narrative().substr(0, 20));
  pii.erase(std::remove(pii.begin(), pii.end(), std::string()), pii.end());
  return pii;
}

// Every byte of every file in `dir` (the database, its WAL and shm).
std::string AllBytes(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
  }
  return all;
}

TEST(AeadTest, OpensOnlyWithTheRightKeyAndContext) {
  CryptoRandom random;
  const std::string key = random.Bytes(crypto::kKeyBytes);
  auto sealed = crypto::Seal(key, "Jordan Example", "intake:ref_1", random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("Jordan"), std::string::npos);
  EXPECT_EQ(crypto::Open(key, *sealed, "intake:ref_1").value(), "Jordan Example");
  EXPECT_EQ(crypto::Open(key, *sealed, "intake:ref_2").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(crypto::Open(random.Bytes(32), *sealed, "intake:ref_1").status().code(),
            absl::StatusCode::kDataLoss);
  std::string altered = *sealed;
  altered[20] ^= 1;
  EXPECT_EQ(crypto::Open(key, altered, "intake:ref_1").status().code(), absl::StatusCode::kDataLoss);
}

class EncryptionTest : public ::testing::Test {
 protected:
  EncryptionTest() : clock_(TestNow()) {
    keys_ = std::move(crypto::KeyRing::Load(dir_.path() + "/keys", true, random_).value());
    store_ = std::move(OpenSqliteStore(dir_.path() + "/data", keys_.get()).value());
    factory_ = std::make_unique<ReferralFactory>(*store_, clock_);
  }
  TempDir dir_;
  ManualClock clock_;
  CryptoRandom random_;
  std::unique_ptr<crypto::KeyRing> keys_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReferralFactory> factory_;
  StoreExecutor executor_;  // after the factory: destroyed first, its tasks drained
};

TEST_F(EncryptionTest, TheDataDirectoryRevealsNoPii) {
  std::vector<v1::Intake> intakes;
  std::vector<v1::Receipt> receipts;
  for (const char* name : {"school-sex-trafficking-hartford", "missing-from-foster-care-new-haven",
                           "labor-trafficking-waterbury", "urgent-hotel-bridgeport"}) {
    intakes.push_back(LoadIntake(name));
    receipts.push_back(factory_->Submit(intakes.back()).value());
  }
  // A declined ack with a note that names the child: the note is PII too.
  AckRecorder acks(*store_, factory_->writes(), executor_, clock_);
  const auto& first = receipts[0].destinations(0);
  ASSERT_TRUE(acks.Acknowledge(first.agency_id(), first.delivery_id(), v1::Acknowledgement::DECLINED,
                               "Jordan is already known to us", "agency/x").ok());
  // Everything readable through the store...
  EXPECT_EQ(store_->GetReferral(receipts[0].referral_id())->intake.child().given_name(), "Jordan");
  EXPECT_EQ(store_->GetDeliveries(receipts[0].referral_id())->at(0).acks.at(0).note(),
            "Jordan is already known to us");
  // ...and nothing in the raw files, WAL included.
  const std::string raw = AllBytes(dir_.path() + "/data");
  ASSERT_GT(raw.size(), 10000u);
  for (const auto& intake : intakes) {
    for (const auto& pii : PiiOf(intake)) {
      EXPECT_EQ(raw.find(pii), std::string::npos) << "found '" << pii << "' in the data directory";
    }
  }
  EXPECT_EQ(raw.find("already known"), std::string::npos);
}

TEST_F(EncryptionTest, ANewKeyEncryptionKeyRotatesWithoutLosingData) {
  auto receipt = factory_->Submit(LoadIntake("school-sex-trafficking-hartford")).value();
  const std::string old_key = keys_->active_key_id();
  // The operator adds a key and makes it active; the broker reloads.
  std::ofstream(dir_.path() + "/keys/kek-new.kek", std::ios::binary) << random_.Bytes(32);
  std::ofstream(dir_.path() + "/keys/ACTIVE") << "kek-new\n";
  ASSERT_TRUE(keys_->Reload().ok());
  EXPECT_EQ(keys_->active_key_id(), "kek-new");
  auto second = factory_->Submit(LoadIntake("urgent-hotel-bridgeport")).value();
  EXPECT_EQ(store_->RewrapDataKeys().value(), 1u);  // only the old referral's key
  EXPECT_EQ(store_->RewrapDataKeys().value(), 0u);
  // The old key can go: everything still opens.
  std::filesystem::remove(dir_.path() + "/keys/" + old_key + ".kek");
  ASSERT_TRUE(keys_->Reload().ok());
  store_.reset();
  store_ = std::move(OpenSqliteStore(dir_.path() + "/data", keys_.get()).value());
  EXPECT_EQ(store_->GetReferral(receipt.referral_id())->intake.child().given_name(), "Jordan");
  EXPECT_TRUE(store_->GetReferral(second.referral_id()).ok());
}

// Replicas rotate one at a time: one already wraps new data keys with the
// new key while another has not been told (SIGHUP) yet. That one still
// opens them, reading the key's file when it first meets its id.
TEST(KeyRingTest, AKeyAnotherReplicaStartedUsingOpensBeforeThisOneReloads) {
  TempDir dir;
  CryptoRandom random;
  const std::string key_dir = dir.path() + "/keys";
  auto told = crypto::KeyRing::Load(key_dir, true, random).value();
  auto not_told = crypto::KeyRing::Load(key_dir, true, random).value();
  const std::string old_key = not_told->active_key_id();
  std::ofstream(key_dir + "/kek-new.kek", std::ios::binary) << random.Bytes(32);
  std::ofstream(key_dir + "/ACTIVE") << "kek-new\n";
  ASSERT_TRUE(told->Reload().ok());
  auto [data_key, wrapped] = told->NewDataKey("key:ref_1").value();
  ASSERT_EQ(wrapped.key_id, "kek-new");
  EXPECT_EQ(not_told->Unwrap(wrapped, "key:ref_1").value(), data_key);
  // Reading a key does not make it active: only a reload does.
  EXPECT_EQ(not_told->active_key_id(), old_key);
  EXPECT_EQ(not_told->NewDataKey("key:ref_2")->second.key_id, old_key);
}

TEST(KeyRingTest, AMissingKeyIsUnavailableAndOpensOnceItsFileIsBack) {
  TempDir dir;
  CryptoRandom random;
  const std::string key_dir = dir.path() + "/keys";
  auto ring = crypto::KeyRing::Load(key_dir, true, random).value();
  const std::string file = key_dir + "/" + ring->active_key_id() + ".kek";
  auto [data_key, wrapped] = ring->NewDataKey("key:ref_1").value();
  const std::string kek = hart::testing::ReadText(file);
  // A ring started without the file (its operator forgot to copy it).
  std::filesystem::remove(file);
  std::ofstream(key_dir + "/kek-other.kek", std::ios::binary) << random.Bytes(32);
  std::ofstream(key_dir + "/ACTIVE") << "kek-other\n";
  auto without = crypto::KeyRing::Load(key_dir, false, random).value();
  auto missing = without->Unwrap(wrapped, "key:ref_1");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::AllOf(::testing::HasSubstr(wrapped.key_id),
                               ::testing::Not(::testing::HasSubstr(key_dir))));
  std::ofstream(file, std::ios::binary) << kek;
  EXPECT_EQ(without->Unwrap(wrapped, "key:ref_1").value(), data_key);
}

// CryptoRandom that keeps every draw it made.
class RecordingRandom final : public RandomSource {
 public:
  std::string Bytes(size_t n) override {
    draws.push_back(inner_.Bytes(n));
    return draws.back();
  }
  uint64_t Uniform(uint64_t bound) override { return inner_.Uniform(bound); }
  std::vector<std::string> draws;

 private:
  CryptoRandom inner_;
};

TEST(KeyRingTest, EachDataKeyIsItsOwnDrawAndOnlyTheWrapsSaltsAndNoncesComeFromABlock) {
  TempDir dir;
  RecordingRandom random;
  auto ring = crypto::KeyRing::Load(dir.path() + "/keys", true, random).value();
  random.draws.clear();  // the new key-encryption key
  auto [first_key, first_wrap] = ring->NewDataKey("key:ref_1").value();
  auto [second_key, second_wrap] = ring->NewDataKey("key:ref_2").value();
  // A data key is drawn when it is made, never held ahead in a block; the
  // wraps' salts and nonces (format 2's bytes 1-16 and 17-28, key_wrap.h)
  // come in order from one block drawn once.
  ASSERT_EQ(random.draws.size(), 3u);
  EXPECT_EQ(random.draws[0], first_key);
  EXPECT_EQ(random.draws[2], second_key);
  const std::string& block = random.draws[1];
  ASSERT_GE(block.size(), 56u);
  EXPECT_EQ(first_wrap.wrapped.substr(1, 28), block.substr(0, 28));
  EXPECT_EQ(second_wrap.wrapped.substr(1, 28), block.substr(28, 28));
  EXPECT_EQ(ring->Unwrap(first_wrap, "key:ref_1").value(), first_key);
  EXPECT_EQ(ring->Unwrap(second_wrap, "key:ref_2").value(), second_key);
}

TEST(KeyRingTest, AKeyIdNamesOnlyAFileOfTheKeyDirectory) {
  TempDir dir;
  CryptoRandom random;
  auto ring = crypto::KeyRing::Load(dir.path() + "/keys", true, random).value();
  auto [data_key, wrapped] = ring->NewDataKey("key:ref_1").value();
  // A stored row naming a key outside the directory, whose file exists.
  std::ofstream(dir.path() + "/outside.kek", std::ios::binary)
      << hart::testing::ReadText(dir.path() + "/keys/" + wrapped.key_id + ".kek");
  for (const std::string id : {"../outside", "x/../../outside"}) {
    EXPECT_EQ(ring->Unwrap({id, wrapped.wrapped}, "key:ref_1").status().code(),
              absl::StatusCode::kUnavailable)
        << id;
  }
}

TEST_F(EncryptionTest, WithoutTheKeyFileNothingOpens) {
  auto receipt = factory_->Submit(LoadIntake("school-sex-trafficking-hartford")).value();
  factory_.reset();
  store_.reset();
  FakeRandom other;
  auto stranger = crypto::KeyRing::Load(dir_.path() + "/other-keys", true, other).value();
  auto reopened = OpenSqliteStore(dir_.path() + "/data", stranger.get());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->GetReferral(receipt.referral_id()).status().code(),
            absl::StatusCode::kUnavailable);  // its key-encryption key is not there
}

TEST_F(EncryptionTest, SealingDestroysTheDataKeyAndStopsEverything) {
  auto receipt = factory_->Submit(LoadIntake("missing-from-foster-care-new-haven")).value();
  IdGenerator ids(random_);
  Sealer sealer(*store_, factory_->geography(), clock_, ids);
  EXPECT_EQ(sealer.Seal(receipt.referral_id(), "", "supervisor/x").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto sealed = sealer.Seal(receipt.referral_id(), "HHD-FA-26-0001", "supervisor/x");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  // Nothing was handed off yet (no dispatcher here): all stopped, none notified.
  EXPECT_EQ(sealed->stopped_deliveries, static_cast<uint32_t>(receipt.destinations_size()));
  auto referral = store_->GetReferral(receipt.referral_id()).value();
  EXPECT_TRUE(referral.sealed_at.has_value());
  EXPECT_FALSE(referral.intake.has_child());
  const auto deliveries = store_->GetDeliveries(receipt.referral_id()).value();
  for (const auto& d : deliveries) EXPECT_EQ(d.delivery.state, v1::SEALED);
  EXPECT_TRUE(store_->PendingTimers(receipt.referral_id())->empty());
  EXPECT_EQ(sealer.Seal(receipt.referral_id(), "again", "supervisor/x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::string raw = AllBytes(dir_.path() + "/data");
  EXPECT_EQ(raw.find("HHD-FA-26-0001"), std::string::npos);  // the order only as a digest
}

// A delivery an adapter claimed may land after the seal, or have landed
// though its answer was lost: its agency is told to erase it.
TEST_F(EncryptionTest, SealingNotifiesAnAgencyWhoseDeliveryAnAdapterClaimed) {
  auto receipt = factory_->Submit(LoadIntake("missing-from-foster-care-new-haven")).value();
  auto claimed = store_->ClaimDueDeliveries(clock_.Now(), clock_.Now() + absl::Minutes(1), 1, {});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  IdGenerator ids(random_);
  Sealer sealer(*store_, factory_->geography(), clock_, ids);
  auto sealed = sealer.Seal(receipt.referral_id(), "HHD-FA-26-0002", "supervisor/x");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_THAT(sealed->notified_agency_ids, ::testing::ElementsAre((*claimed)[0].agency_id));
}

NewReferral PlainReferral(const std::string& id, const v1::Intake& intake) {
  NewReferral r;
  r.referral.referral_id = "ref_" + id;
  r.referral.careline_report_id = "CL-" + id;
  r.referral.content_sha256 = std::string(32, 'x');
  r.referral.intake = intake;
  r.referral.receipt.set_referral_id(r.referral.referral_id);
  r.referral.received_at = r.referral.accepted_at = TestNow();
  r.audit.push_back({TestNow(), "careline/test", "intake.accepted", r.referral.referral_id, "",
                     "", ""});
  return r;
}

// The writer queue has a new referral sealed on the submitting thread
// (PrepareReferral): the store takes it as sealed, once, and reads it back;
// a referral that reaches the store half sealed is refused, never stored.
TEST_F(EncryptionTest, AReferralSealedAheadIsStoredAsIsAndAHalfSealedOneIsRefused) {
  const v1::Intake intake = LoadIntake("school-sex-trafficking-hartford");
  NewReferral ahead = PlainReferral("ahead", intake);
  ASSERT_TRUE(store_->PrepareReferral(ahead).ok());
  EXPECT_EQ(ahead.referral.intake.ByteSizeLong(), 0u);
  EXPECT_FALSE(ahead.referral.sealed_intake.empty());
  EXPECT_FALSE(ahead.data_key.wrapped.empty());
  // The plaintext moved to memory for the feeds' tail, not copied.
  ASSERT_NE(ahead.opened_intake, nullptr);
  EXPECT_EQ(ahead.opened_intake->SerializeAsString(), intake.SerializeAsString());
  const v1::Intake* opened = ahead.opened_intake.get();
  const std::string sealed_once = ahead.referral.sealed_intake;
  ASSERT_TRUE(store_->PrepareReferral(ahead).ok());  // already sealed: left alone
  EXPECT_EQ(ahead.referral.sealed_intake, sealed_once);
  EXPECT_EQ(ahead.opened_intake.get(), opened);
  auto created = store_->CreateReferrals({&ahead, 1});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->at(0).outcome, CreateReferralResult::Outcome::kCreated);
  EXPECT_EQ(store_->GetReferral("ref_ahead")->intake.child().given_name(), "Jordan");

  // One that already holds its plaintext in memory keeps it; the record's
  // copy is cleared all the same.
  NewReferral kept = PlainReferral("kept", intake);
  kept.opened_intake = std::make_shared<const v1::Intake>(intake);
  const v1::Intake* kept_opened = kept.opened_intake.get();
  ASSERT_TRUE(store_->PrepareReferral(kept).ok());
  EXPECT_EQ(kept.opened_intake.get(), kept_opened);
  EXPECT_EQ(kept.referral.intake.ByteSizeLong(), 0u);
  EXPECT_FALSE(kept.referral.sealed_intake.empty());

  NewReferral half = PlainReferral("half", intake);
  half.data_key = ahead.data_key;  // a key, but the plaintext is still there
  EXPECT_EQ(store_->PrepareReferral(half).code(), absl::StatusCode::kInternal);
  std::vector<WriteRequest> batch = {half};
  auto results = store_->ApplyWrites(batch);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(results->at(0).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->GetReferral("ref_half").status().code(), absl::StatusCode::kNotFound);
  const std::string raw = AllBytes(dir_.path() + "/data");
  for (const auto& pii : PiiOf(intake)) EXPECT_EQ(raw.find(pii), std::string::npos) << pii;
}

// Flips one byte of a referral's sealed intake behind the store's back, as a
// bad disk would (a second connection to the same file).
void DamageIntake(const std::string& db_path, const std::string& referral_id) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* read = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT intake FROM referrals WHERE referral_id = ?", -1,
                               &read, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_bind_text(read, 1, referral_id.c_str(), -1, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(read), SQLITE_ROW) << sqlite3_errmsg(db);
  std::string sealed(static_cast<const char*>(sqlite3_column_blob(read, 0)),
                     static_cast<size_t>(sqlite3_column_bytes(read, 0)));
  sqlite3_finalize(read);
  ASSERT_GT(sealed.size(), 40u);
  sealed[sealed.size() / 2] ^= 1;  // inside the ciphertext
  sqlite3_stmt* write = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE referrals SET intake = ? WHERE referral_id = ?", -1,
                               &write, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_bind_blob(write, 1, sealed.data(), static_cast<int>(sealed.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(write, 2, referral_id.c_str(), -1, SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(write), SQLITE_DONE) << sqlite3_errmsg(db);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_finalize(write);
  sqlite3_close(db);
}

TEST_F(EncryptionTest, ADamagedIntakeIsServedOnItsFeedAsUnreadableAndTheFeedGoesOn) {
  const auto first = factory_->Submit(LoadIntake("school-sex-trafficking-hartford")).value();
  const auto second = factory_->Submit(LoadIntake("urgent-hotel-bridgeport")).value();
  auto claimed = store_->ClaimDueDeliveries(clock_.Now(), clock_.Now() + absl::Minutes(1), 100, {});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  // An agency both referrals reach (the task force receives every one):
  // its two deliveries go on its feed, the damaged referral's first.
  std::map<std::string, std::vector<DeliveryRecord>> by_agency;
  for (const auto& d : *claimed) by_agency[d.agency_id].push_back(d);
  std::string agency;
  for (const auto& [id, deliveries] : by_agency) {
    if (deliveries.size() == 2 && agency.empty()) agency = id;
  }
  ASSERT_FALSE(agency.empty());
  std::vector<FeedAppend> appends;
  for (const auto& d : by_agency[agency]) {
    appends.push_back({d.delivery_id, d.agency_id,
                       {clock_.Now(), "broker", "delivery.sent", d.referral_id, d.delivery_id,
                        "", ""}});
  }
  if (appends[0].audit.referral_id != first.referral_id()) std::swap(appends[0], appends[1]);
  ASSERT_TRUE(store_->AppendToFeeds(appends, clock_.Now()).ok());
  DamageIntake(dir_.path() + "/data/hart.db", first.referral_id());
  EXPECT_EQ(store_->GetReferral(first.referral_id()).status().code(), absl::StatusCode::kDataLoss);
  auto feed = store_->ReadFeed(agency, 0, 10);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->size(), 2u);
  EXPECT_EQ(feed->at(0).delivery.referral_id, first.referral_id());
  EXPECT_TRUE(feed->at(0).unreadable);
  EXPECT_FALSE(feed->at(0).intake.has_child());
  EXPECT_EQ(feed->at(1).delivery.referral_id, second.referral_id());
  EXPECT_FALSE(feed->at(1).unreadable);
  EXPECT_TRUE(feed->at(1).intake.has_child());
}

}  // namespace
}  // namespace hart
