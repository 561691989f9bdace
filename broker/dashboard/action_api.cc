#include "broker/dashboard/action_api.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/common/client_facing_status.h"
#include "broker/dashboard/responses.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace hart::dashboard {
namespace {

// Parses the body into `message`; INVALID_ARGUMENT for unknown fields or bad JSON.
absl::Status ParseBody(const std::string& body, google::protobuf::Message* message) {
  if (!google::protobuf::util::JsonStringToMessage(body, message).ok()) {
    return absl::InvalidArgumentError(
        "the request body is not the JSON this action takes: reload the page");
  }
  return absl::OkStatus();
}

absl::Status NeedsReason(const std::string& reason) {
  if (reason.empty()) {
    return absl::InvalidArgumentError("give a reason: it is recorded in the audit log");
  }
  return absl::OkStatus();
}

void Redeliver(const DashboardServices& services, const Identity& caller,
               v1::RedeliverRequest request, const ops::Reply& reply) {
  SupervisorOperations* operations = services.operations;
  services.executor->Run(
      [operations, caller, request = std::move(request)] {
        return operations->Redeliver(caller, request);
      },
      [reply](absl::StatusOr<v1::RedeliverResponse> done) {
        reply.Respond(done.ok() ? JsonOf(*done) : ErrorJson(ClientFacingStatus(done.status())));
      });
}

void RedeliverMany(const DashboardServices& services, const Identity& caller,
                   std::vector<std::string> ids, std::string reason, const ops::Reply& reply) {
  SupervisorOperations* operations = services.operations;
  services.executor->Run(
      [operations, caller, ids = std::move(ids), reason = std::move(reason)] {
        // {"redelivered": [{deliveryId, newDeliveryId}], "refused": [{deliveryId, error}]}
        google::protobuf::Struct answer;
        auto* redelivered = (*answer.mutable_fields())["redelivered"].mutable_list_value();
        auto* refused = (*answer.mutable_fields())["refused"].mutable_list_value();
        for (const std::string& id : ids) {
          v1::RedeliverRequest one;
          one.set_delivery_id(id);
          one.set_reason(reason);
          auto done = operations->Redeliver(caller, one);
          auto& fields = *(done.ok() ? redelivered : refused)->add_values()
                              ->mutable_struct_value()->mutable_fields();
          fields["deliveryId"].set_string_value(id);
          if (done.ok()) {
            fields["newDeliveryId"].set_string_value(done->new_delivery_id());
          } else {
            fields["error"].set_string_value(
                std::string(ClientFacingStatus(done.status()).message()));
          }
        }
        return absl::StatusOr<ops::OpsResponse>(JsonOf(answer));
      },
      [reply](absl::StatusOr<ops::OpsResponse> answer) {
        reply.Respond(answer.ok() ? *answer : ErrorJson(ClientFacingStatus(answer.status())));
      });
}

absl::Status ServeBulk(const DashboardServices& services, const Identity& caller,
                       const std::string& body, const ops::Reply& reply) {
  google::protobuf::Struct parsed;
  if (auto s = ParseBody(body, &parsed); !s.ok()) return s;
  const auto& fields = parsed.fields();
  auto reason = fields.find("reason");
  auto ids = fields.find("deliveryIds");
  if (fields.size() != 2 || reason == fields.end() || ids == fields.end() ||
      !ids->second.has_list_value()) {
    return absl::InvalidArgumentError("send {\"deliveryIds\": [...], \"reason\": \"...\"}");
  }
  if (auto s = NeedsReason(reason->second.string_value()); !s.ok()) return s;
  std::vector<std::string> list;
  for (const auto& value : ids->second.list_value().values()) {
    if (value.string_value().empty()) {
      return absl::InvalidArgumentError("deliveryIds: every entry is a delivery id");
    }
    list.push_back(value.string_value());
  }
  if (list.empty() || list.size() > kMaxBulkRedeliveries) {
    return absl::InvalidArgumentError(
        absl::StrCat("deliveryIds: give 1 to ", kMaxBulkRedeliveries, " delivery ids"));
  }
  RedeliverMany(services, caller, std::move(list), reason->second.string_value(), reply);
  return absl::OkStatus();
}

absl::Status Dispatch(const DashboardServices& services, const Identity& caller,
                      const ops::OpsRequest& request, const ops::Reply& reply) {
  if (request.path == "/dashboard/api/redeliver") {
    v1::RedeliverRequest redeliver;
    if (auto s = ParseBody(request.body, &redeliver); !s.ok()) return s;
    if (auto s = NeedsReason(redeliver.reason()); !s.ok()) return s;
    Redeliver(services, caller, std::move(redeliver), reply);
    return absl::OkStatus();
  }
  if (request.path == "/dashboard/api/acknowledge") {
    v1::AcknowledgeOnBehalfRequest ack;
    if (auto s = ParseBody(request.body, &ack); !s.ok()) return s;
    if (auto s = NeedsReason(ack.reason()); !s.ok()) return s;
    services.operations->AcknowledgeOnBehalf(
        caller, ack, [reply](absl::StatusOr<v1::AcknowledgeOnBehalfResponse> done) {
          reply.Respond(done.ok() ? JsonOf(*done)
                                  : ErrorJson(ClientFacingStatus(done.status())));
        });
    return absl::OkStatus();
  }
  return ServeBulk(services, caller, request.body, reply);
}

}  // namespace

bool ServeAction(const DashboardServices& services, const Identity& caller,
                 const ops::OpsRequest& request, const ops::Reply& reply) {
  const std::string& path = request.path;
  if (path != "/dashboard/api/redeliver" && path != "/dashboard/api/acknowledge" &&
      path != "/dashboard/api/redeliver-bulk") {
    return false;
  }
  if (auto s = Dispatch(services, caller, request, reply); !s.ok()) reply.Respond(ErrorJson(s));
  return true;
}

}  // namespace hart::dashboard
