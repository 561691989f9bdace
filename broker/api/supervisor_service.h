// gRPC edge of SupervisorService (supervisor role).
#pragma once

#include <functional>

#include "broker/acks/ack_recorder.h"
#include "broker/adapter_health.h"
#include "broker/acks/redelivery.h"
#include "broker/api/authorizer.h"
#include "broker/intake/sealer.h"
#include "broker/common/topic_hub.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/reports/compliance_reports.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

namespace hart {

// Store calls run on the store executor: gRPC threads only enqueue.
class SupervisorServiceImpl final : public v1::SupervisorService::CallbackService {
 public:
  struct Deps {
    Store* store = nullptr;
    StoreExecutor* executor = nullptr;
    IntakePipeline* pipeline = nullptr;
    Authorizer* authorizer = nullptr;
    const Clock* clock = nullptr;
    const Geography* geography = nullptr;
    Redeliverer* redeliverer = nullptr;
    AckRecorder* acks = nullptr;
    TopicHub* escalation_hub = nullptr;
    Sealer* sealer = nullptr;
    // Push destinations' health; null: none reported.
    const AdapterHealthSource* adapter_health = nullptr;
    // Wakes the dispatcher after a redelivery.
    std::function<void()> wake;
    // GetComplianceReport (config `reports`).
    reports::ReportOptions report_options;
  };
  // Every pointer must outlive the service.
  explicit SupervisorServiceImpl(Deps deps) : d_(std::move(deps)) {}

  grpc::ServerUnaryReactor* GetReferral(grpc::CallbackServerContext* context,
                                        const v1::GetReferralRequest* request,
                                        v1::ReferralStatus* response) override;
  grpc::ServerUnaryReactor* ExplainRouting(grpc::CallbackServerContext* context,
                                           const v1::ExplainRoutingRequest* request,
                                           v1::ExplainRoutingResponse* response) override;
  grpc::ServerUnaryReactor* ListReferrals(grpc::CallbackServerContext* context,
                                          const v1::ListReferralsRequest* request,
                                          v1::ListReferralsResponse* response) override;
  grpc::ServerWriteReactor<v1::EscalationEvent>* WatchEscalations(
      grpc::CallbackServerContext* context, const v1::WatchEscalationsRequest* request) override;
  grpc::ServerUnaryReactor* Redeliver(grpc::CallbackServerContext* context,
                                      const v1::RedeliverRequest* request,
                                      v1::RedeliverResponse* response) override;
  grpc::ServerUnaryReactor* AcknowledgeOnBehalf(
      grpc::CallbackServerContext* context, const v1::AcknowledgeOnBehalfRequest* request,
      v1::AcknowledgeOnBehalfResponse* response) override;
  grpc::ServerUnaryReactor* SealReferral(grpc::CallbackServerContext* context,
                                         const v1::SealReferralRequest* request,
                                         v1::SealReferralResponse* response) override;
  grpc::ServerUnaryReactor* ListAdapterHealth(
      grpc::CallbackServerContext* context, const v1::ListAdapterHealthRequest* request,
      v1::ListAdapterHealthResponse* response) override;
  // supervisor_reports.cc
  grpc::ServerUnaryReactor* GetComplianceReport(grpc::CallbackServerContext* context,
                                                const v1::GetComplianceReportRequest* request,
                                                v1::ComplianceReport* response) override;

 private:
  // The work of GetReferral, ExplainRouting and ListReferrals, once the
  // caller is authorised; each fills `response` and says how to finish.
  grpc::Status ReadReferral(const Identity& identity, const v1::GetReferralRequest& request,
                            v1::ReferralStatus* response);
  grpc::Status Explain(const v1::ExplainRoutingRequest& request,
                       v1::ExplainRoutingResponse* response) const;
  grpc::Status FindReferrals(const v1::ListReferralsRequest& request,
                             v1::ListReferralsResponse* response);
  grpc::Status RunReport(const Identity& identity, const grpc::CallbackServerContext& context,
                         const v1::GetComplianceReportRequest& request,
                         v1::ComplianceReport* response);

  Deps d_;
};

// Domain -> API conversions, shared with tests.
v1::DeliveryStatus ToDeliveryStatus(const DeliveryWithAcks& item, absl::Time now);
v1::AdapterHealth ToAdapterHealth(const AdapterHealth& health);

}  // namespace hart
