#include "adapters/email/email_adapter.h"

#include "absl/strings/str_cat.h"
#include "adapters/common/content_loader.h"
#include "broker/common/secret_file.h"
#include "adapters/email/email_notice.h"
#include "adapters/email/smtp_client.h"
#include "broker/clock.h"
#include "broker/delivery_content.h"

namespace hart::adapters::email {
namespace {

using ReferralDelivery = ::hart::referral::v1::ReferralDelivery;

class EmailAdapter final : public Adapter {
 public:
  EmailAdapter(EmailSettings settings, std::unique_ptr<SmtpClient> client,
               const AdapterContext& context, AdapterIo& io)
      : settings_(std::move(settings)),
        client_(std::move(client)),
        clock_(context.clock),
        timeout_(context.timeout),
        loader_(*context.content, io.context(), kAdapterType) {}

  std::string_view type() const override { return kAdapterType; }

  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    // notification_only: the broker leaves the intake out; FactsOf would
    // not read it anyway.
    loader_.Load(delivery, /*notification_only=*/true, std::move(done),
                 [this](const DeliveryRecord& delivery,
                        const ReferralDelivery& message,
                        DoneCallback done) { Send(delivery, message, std::move(done)); });
  }

 private:
  // On the event loop, once the message is loaded.
  void Send(const DeliveryRecord& delivery, const ReferralDelivery& message,
            DoneCallback done) {
    const absl::Time now = clock_ != nullptr ? clock_->Now() : absl::Now();
    auto notice = BuildEmailNotice(FactsOf(delivery, message), settings_, now);
    if (!notice.ok()) {
      done(DeliveryResult::Failed(notice.status()));
      return;
    }
    SmtpEnvelope envelope{settings_.from(), notice->recipients, std::move(notice->content)};
    client_->Send(std::move(envelope), timeout_,
                  [ref = absl::StrCat("smtp:", notice->message_id),
                   done = std::move(done)](absl::Status status) {
                    done(status.ok() ? DeliveryResult::Delivered(ref)
                                     : DeliveryResult::Failed(std::move(status)));
                  });
  }

  const EmailSettings settings_;
  const std::unique_ptr<SmtpClient> client_;
  const Clock* const clock_;
  const absl::Duration timeout_;
  ContentLoader loader_;  // last: gone before what its continuations use
};

}  // namespace

absl::Status EmailAdapterFactory::ValidateSettings(const google::protobuf::Struct& settings) const {
  return ParseEmailSettings(settings).status();
}

absl::StatusOr<std::unique_ptr<Adapter>> EmailAdapterFactory::Create(
    const std::string& agency_id, const google::protobuf::Struct& raw,
    const AdapterContext& context) const {
  auto settings = ParseEmailSettings(raw);
  if (!settings.ok()) return settings.status();
  if (context.content == nullptr) {
    return absl::FailedPreconditionError(
        "email adapter needs the broker's delivery content (AdapterContext.content)");
  }
  if (!settings->password_file().empty()) {
    // Fail at start-up, not at the first referral; it is read again per message.
    if (auto password = ReadSecretFile(settings->password_file()); !password.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "email settings of agency ", agency_id, ": password_file: ", password.status().message()));
    }
  }
  SmtpServerOptions options;
  options.host = settings->smtp_host();
  options.port = static_cast<uint16_t>(settings->smtp_port());
  options.ca_file = settings->ca_file();
  options.helo_name = settings->helo_name();
  options.username = settings->username();
  options.password_file = settings->password_file();
  auto client = SmtpClient::Create(io_, std::move(options));
  if (!client.ok()) {
    return absl::Status(client.status().code(), absl::StrCat("email settings of agency ", agency_id,
                                                             ": ", client.status().message()));
  }
  return std::unique_ptr<Adapter>(
      new EmailAdapter(*std::move(settings), *std::move(client), context, io_));
}

}  // namespace hart::adapters::email
