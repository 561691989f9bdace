// The PostgreSQL backend: several broker replicas share one database.
// Rows and bytes only, like the SQLite backend (PII arrives sealed from the
// envelope layer; audit leaves go through audit::AuditTreeWriter). Its
// methods live in one file per concern (pg_referrals.cc, pg_outbox.cc,
// pg_feeds.cc, pg_acks.cc, pg_timers.cc, pg_audit.cc, pg_queries.cc,
// pg_keys.cc, pg_writes.cc).
//
// How concurrent writers on several replicas are ordered: every write
// transaction first locks the one audit_tree row (SELECT ... FOR UPDATE) and
// reads the tree's state from it. Writers across the cluster therefore
// commit one after another, and everything assigned inside a transaction
// (audit leaf indexes, per-agency feed sequences, escalation sequences) is
// assigned in commit order: a reader never sees sequence n+1 committed while
// n is still to come, and the audit tree has no fork and no gap. Each
// replica batches its writes (the writer queue), so one lock round costs one
// commit for many intakes, and holds the lock over two round trips: the
// lock with the reads the batch needs (pg_write_lock.h), then the writes,
// rows of a kind in one statement, with the COMMIT. Claims of due work take
// rows with FOR UPDATE SKIP LOCKED and record owner, lease and fencing value
// in the same statement.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/audit/audit_tree_writer.h"
#include "broker/store/postgres/pg_ack_batch.h"
#include "broker/store/postgres/pg_audit_rows.h"
#include "broker/store/postgres/pg_change_channels.h"
#include "broker/store/postgres/pg_pool.h"
#include "broker/store/postgres/pg_stoppable_reads.h"
#include "broker/store/postgres/pg_write_lock.h"
#include "broker/store/store_backend.h"

namespace hart {

namespace pg {
class PgFeedEventRows;  // pg_rows.h
// An open write transaction: its connection, the cluster's audit tree as
// of the locked audit_tree row, and what to tell the other replicas when it
// commits.
struct PgWrite {
  PgConn& conn;
  audit::AuditTreeWriter tree;
  // The leaves appended so far, inserted together before the COMMIT.
  PgLeafBatch leaves = {};
  // A first pass's acks not yet sent, sent together before any other write
  // of the batch (pg_ack_batch.h).
  PgAckBatch acks = {};
  PgChanges changes = {};
  // Feed heads read (then moved on) in this transaction, written back
  // before its COMMIT: agency -> last sequence assigned. Those the batch
  // needs are read with the lock (pg_write_lock.h).
  std::map<std::string, int64_t> feed_heads = {};
  // Set when the batch's careline report ids were read with the lock:
  // report id -> what is stored; absent = new.
  std::optional<std::map<std::string, StoredReport>> reports = {};
  // A batch's first pass: a compare-and-set may be sent without waiting for
  // its answer (a lost one fails the transaction, and the batch reruns item
  // by item, where each is checked at once).
  bool optimistic = false;
};
}  // namespace pg

struct PostgresBackendOptions {
  pg::PgConnectOptions connect;
  int pool_size = 8;
  // How long a call waits for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // Recorded on every claim this backend makes; unique per replica.
  std::string broker_id = "broker";
};

class PostgresBackend final : public StoreBackend {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresBackend>> Open(PostgresBackendOptions options);
  ~PostgresBackend() override;

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
  // --- WriteStore (pg_writes.cc) ---
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
  // (pg_reports.cc)
  absl::StatusOr<std::vector<ReportReferral>> ReadReportPage(
      const ReportPageQuery& query) override;
  // --- OpsSnapshotStore (pg_ops_snapshot.cc) ---
  absl::StatusOr<OpsSnapshot> ReadOpsSnapshot(absl::Time now) override;
  // Later reads answer CANCELLED; one in progress is cancelled on the
  // server (pg_stoppable_reads.h).
  void StopOpsSnapshotReads() override;
  // --- Data keys and migrations ---
  absl::StatusOr<WrappedDataKey> ReadDataKey(const std::string& referral_id) override;
  absl::StatusOr<std::vector<WrappedDataKey>> DataKeysNotWrappedBy(const std::string& key_id,
                                                                   size_t limit) override;
  absl::StatusOr<size_t> ReplaceDataKeys(std::span<const DataKeyRewrap> rewraps) override;
  absl::Status SealLegacyIntakes(LegacyIntakeSealer& sealer) override;
  // --- LeaderStore (pg_backend.cc) ---
  absl::StatusOr<bool> TryLead(absl::Time now, absl::Time until) override;

