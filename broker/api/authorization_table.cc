#include "broker/api/authorization_table.h"

namespace hart {

const std::vector<RpcPermission>& AuthorizationTable() {
  static const auto* table = new std::vector<RpcPermission>{
      {"IntakeService.SubmitIntake", {Role::kCareline}, "any intake"},
      {"IntakeService.SupplementIntake", {Role::kCareline}, "any referral"},
      {"FeedService.Subscribe", {Role::kAgency}, "the caller's own feed only", true},
      {"FeedService.Acknowledge", {Role::kAgency}, "deliveries to the caller's agency only"},
      {"FeedService.AcknowledgeBatch",
       {Role::kAgency},
       "deliveries to the caller's agency only"},
      {"FeedService.AcknowledgeStream",
       {Role::kAgency},
       "deliveries to the caller's agency only",
       true},
      {"SupervisorService.GetReferral", {Role::kSupervisor}, "any referral (the read is audited)"},
      {"SupervisorService.ExplainRouting", {Role::kSupervisor}, "any intake (nothing stored)"},
      {"SupervisorService.ListReferrals", {Role::kSupervisor}, "all referrals"},
      {"SupervisorService.WatchEscalations", {Role::kSupervisor}, "all escalations", true},
      {"SupervisorService.Redeliver", {Role::kSupervisor}, "DEAD or DECLINED deliveries"},
      {"SupervisorService.AcknowledgeOnBehalf", {Role::kSupervisor}, "any delivery"},
      {"SupervisorService.SealReferral", {Role::kSupervisor}, "any referral, by court order"},
      {"SupervisorService.ListAdapterHealth",
       {Role::kSupervisor, Role::kOperator},
       "every push destination's health"},
      {"SupervisorService.GetComplianceReport",
       {Role::kSupervisor},
       "all referrals, as counts and referral ids (the read is audited)"},
      {"SupervisorService.CreateDashboardLogin",
       {Role::kSupervisor},
       "a one-time dashboard sign-in link for the caller"},
      {"AuditService.ListEvents", {Role::kAuditor, Role::kSupervisor}, "the whole log"},
      {"AuditService.ListCheckpoints", {Role::kAuditor, Role::kSupervisor}, "all checkpoints"},
      {"AuditService.CreateCheckpoint", {Role::kAuditor, Role::kSupervisor}, "the log"},
      {"AuditService.ProveConsistency",
       {Role::kAuditor, Role::kSupervisor, Role::kAgency},
       "any two tree sizes"},
      {"AuditService.GetCheckpoint",
       {Role::kAuditor, Role::kSupervisor, Role::kAgency},
       "any checkpoint"},
      {"AuditService.GetPublicKey",
       {Role::kAuditor, Role::kSupervisor, Role::kAgency},
       "the checkpoint key"},
      {"AuditService.ProveInclusion",
       {Role::kAuditor, Role::kSupervisor, Role::kAgency},
       "any event; an agency only events about its own deliveries"},
      {"OperatorService.RotateDataKeys", {Role::kOperator}, "the key directory and data keys"},
  };
  return *table;
}

const RpcPermission* FindPermission(const std::string& rpc) {
  for (const auto& permission : AuthorizationTable()) {
    if (rpc == permission.rpc) return &permission;
  }
  return nullptr;
}

}  // namespace hart
