// Compliance reports (broker/reports/) for supervisors: run on the store
// executor and audited as a read, whether asked over gRPC
// (SupervisorService.GetComplianceReport) or by the dashboard.
#include "broker/api/status_mapping.h"
#include "broker/api/supervisor_operations.h"
#include "broker/api/supervisor_service.h"
#include "broker/api/unary_call.h"

namespace hart {

absl::StatusOr<v1::ComplianceReport> SupervisorOperations::Report(
    const Identity& reader, const v1::GetComplianceReportRequest& request,
    const std::function<bool()>& cancelled) {
  const reports::ComplianceReports reports(*d_.store, *d_.geography, *d_.clock,
                                           d_.report_options);
  auto report = reports.Run(request, cancelled);
  if (!report.ok()) return report.status();
  // Reading a report is audited like any read by a person (SPEC §6); the
  // entry says which report and period, and names no referral.
  AuditEvent read{d_.clock->Now(), reader.ToString(), "report.read", "", "", "",
                  reports::DescribeReportRequest(request)};
  if (auto s = AuditRead(std::move(read)); !s.ok()) return s;
  return report;
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::GetComplianceReport(
    grpc::CallbackServerContext* context, const v1::GetComplianceReportRequest* request,
    v1::ComplianceReport* response) {
  return AnswerFromStore(
      *d_.authorizer, *d_.executor, context, "SupervisorService.GetComplianceReport",
      [this, context, request, response](const Identity& identity) {
        // A client that gave up (its deadline passed) stops the scan between pages.
        auto report = d_.operations->Report(identity, *request,
                                            [context] { return context->IsCancelled(); });
        if (!report.ok()) return ToGrpcStatus(report.status());
        *response = std::move(*report);
        return grpc::Status::OK;
      });
}

}  // namespace hart
