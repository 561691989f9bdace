// The `email` adapter: tells an agency by e-mail that a referral (or an
// update, escalation or erasure order) is waiting, over SMTP with STARTTLS
// required. The e-mail is a notification only — ids, deadlines, where to
// look and how to acknowledge — and never carries intake facts. A delivery
// is DELIVERED once the agency's mail server accepted the message
// (transport_ref "smtp:<Message-ID>"). See README.md.
//
// Thread safety: the factory is immutable; adapters may Deliver
// concurrently; `done` runs on an AdapterIo thread (or inline for errors
// found before any I/O).
#pragma once

#include <memory>
#include <string>

#include "adapters/common/adapter_io.h"
#include "adapters/email/email_config.h"
#include "broker/adapter_registry.h"

namespace hart::adapters::email {

class EmailAdapterFactory final : public AdapterFactory {
 public:
  // `io` must outlive every adapter built.
  explicit EmailAdapterFactory(AdapterIo& io) : io_(io) {}
  std::string_view type() const override { return kAdapterType; }
  absl::Status ValidateSettings(const google::protobuf::Struct& settings) const override;
  // Also loads ca_file and checks password_file now; errors name the file.
  // Needs context.content.
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const std::string& agency_id, const google::protobuf::Struct& settings,
      const AdapterContext& context) const override;

 private:
  AdapterIo& io_;
};

}  // namespace hart::adapters::email
