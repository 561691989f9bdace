// SupervisorService.GetComplianceReport: the compliance reports
// (broker/reports/) at the gRPC edge, on the store executor, audited as a
// read.
#include "broker/api/status_mapping.h"
#include "broker/api/supervisor_service.h"
#include "broker/api/unary_call.h"

namespace hart {

grpc::ServerUnaryReactor* SupervisorServiceImpl::GetComplianceReport(
    grpc::CallbackServerContext* context, const v1::GetComplianceReportRequest* request,
    v1::ComplianceReport* response) {
  return AnswerFromStore(*d_.authorizer, *d_.executor, context,
                         "SupervisorService.GetComplianceReport",
                         [this, context, request, response](const Identity& identity) {
                           return RunReport(identity, *context, *request, response);
                         });
}

grpc::Status SupervisorServiceImpl::RunReport(const Identity& identity,
                                              const grpc::CallbackServerContext& context,
                                              const v1::GetComplianceReportRequest& request,
                                              v1::ComplianceReport* response) {
  const reports::ComplianceReports reports(*d_.store, *d_.geography, *d_.clock,
                                           d_.report_options);
  // A client that gave up (its deadline passed) stops the scan between pages.
  auto report = reports.Run(request, [&context] { return context.IsCancelled(); });
  if (!report.ok()) return ToGrpcStatus(report.status());
  // Reading a report is audited like any read by a person (SPEC §6); the
  // entry says which report and period, and names no referral.
  AuditEvent read{d_.clock->Now(), identity.ToString(), "report.read", "", "", "",
                  reports::DescribeReportRequest(request)};
  if (auto s = d_.store->AppendAudit({&read, 1}); !s.ok()) {
    return ToGrpcStatus(absl::UnavailableError(
        "the broker could not record this read in the audit log; retry"));
  }
  *response = std::move(*report);
  return grpc::Status::OK;
}

}  // namespace hart
