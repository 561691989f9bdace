#include "broker/dashboard/read_api.h"

#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "broker/common/client_facing_status.h"
#include "broker/dashboard/query_params.h"
#include "broker/dashboard/responses.h"
#include "broker/reports/report_period.h"

namespace hart::dashboard {
namespace {

ops::OpsResponse Answer(const absl::StatusOr<ops::OpsResponse>& answer) {
  return answer.ok() ? *answer : ErrorJson(ClientFacingStatus(answer.status()));
}

// The filters of a list page; INVALID_ARGUMENT naming a bad one.
absl::StatusOr<v1::ListReferralsRequest> ListRequest(const std::map<std::string, std::string>& params) {
  v1::ListReferralsRequest request;
  request.set_page_size(200);
  auto get = [&params](const char* name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  };
  if (const std::string region = get("region"); !region.empty()) {
    uint32_t number = 0;
    if (!absl::SimpleAtoi(region, &number) || number == 0) {
      return absl::InvalidArgumentError("region: use a DCF region number, 1 to 6");
    }
    request.set_region(number);
  }
  if (const std::string state = get("state"); !state.empty()) {
    v1::DeliveryState parsed;
    if (!v1::DeliveryState_Parse(state, &parsed) || parsed == v1::DELIVERY_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          "state: use PENDING, IN_FLIGHT, DELIVERED, ACKNOWLEDGED, DECLINED, DEAD or SEALED");
    }
    request.add_states(parsed);
  }
  request.set_agency_id(get("agency"));
  request.set_rule_id(get("rule"));
  return request;
}

// Runs a list on the executor; strips what a list view must not show.
void ServeList(const DashboardServices& services, v1::ListReferralsRequest request,
               const ops::Reply& reply) {
  SupervisorOperations* operations = services.operations;
  services.executor->Run(
      [operations, request = std::move(request)]() -> absl::StatusOr<ops::OpsResponse> {
        v1::ListReferralsResponse found;
        if (auto s = operations->FindReferrals(request, &found); !s.ok()) return s;
        for (auto& referral : *found.mutable_referrals()) {
          referral.clear_careline_report_id();  // a case number: not in lists
          referral.clear_resolved_town();
        }
        return JsonOf(found);
      },
      [reply](absl::StatusOr<ops::OpsResponse> answer) { reply.Respond(Answer(answer)); });
}

void ServeReferral(const DashboardServices& services, const Identity& caller, std::string id,
                   const ops::Reply& reply) {
  if (id.empty()) {
    reply.Respond(ErrorJson(absl::InvalidArgumentError("give a referral id or a Careline report id")));
    return;
  }
  SupervisorOperations* operations = services.operations;
  services.executor->Run(
      [operations, caller, id = std::move(id)]() -> absl::StatusOr<ops::OpsResponse> {
        v1::ReferralStatus referral;
        absl::Status read = operations->ReadReferral(caller, id, "via=dashboard", &referral);
        if (read.code() == absl::StatusCode::kNotFound) {
          // Perhaps a Careline report id.
          auto referral_id = operations->FindReferralId(id);
          if (!referral_id.ok()) {
            return absl::NotFoundError("no referral has that referral id or Careline report id");
          }
          read = operations->ReadReferral(caller, *referral_id, "via=dashboard", &referral);
        }
        if (!read.ok()) return read;
        return JsonOf(referral);
      },
      [reply](absl::StatusOr<ops::OpsResponse> answer) { reply.Respond(Answer(answer)); });
}

// kind=missing-from-care|ack-times with from=YYYY-MM&to=YYYY-MM, or
// kind=annual with year=YYYY; INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<v1::GetComplianceReportRequest> ReportRequest(
    const std::map<std::string, std::string>& params) {
  auto get = [&params](const char* name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  };
  v1::GetComplianceReportRequest request;
  const std::string kind = get("kind");
  if (kind == "annual") {
    uint32_t year = 0;
    if (!absl::SimpleAtoi(get("year"), &year)) {
      return absl::InvalidArgumentError("year: give the year, e.g. 2026");
    }
    request.mutable_annual_counts()->set_year(year);
    return request;
  }
  v1::ReportMonth* first = nullptr;
  v1::ReportMonth* last = nullptr;
  if (kind == "missing-from-care") {
    first = request.mutable_missing_from_care()->mutable_first_month();
    last = request.mutable_missing_from_care()->mutable_last_month();
  } else if (kind == "ack-times") {
    first = request.mutable_ack_times()->mutable_first_month();
    last = request.mutable_ack_times()->mutable_last_month();
  } else {
    return absl::InvalidArgumentError("kind: use missing-from-care, ack-times or annual");
  }
  auto from = reports::ParseReportMonth(get("from"));
  if (!from.ok()) return absl::InvalidArgumentError("from: " + std::string(from.status().message()));
  auto to = reports::ParseReportMonth(get("to"));
  if (!to.ok()) return absl::InvalidArgumentError("to: " + std::string(to.status().message()));
  *first = *from;
  *last = *to;
  return request;
}

// A compliance report, audited under the caller as any report read.
void ServeReport(const DashboardServices& services, const Identity& caller,
                 v1::GetComplianceReportRequest request, const ops::Reply& reply) {
  SupervisorOperations* operations = services.operations;
  services.executor->Run(
      [operations, caller, request = std::move(request)]() -> absl::StatusOr<ops::OpsResponse> {
        auto report = operations->Report(caller, request, {});
        if (!report.ok()) return report.status();
        return JsonOf(*report);
      },
      [reply](absl::StatusOr<ops::OpsResponse> answer) { reply.Respond(Answer(answer)); });
}

}  // namespace

bool ServeRead(const DashboardServices& services, const Identity& caller,
               const ops::OpsRequest& request, const ops::Reply& reply) {
  const std::string& path = request.path;
  const auto params = ParseQuery(request.query);
  if (path == "/dashboard/api/overdue" || path == "/dashboard/api/dead-letters") {
    auto list = ListRequest(params);
    if (!list.ok()) {
      reply.Respond(ErrorJson(list.status()));
      return true;
    }
    if (path == "/dashboard/api/overdue") {
      list->set_overdue(true);
    } else {
      list->clear_states();
      list->add_states(v1::DEAD);
    }
    ServeList(services, std::move(*list), reply);
    return true;
  }
  if (path == "/dashboard/api/referral") {
    auto id = params.find("id");
    ServeReferral(services, caller, id == params.end() ? "" : id->second, reply);
    return true;
  }
  if (path == "/dashboard/api/report") {
    auto report = ReportRequest(params);
    if (!report.ok()) {
      reply.Respond(ErrorJson(report.status()));
      return true;
    }
    ServeReport(services, caller, std::move(*report), reply);
    return true;
  }
  if (path == "/dashboard/api/adapters") {
    // In memory: answered here.
    reply.Respond(JsonOf(services.operations->ListAdapterHealth({})));
    return true;
  }
  return false;
}

}  // namespace hart::dashboard
