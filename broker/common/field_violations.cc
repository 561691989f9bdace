#include "broker/common/field_violations.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace hart {

absl::Status InvalidArgumentWithViolations(
    const std::string& summary, const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  std::string message = summary;
  for (const auto& v : violations) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    absl::StrAppend(&message, "\n  ", v.field, ": ", v.description);
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return status;
}

std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status) {
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return std::nullopt;
  return bad_request;
}

}  // namespace hart