 private:
  PostgresBackend(PostgresBackendOptions options, std::unique_ptr<pg::PgPool> pool);

  // Runs `body(write)` inside BEGIN ... COMMIT on a pooled connection after
  // locking the audit_tree row, with the tree's state committed alongside;
  // rolls back if the body or the commit fails. Defined in pg_transaction.h.
  // `reads` are read in the lock's round trip (pg_write_lock.h).
  template <typename Body>
  absl::Status InWriteTransaction(Body&& body);
  template <typename Body>
  absl::Status InWriteTransaction(const pg::WriteReads& reads, Body&& body);
  // Appends `event` as the next audit leaf inside the open transaction.
  absl::StatusOr<uint64_t> AppendLeaf(pg::PgWrite& w, const AuditEvent& event);
  // Puts a delivery on its agency's feed inside the open transaction
  // (idempotent: an appended delivery keeps its sequence).
  absl::StatusOr<FeedAppendResult> AppendFeedEvent(pg::PgWrite& w, const FeedAppend& a,
                                                   absl::Time now);
  // The audit leaf and feed event of a placement whose sequence is taken:
  // the second half of AppendFeedEvent, and all of it for a delivery the
  // same transaction inserts already placed (WriteReferral).
  // `rows`: where its feed_events row goes (inserted by the caller), else
  // its own statement.
  absl::StatusOr<FeedAppendResult> InsertFeedEvent(pg::PgWrite& w, const FeedAppend& a,
                                                   int64_t sequence, absl::Time now,
                                                   pg::PgFeedEventRows* rows = nullptr);
  // The agency's next feed sequence in the open transaction (pg_feeds.cc).
  absl::StatusOr<int64_t> NextFeedSequence(pg::PgWrite& w, const std::string& agency_id);
  // Writes the heads NextFeedSequence moved (deferred, before the COMMIT).
  absl::Status SaveFeedHeads(pg::PgWrite& w);
  // One acknowledgement inside the open transaction: ABORTED (nothing
  // written) if the delivery is no longer in its expected state.
  absl::StatusOr<uint64_t> WriteAck(pg::PgWrite& w, const AckWrite& write);
  // The other single writes inside the open transaction, as the public
  // calls (and ApplyWrites) apply them.
  absl::StatusOr<CreateReferralResult> WriteReferral(pg::PgWrite& w,
                                                     const NewReferral& item);
  absl::Status WriteChange(pg::PgWrite& w, const ReferralChange& change);
  absl::StatusOr<uint64_t> WriteEscalation(pg::PgWrite& w, const EscalationWrite& write);
  // One request of ApplyWrites.
  absl::StatusOr<WriteResult> WriteOne(pg::PgWrite& w, const WriteRequest& request);

  // Runs `body(conn)` inside a transaction without the audit lock (claims,
  // which SKIP LOCKED rows and write no audit event).
  template <typename Body>
  absl::Status InClaimTransaction(Body&& body);

  const PostgresBackendOptions options_;
  std::unique_ptr<pg::PgPool> pool_;
  // ReadOpsSnapshot's, which StopOpsSnapshotReads ends.
  pg::StoppableReads ops_reads_{OpsSnapshotReadsStopped()};
};

}  // namespace hart
