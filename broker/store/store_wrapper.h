// Forwards every call to another Store. Tests subclass it to make one call
// fail, block or crash exactly where they want (as leveldb's EnvWrapper).
#pragma once

#include "broker/store.h"

namespace hart {

class StoreWrapper : public Store {
 public:
  explicit StoreWrapper(Store& target) : target_(target) {}

  absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) override {
    return target_.CreateReferrals(batch);
  }
  absl::Status AppendAudit(std::span<const AuditEvent> events) override {
    return target_.AppendAudit(events);
  }
  absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit,
      std::span<const AgencyHold> holds) override {
    return target_.ClaimDueDeliveries(now, lease_until, limit, holds);
  }
  absl::Status ReleaseClaims(absl::Time now) override { return target_.ReleaseClaims(now); }
  absl::StatusOr<std::optional<absl::Time>> NextDueTime(
      std::span<const AgencyHold> holds) override {
    return target_.NextDueTime(holds);
  }
  absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) override {
    return target_.RecordOutcomes(outcomes);
  }
  absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(
      std::span<const FeedAppend> appends, absl::Time now) override {
    return target_.AppendToFeeds(appends, now);
  }
  absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string& agency_id,
                                                  uint64_t after_sequence,
                                                  size_t limit) override {
    return target_.ReadFeed(agency_id, after_sequence, limit);
  }
  absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(
      const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
      size_t limit) override {
    return target_.ReadUnreceivedFeed(agency_id, after_sequence, up_to_sequence, limit);
  }
  absl::StatusOr<uint64_t> FeedHead(const std::string& agency_id) override {
    return target_.FeedHead(agency_id);
  }
  absl::StatusOr<uint64_t> ApplyAck(const AckWrite& write) override {
    return target_.ApplyAck(write);
  }
  absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> ApplyAcks(
      std::span<const AckWrite> writes) override {
    return target_.ApplyAcks(writes);
  }
  absl::Status ApplyReferralChange(const ReferralChange& change) override {
    return target_.ApplyReferralChange(change);
  }
  absl::StatusOr<std::optional<StoredSupplement>> FindSupplement(
      const std::string& supplement_id) override {
    return target_.FindSupplement(supplement_id);
  }
  absl::StatusOr<std::vector<std::string>> ListSupplements(
      const std::string& referral_id) override {
    return target_.ListSupplements(referral_id);
  }
  absl::StatusOr<std::string> FindReferralId(const std::string& careline_report_id) override {
    return target_.FindReferralId(careline_report_id);
  }
  absl::StatusOr<std::vector<TimerRecord>> ClaimDueTimers(absl::Time now, absl::Time lease_until,
                                                          size_t limit) override {
    return target_.ClaimDueTimers(now, lease_until, limit);
  }
  absl::StatusOr<std::vector<TimerRecord>> PendingTimers(const std::string& referral_id) override {
    return target_.PendingTimers(referral_id);
  }
  absl::StatusOr<uint64_t> ApplyEscalationStep(const EscalationWrite& write) override {
    return target_.ApplyEscalationStep(write);
  }
  absl::StatusOr<std::vector<EscalationRecord>> ReadEscalations(uint64_t after_sequence,
                                                                size_t limit) override {
    return target_.ReadEscalations(after_sequence, limit);
  }
  absl::StatusOr<std::vector<EscalationRecord>> EscalationsOf(
      const std::string& delivery_id) override {
    return target_.EscalationsOf(delivery_id);
  }
  absl::Status ApplyRedelivery(const RedeliveryWrite& write) override {
    return target_.ApplyRedelivery(write);
  }
  absl::StatusOr<SealResult> SealReferral(const SealWrite& write) override {
    return target_.SealReferral(write);
  }
  absl::StatusOr<size_t> RewrapDataKeys() override { return target_.RewrapDataKeys(); }
  absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
      std::span<WriteRequest> batch) override {
    return target_.ApplyWrites(batch);
  }
  absl::Status PrepareReferral(NewReferral& referral) override {
    return target_.PrepareReferral(referral);
  }
  absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(
      const ReferralQuery& query) override {
    return target_.ListReferrals(query);
  }
  absl::StatusOr<ReferralRecord> GetReferral(const std::string& referral_id) override {
    return target_.GetReferral(referral_id);
  }
  absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(
      const std::string& referral_id) override {
    return target_.GetDeliveries(referral_id);
  }
  absl::StatusOr<std::vector<ReportReferral>> ReadReportPage(
      const ReportPageQuery& query) override {
    return target_.ReadReportPage(query);
  }
  absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) override {
    return target_.GetDelivery(delivery_id);
  }
  std::vector<absl::StatusOr<DeliveryRecord>> GetDeliveriesByIds(
      std::span<const std::string> delivery_ids) override {
    return target_.GetDeliveriesByIds(delivery_ids);
  }
  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditQuery& query) override {
    return target_.ListAuditEvents(query);
  }
  absl::StatusOr<AuditTreeHead> AuditHead() override { return target_.AuditHead(); }
  absl::StatusOr<std::string> AuditLeafHash(uint64_t index) override {
    return target_.AuditLeafHash(index);
  }
  absl::StatusOr<std::optional<std::string>> AuditSubtreeHash(uint32_t height,
                                                              uint64_t index) override {
    return target_.AuditSubtreeHash(height, index);
  }
  absl::Status AppendCheckpoint(const v1::Checkpoint& checkpoint) override {
    return target_.AppendCheckpoint(checkpoint);
  }
  absl::StatusOr<bool> TryLead(absl::Time now, absl::Time until) override {
    return target_.TryLead(now, until);
  }
  absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints() override {
    return target_.ListCheckpoints();
  }
  absl::StatusOr<OpsSnapshot> ReadOpsSnapshot(absl::Time now) override {
    return target_.ReadOpsSnapshot(now);
  }
  void StopOpsSnapshotReads() override { target_.StopOpsSnapshotReads(); }

 protected:
  Store& target_;
};

}  // namespace hart
