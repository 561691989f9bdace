// The embedded default Store: one SQLite database in a data directory, WAL
// mode with synchronous=FULL (every commit is fsynced before it returns).
// One writer connection serialises writes; reads use a pool of read-only
// connections so feeds and status queries never wait for a commit.
//
// The data directory is locked (flock) for the life of the store: one broker
// process owns it, which is what makes ReleaseClaims at start-up safe.
#pragma once

#include <map>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/audit/merkle_tree.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/key_ring.h"
#include "broker/store.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart {

class SqliteStore final : public Store {
 public:
  // Opens or creates the store in `data_dir` (created if missing).
  // FAILED_PRECONDITION if another process holds the directory. PII (intakes,
  // acknowledgement notes) is encrypted with a data key per referral,
  // wrapped by `keys` (which must outlive the store); without `keys`, a key
  // directory `<data_dir>.keys` beside the data directory is used (tests).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir,
                                                           crypto::KeyRing* keys = nullptr);
  ~SqliteStore() override;

  absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) override;
  absl::Status AppendAudit(std::span<const AuditEvent> events) override;
  absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit) override;
  absl::Status ReleaseClaims(absl::Time now) override;
  absl::StatusOr<std::optional<absl::Time>> NextDueTime() override;
  absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) override;
  absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(
      std::span<const FeedAppend> appends, absl::Time now) override;
  absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string& agency_id,
                                                  uint64_t after_sequence,
                                                  size_t limit) override;
  absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(
      const std::string& agency_id, uint64_t after_sequence,
      uint64_t up_to_sequence, size_t limit) override;
  absl::StatusOr<uint64_t> FeedHead(const std::string& agency_id) override;
  absl::StatusOr<uint64_t> ApplyAck(const AckWrite& write) override;
  absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> ApplyAcks(
      std::span<const AckWrite> writes) override;
  absl::Status ApplyReferralChange(const ReferralChange& change) override;
  absl::StatusOr<std::optional<StoredSupplement>> FindSupplement(
      const std::string& supplement_id) override;
  absl::StatusOr<std::vector<std::string>> ListSupplements(
      const std::string& referral_id) override;
  absl::StatusOr<std::string> FindReferralId(const std::string& careline_report_id) override;
  absl::StatusOr<std::vector<TimerRecord>> ClaimDueTimers(absl::Time now, absl::Time lease_until,
                                                          size_t limit) override;
  absl::StatusOr<std::vector<TimerRecord>> PendingTimers(const std::string& referral_id) override;
  absl::StatusOr<uint64_t> ApplyEscalationStep(const EscalationWrite& write) override;
  absl::StatusOr<std::vector<EscalationRecord>> ReadEscalations(uint64_t after_sequence,
                                                                size_t limit) override;
  absl::StatusOr<std::vector<EscalationRecord>> EscalationsOf(
      const std::string& delivery_id) override;
  absl::Status ApplyRedelivery(const RedeliveryWrite& write) override;
  absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(
      const ReferralQuery& query) override;
  absl::StatusOr<SealResult> SealReferral(const SealWrite& write) override;
  absl::StatusOr<size_t> RewrapDataKeys() override;
  absl::StatusOr<ReferralRecord> GetReferral(const std::string& referral_id) override;
  absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(
      const std::string& referral_id) override;
  absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) override;
  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditQuery& query) override;
  absl::StatusOr<AuditTreeHead> AuditHead() override;
  absl::StatusOr<std::string> AuditLeafHash(uint64_t index) override;
  absl::StatusOr<std::optional<std::string>> AuditSubtreeHash(uint32_t height,
                                                              uint64_t index) override;
  absl::Status AppendCheckpoint(const v1::Checkpoint& checkpoint) override;
  absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints() override;

 private:
  class Reader;
  SqliteStore(std::string path, int lock_fd, std::unique_ptr<sqlite::SqliteDb> writer);

  // The referral's data key (cached); FAILED_PRECONDITION if sealed.
  absl::StatusOr<std::string> DataKey(sqlite::SqliteDb& db, const std::string& referral_id);
  absl::StatusOr<std::string> SealValue(const std::string& key, const std::string& plaintext,
                                        const std::string& context);
  // Intake bytes as stored -> Intake (empty when sealed).
  absl::StatusOr<v1::Intake> OpenIntake(sqlite::SqliteDb& db, const std::string& referral_id,
                                        const std::string& stored, bool sealed);
  // Feed rows (decrypting each intake with `db`).
  absl::StatusOr<std::vector<FeedEntry>> ReadFeedRows(sqlite::SqliteDb& db,
                                                      sqlite::Statement& stmt);
  // Encrypts the intakes of referrals stored before encryption existed.
  absl::Status EncryptLegacyReferrals() ABSL_LOCKS_EXCLUDED(write_mu_);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT on the writer; rolls back
  // if it or the commit fails.
  template <typename Body>
  absl::Status InWriteTransaction(Body&& body) ABSL_LOCKS_EXCLUDED(write_mu_);
  // Appends `event` as the next leaf; returns its index.
  // Puts a delivery on its agency's feed inside an open transaction
  // (idempotent: an appended delivery keeps its sequence).
  absl::StatusOr<FeedAppendResult> AppendFeedEvent(sqlite::SqliteDb& db, const FeedAppend& a,
                                                   absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // One acknowledgement inside an open transaction: ABORTED (nothing
  // written) if the delivery is no longer in its expected state.
  absl::StatusOr<uint64_t> WriteAck(sqlite::SqliteDb& db, const AckWrite& write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::StatusOr<uint64_t> InsertAudit(sqlite::SqliteDb& db, const AuditEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Loads the tree's compact range, or builds it from the events (first
  // open after the upgrade to schema 3).
  absl::Status LoadAuditTree() ABSL_LOCKS_EXCLUDED(write_mu_);

  // Copies the WAL back into the database file in the background, so the
  // writer never pays for checkpoints in its commits.
  void RunCheckpointer();

  absl::StatusOr<std::unique_ptr<sqlite::SqliteDb>> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::SqliteDb> db);

  const std::string path_;
  const int lock_fd_;
  std::unique_ptr<crypto::KeyRing> own_keys_;
  crypto::KeyRing* keys_ = nullptr;
  CryptoRandom random_;
  absl::Mutex dek_mu_;
  std::map<std::string, std::string> dek_cache_ ABSL_GUARDED_BY(dek_mu_);
  absl::Mutex write_mu_;
  std::unique_ptr<sqlite::SqliteDb> writer_ ABSL_GUARDED_BY(write_mu_);
  // The audit tree as of the last commit (plus the open transaction's
  // appends while one runs; restored if it rolls back).
  audit::CompactRange audit_tree_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex head_mu_;
  AuditTreeHead committed_head_ ABSL_GUARDED_BY(head_mu_);
  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::SqliteDb>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
  absl::Mutex checkpointer_mu_;
  bool stopping_ ABSL_GUARDED_BY(checkpointer_mu_) = false;
  std::thread checkpointer_;
};

}  // namespace hart
