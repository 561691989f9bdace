// The embedded default backend: one SQLite database in a data directory
// (see SqliteConnections for locking, WAL and fsync). Rows and bytes only:
// PII arrives sealed (envelope layer), audit leaves go through
// audit::AuditTreeWriter. Its methods live in one file per concern
// (sqlite_referrals.cc, sqlite_outbox.cc, sqlite_feeds.cc, sqlite_acks.cc,
// sqlite_timers.cc, sqlite_audit.cc, sqlite_queries.cc, sqlite_keys.cc,
// sqlite_migrations.cc).
//
// One broker process owns a directory (flock), so its `broker_id` is only
// recorded on claims; ReleaseClaims still releases only that id's claims,
// as the contract asks of every backend.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "broker/audit/audit_tree_writer.h"
#include "broker/store/sqlite/sqlite_connections.h"
#include "broker/store/sqlite/sqlite_delivery_counts.h"
#include "broker/store/sqlite/sqlite_feed_heads.h"
#include "broker/store/store_backend.h"

namespace hart {

struct SqliteBackendOptions {
  // The directory holding hart.db (created if missing).
  std::string data_dir;
  // Recorded on every claim this backend makes. Default: "broker".
  std::string broker_id = "broker";
};

class SqliteBackend final : public StoreBackend {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteBackend>> Open(SqliteBackendOptions options);
  ~SqliteBackend() override;

