// The `webhook` adapter: each delivery is one HTTPS POST of its message
// (v1.ReferralDelivery as JSON) to the partner's URL, signed with
// HMAC-SHA256 and carrying the delivery id as Idempotency-Key. A 2xx makes
// the delivery DELIVERED; 408, 429 and 5xx and transport failures are
// retried (honouring Retry-After); any other answer is a dead letter. What
// the partner receives and how it verifies and acknowledges: README.md.
//
// Thread safety: adapters may deliver concurrently; I/O runs on AdapterIo.
#pragma once

#include <memory>
#include <string>

#include "adapters/common/adapter_io.h"
#include "broker/adapter_registry.h"

namespace hart::adapters::webhook {

inline constexpr char kAdapterType[] = "webhook";

class WebhookAdapterFactory final : public AdapterFactory {
 public:
  // `io` must outlive every adapter built.
  explicit WebhookAdapterFactory(AdapterIo& io) : io_(io) {}
  std::string_view type() const override { return kAdapterType; }
  // Checks the settings' shape (keys, https URL, required secret_file);
  // files are read by Create.
  absl::Status ValidateSettings(const google::protobuf::Struct& settings) const override;
  // Also reads the secret and loads the TLS files: errors name the file.
  // Needs `context.content` and `context.clock`.
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const std::string& agency_id, const google::protobuf::Struct& settings,
      const AdapterContext& context) const override;

 private:
  AdapterIo& io_;
};

}  // namespace hart::adapters::webhook
