// gRPC edge of SupervisorService (supervisor role); what it does is in
// SupervisorOperations, shared with the dashboard.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "broker/api/authorizer.h"
#include "broker/api/supervisor_operations.h"
#include "broker/intake/sealer.h"
#include "broker/common/topic_hub.h"
#include "broker/intake/intake_pipeline.h"
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
    // Reads, redelivery, acknowledgements and adapter health, shared with
    // the dashboard.
    SupervisorOperations* operations = nullptr;
    TopicHub* escalation_hub = nullptr;
    Sealer* sealer = nullptr;
    // Wakes the dispatcher after a seal.
    std::function<void()> wake;
    // Makes a one-time dashboard sign-in link (its URL and expiry) for a
    // supervisor; null: no dashboard (FAILED_PRECONDITION).
    std::function<absl::StatusOr<std::pair<std::string, absl::Time>>(const Identity&)>
        dashboard_login;
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
  grpc::ServerUnaryReactor* CreateDashboardLogin(
      grpc::CallbackServerContext* context, const v1::CreateDashboardLoginRequest* request,
      v1::CreateDashboardLoginResponse* response) override;

 private:
  // ExplainRouting's work: validation and routing, nothing stored.
  grpc::Status Explain(const v1::ExplainRoutingRequest& request,
                       v1::ExplainRoutingResponse* response) const;

  Deps d_;
};

}  // namespace hart
