#include "adapters/webhook/webhook_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/common/content_loader.h"
#include "broker/common/secret_file.h"
#include "adapters/common/typed_settings.h"
#include "adapters/http/https_client.h"
#include "adapters/webhook/webhook_settings.pb.h"
#include "adapters/webhook/webhook_signature.h"
#include "broker/clock.h"
#include "broker/delivery_content.h"
#include "google/protobuf/util/json_util.h"

namespace hart::adapters::webhook {
namespace {

using ReferralDelivery = ::hart::referral::v1::ReferralDelivery;

using http::HttpResponse;
using Settings = ::hart::adapters::webhook::v1::WebhookSettings;

absl::Status SettingsError(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(kAdapterType, " settings: ", what));
}

absl::StatusOr<Settings> ParseAndCheck(const google::protobuf::Struct& raw) {
  auto settings = ParseSettings<Settings>(kAdapterType, raw);
  if (!settings.ok()) return settings.status();
  if (settings->url().empty()) {
    return SettingsError("url is required (the partner's https:// endpoint)");
  }
  if (auto url = http::ParseHttpsUrl(settings->url()); !url.ok()) {
    return SettingsError(absl::StrCat("url: ", url.status().message()));
  }
  if (settings->secret_file().empty()) {
    return SettingsError(
        "secret_file is required (a chmod 600 file holding the HMAC key shared with the "
        "partner)");
  }
  if (settings->client_cert_file().empty() != settings->client_key_file().empty()) {
    return SettingsError("client_cert_file and client_key_file go together: set both or neither");
  }
  return settings;
}

// What the partner's answer means to the broker. Never quotes the body.
DeliveryResult Interpret(const absl::StatusOr<HttpResponse>& response, absl::Time now) {
  if (!response.ok()) return DeliveryResult::Failed(response.status());  // transport: retry
  const int status = response->status;
  if (status >= 200 && status < 300) {
    return DeliveryResult::Delivered(absl::StrCat("webhook:", status));
  }
  const auto retry_after = http::ParseRetryAfter(*response, now);
  if (status == 429) {
    return DeliveryResult::Failed(
        absl::ResourceExhaustedError("partner throttled delivery with HTTP 429"), retry_after);
  }
  if (status == 408 || (status >= 500 && status < 600)) {
    return DeliveryResult::Failed(
        absl::UnavailableError(absl::StrCat("partner answered HTTP ", status)), retry_after);
  }
  if (status >= 300 && status < 500) {
    return DeliveryResult::Failed(absl::FailedPreconditionError(absl::StrCat(
        "partner refused delivery with HTTP ", status,
        status < 400 ? " (redirects are not followed: set url to the final endpoint)" : "")));
  }
  return DeliveryResult::Failed(
      absl::UnavailableError(absl::StrCat("partner answered unexpected HTTP ", status)));
}

class WebhookAdapter final : public Adapter {
 public:
  WebhookAdapter(std::string url, std::string secret, std::unique_ptr<http::HttpsClient> client,
                 const AdapterContext& context, AdapterIo& io)
      : url_(std::move(url)),
        secret_(std::move(secret)),
        client_(std::move(client)),
        clock_(*context.clock),
        timeout_(context.timeout),
        loader_(*context.content, io.context(), kAdapterType) {}

  std::string_view type() const override { return kAdapterType; }

  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    loader_.Load(delivery, /*notification_only=*/false, std::move(done),
                 [this](const DeliveryRecord& delivery,
                        const ReferralDelivery& message,
                        DoneCallback done) { Send(delivery, message, std::move(done)); });
  }

 private:
  // On the event loop, once the message is loaded.
  void Send(const DeliveryRecord& delivery, const ReferralDelivery& message,
            DoneCallback done) {
    http::HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.timeout = timeout_;
    if (auto s = google::protobuf::util::MessageToJsonString(message, &request.body); !s.ok()) {
      done(DeliveryResult::Failed(absl::InternalError(
          absl::StrCat("cannot encode delivery ", delivery.delivery_id, " as JSON"))));
      return;
    }
    request.headers["Content-Type"] = "application/json";
    request.headers["Idempotency-Key"] = delivery.delivery_id;
    request.headers["X-Hart-Delivery-Id"] = delivery.delivery_id;
    request.headers["X-Hart-Message-Kind"] = ::hart::referral::v1::MessageKind_Name(message.kind());
    request.headers[kSignatureHeader] =
        WebhookSignature(secret_, absl::ToUnixSeconds(clock_.Now()), request.body);
    client_->Send(std::move(request),
                  [done = std::move(done), &clock = clock_](absl::StatusOr<HttpResponse> r) {
                    done(Interpret(r, clock.Now()));
                  });
  }

  const std::string url_;
  const std::string secret_;
  const std::unique_ptr<http::HttpsClient> client_;
  const Clock& clock_;  // outlives every adapter (AdapterContext)
  const absl::Duration timeout_;
  ContentLoader loader_;  // last: gone before what its continuations use
};

}  // namespace

absl::Status WebhookAdapterFactory::ValidateSettings(
    const google::protobuf::Struct& settings) const {
  return ParseAndCheck(settings).status();
}

absl::StatusOr<std::unique_ptr<Adapter>> WebhookAdapterFactory::Create(
    const std::string& agency_id, const google::protobuf::Struct& raw,
    const AdapterContext& context) const {
  auto settings = ParseAndCheck(raw);
  if (!settings.ok()) return settings.status();
  if (context.content == nullptr || context.clock == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "webhook adapter for agency ", agency_id, " needs the broker's delivery content and clock"));
  }
  auto secret = ReadSecretFile(settings->secret_file());
  if (!secret.ok()) return SettingsError(absl::StrCat("secret_file: ", secret.status().message()));
  if (secret->size() < kMinSecretBytes) {
    return SettingsError(absl::StrCat(
        "secret_file: ", settings->secret_file(), " holds ", secret->size(),
        " bytes; the HMAC key must be at least ", kMinSecretBytes,
        " (e.g. openssl rand -hex 32 > FILE; chmod 600 FILE)"));
  }
  auto client = http::HttpsClient::Create(
      io_, {settings->ca_file(), settings->client_cert_file(), settings->client_key_file()});
  if (!client.ok()) return SettingsError(std::string(client.status().message()));
  return std::make_unique<WebhookAdapter>(settings->url(), std::move(*secret),
                                          std::move(*client), context, io_);
}

}  // namespace hart::adapters::webhook