  // --- ReferralStore ---
  absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) override;
  absl::Status ApplyReferralChange(const ReferralChange& change) override;
  absl::StatusOr<std::optional<StoredSupplement>> FindSupplement(
      const std::string& supplement_id) override;
  absl::StatusOr<std::vector<std::string>> ListSupplements(
      const std::string& referral_id) override;
  absl::StatusOr<std::string> FindReferralId(const std::string& careline_report_id) override;
  absl::StatusOr<ReferralRecord> GetReferral(const std::string& referral_id) override;
  absl::StatusOr<SealResult> SealReferral(const SealWrite& write) override;
  // --- WriteStore (sqlite_writes.cc) ---
  absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
      std::span<WriteRequest> batch) override;
  // --- OutboxStore ---
  absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit,
      std::span<const AgencyHold> holds) override;
  absl::Status ReleaseClaims(absl::Time now) override;
  absl::StatusOr<std::optional<absl::Time>> NextDueTime(
      std::span<const AgencyHold> holds) override;
  absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) override;
  absl::Status ApplyRedelivery(const RedeliveryWrite& write) override;
  absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) override;
  std::vector<absl::StatusOr<DeliveryRecord>> GetDeliveriesByIds(
      std::span<const std::string> delivery_ids) override;
  // --- FeedStore ---
  absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(
      std::span<const FeedAppend> appends, absl::Time now) override;
  absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string& agency_id,
                                                  uint64_t after_sequence,
                                                  size_t limit) override;
  absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(
      const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
      size_t limit) override;
  absl::StatusOr<uint64_t> FeedHead(const std::string& agency_id) override;
  // --- AckStore ---
  absl::StatusOr<uint64_t> ApplyAck(const AckWrite& write) override;
  absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> ApplyAcks(
      std::span<const AckWrite> writes) override;
  // --- TimerStore ---
  absl::StatusOr<std::vector<TimerRecord>> ClaimDueTimers(absl::Time now, absl::Time lease_until,
                                                          size_t limit) override;
  absl::StatusOr<std::vector<TimerRecord>> PendingTimers(const std::string& referral_id) override;
  absl::StatusOr<uint64_t> ApplyEscalationStep(const EscalationWrite& write) override;
  absl::StatusOr<std::vector<EscalationRecord>> ReadEscalations(uint64_t after_sequence,
                                                                size_t limit) override;
  absl::StatusOr<std::vector<EscalationRecord>> EscalationsOf(
      const std::string& delivery_id) override;
  // --- AuditStore ---
  absl::Status AppendAudit(std::span<const AuditEvent> events) override;
  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditQuery& query) override;
  absl::StatusOr<AuditTreeHead> AuditHead() override;
  absl::StatusOr<std::string> AuditLeafHash(uint64_t index) override;
  absl::StatusOr<std::optional<std::string>> AuditSubtreeHash(uint32_t height,
                                                              uint64_t index) override;
  absl::Status AppendCheckpoint(const v1::Checkpoint& checkpoint) override;
  absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints() override;
  // --- SupervisorQueries ---
  absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(
      const ReferralQuery& query) override;
  absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(
      const std::string& referral_id) override;
  // (sqlite_reports.cc)
  absl::StatusOr<std::vector<ReportReferral>> ReadReportPage(
      const ReportPageQuery& query) override;
  // --- OpsSnapshotStore (sqlite_ops_snapshot.cc) ---
  absl::StatusOr<OpsSnapshot> ReadOpsSnapshot(absl::Time now) override;
  void StopOpsSnapshotReads() override;
  // --- Data keys and migrations ---
  absl::StatusOr<WrappedDataKey> ReadDataKey(const std::string& referral_id) override;
  absl::StatusOr<std::vector<WrappedDataKey>> DataKeysNotWrappedBy(const std::string& key_id,
                                                                   size_t limit) override;
  absl::StatusOr<size_t> ReplaceDataKeys(std::span<const DataKeyRewrap> rewraps) override;
  absl::Status SealLegacyIntakes(LegacyIntakeSealer& sealer) override;
  // --- LeaderStore: one broker per data directory (flock) leads alone ---
  absl::StatusOr<bool> TryLead(absl::Time, absl::Time) override { return true; }

 private:
  SqliteBackend(SqliteBackendOptions options, std::unique_ptr<sqlite::SqliteConnections> db,
                audit::CompactRange tree, sqlite::TransactionDeliveryCounts counts);

  // Runs `body(db)` inside BEGIN IMMEDIATE ... COMMIT on the writer, with
  // the audit tree's state committed alongside; rolls back (tree included)
  // if the body or the commit fails. Defined in sqlite_transaction.h.
  template <typename Body>
  absl::Status InWriteTransaction(Body&& body);
  // Under the write lock: OK if the writer is in service, or was out of
  // service after a storage failure and has recovered (a fresh connection
  // proved writes and flushes, and the stored audit tree matches memory);
  // else the status every write gets meanwhile (sqlite_writer_recovery.cc).
  absl::Status EnsureWriterHealthy();
  // Appends `event` as the next audit leaf inside the open transaction.
  absl::StatusOr<uint64_t> AppendLeaf(sqlite::SqliteDb& db, const AuditEvent& event);
  // Puts a delivery on its agency's feed inside the open transaction
  // (idempotent: an appended delivery keeps its sequence).
  absl::StatusOr<FeedAppendResult> AppendFeedEvent(sqlite::SqliteDb& db, const FeedAppend& a,
                                                   absl::Time now);
  // The two halves of a placement, for a delivery created in the same
  // transaction (WriteReferral): the agency's next sequence (its head row is
  // written as the transaction commits: feed_heads_), then the audit leaf
  // and the feed event.
  absl::StatusOr<uint64_t> NextFeedSequence(sqlite::SqliteDb& db, const std::string& agency_id);
  absl::StatusOr<FeedAppendResult> InsertFeedEvent(sqlite::SqliteDb& db, const FeedAppend& a,
                                                   uint64_t sequence, absl::Time now);
  // One acknowledgement inside the open transaction: ABORTED (nothing
  // written) if the delivery is no longer in its expected state.
  absl::StatusOr<uint64_t> WriteAck(sqlite::SqliteDb& db, const AckWrite& write);
  // The other single writes inside the open transaction, as the public
  // calls (and ApplyWrites) apply them.
  absl::StatusOr<CreateReferralResult> WriteReferral(sqlite::SqliteDb& db,
                                                     const NewReferral& item);
  absl::Status WriteChange(sqlite::SqliteDb& db, const ReferralChange& change);
  absl::StatusOr<uint64_t> WriteEscalation(sqlite::SqliteDb& db, const EscalationWrite& write);
  // One request of ApplyWrites.
  absl::StatusOr<WriteResult> WriteOne(sqlite::SqliteDb& db, const WriteRequest& request);

  const SqliteBackendOptions options_;
  std::unique_ptr<sqlite::SqliteConnections> db_;
  // Set once the broker stops: the snapshot's reads end (sqlite_ops_snapshot.cc).
  std::atomic<bool> ops_reads_stopped_{false};
  // Guarded by db_->write_mu(): the tree as of the open transaction, the
  // feed heads it advanced and the delivery counts it changed.
  audit::AuditTreeWriter tree_;
  sqlite::TransactionFeedHeads feed_heads_;
  sqlite::TransactionDeliveryCounts delivery_counts_;
};

}  // namespace hart
