// What supervisors may do, independent of the transport: the gRPC
// SupervisorService and the dashboard (broker/dashboard/) both call it
// with the caller's Identity, already known to be a supervisor, so reads
// and actions are audited alike. Errors are internal statuses: the caller
// turns them into its client-facing form (ToGrpcStatus, ClientFacingStatus).
//
// Thread safety: every method may be called from any thread; the blocking
// ones (they read or write the store) only on the StoreExecutor.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/acks/ack_recorder.h"
#include "broker/acks/redelivery.h"
#include "broker/adapter_health.h"
#include "broker/api/identity.h"
#include "broker/clock.h"
#include "broker/reports/compliance_reports.h"
#include "broker/routing/geography.h"
#include "broker/store.h"
#include "broker/store/write_queue.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart {

class SupervisorOperations {
 public:
  struct Deps {
    Store* store = nullptr;
    const Clock* clock = nullptr;
    const Geography* geography = nullptr;
    Redeliverer* redeliverer = nullptr;
    AckRecorder* acks = nullptr;
    // Push destinations' health; null: none reported.
    const AdapterHealthSource* adapter_health = nullptr;
    // Wakes the dispatcher after a redelivery.
    std::function<void()> wake;
    // Compliance reports (config `reports`).
    reports::ReportOptions report_options;
    // Audit events of reads go through it (one group commit with the other
    // writes); null: straight to `store` in a transaction of their own.
    WriteQueue* writes = nullptr;
  };
  // Every pointer must outlive it.
  explicit SupervisorOperations(Deps deps) : d_(std::move(deps)) {}

  // Blocking (store executor). Records `event`, a read by a person,
  // durably; UNAVAILABLE if it could not.
  absl::Status AuditRead(AuditEvent event);

  // Blocking. The referral with every delivery and its timeline; the read
  // is audited (referral.read) under `reader`, `via` saying where from
  // ("rpc=GetReferral"). NOT_FOUND if unknown.
  absl::Status ReadReferral(const Identity& reader, const std::string& referral_id,
                            absl::string_view via, v1::ReferralStatus* out);
  // Blocking. The referral id of a Careline report id; NOT_FOUND if none.
  absl::StatusOr<std::string> FindReferralId(const std::string& careline_report_id);
  // Blocking. Referrals matching every filter set, newest first, paged.
  absl::Status FindReferrals(const v1::ListReferralsRequest& request,
                             v1::ListReferralsResponse* out);
  // Blocking. Sends a DEAD or DECLINED delivery again (audited under
  // `supervisor`) and wakes the dispatcher.
  absl::StatusOr<v1::RedeliverResponse> Redeliver(const Identity& supervisor,
                                                  const v1::RedeliverRequest& request);
  // Not blocking: `done` runs once the acknowledgement is durable (or
  // refused), on another thread or at once.
  void AcknowledgeOnBehalf(const Identity& supervisor,
                           const v1::AcknowledgeOnBehalfRequest& request,
                           std::function<void(absl::StatusOr<v1::AcknowledgeOnBehalfResponse>)> done);
  // Blocking. A compliance report as of now, its read audited (report.read)
  // under `reader`; `cancelled` (polled between pages) stops a scan the
  // caller gave up on.
  absl::StatusOr<v1::ComplianceReport> Report(const Identity& reader,
                                              const v1::GetComplianceReportRequest& request,
                                              const std::function<bool()>& cancelled);
  // In memory, not blocking.
  v1::ListAdapterHealthResponse ListAdapterHealth(const v1::ListAdapterHealthRequest& request) const;

 private:
  Deps d_;
};

// Domain -> API conversions, shared with tests.
v1::DeliveryStatus ToDeliveryStatus(const DeliveryWithAcks& item, absl::Time now);
v1::AdapterHealth ToAdapterHealth(const AdapterHealth& health);

}  // namespace hart
