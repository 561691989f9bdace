#include "adapters/ncmec/ncmec_adapter.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "adapters/common/content_loader.h"
#include "broker/common/secret_file.h"
#include "adapters/common/typed_settings.h"
#include "adapters/http/https_client.h"
#include "adapters/ncmec/ncmec_responses.h"
#include "adapters/ncmec/ncmec_settings.pb.h"
#include "adapters/ncmec/report_attempt.h"
#include "adapters/ncmec/report_xml.h"
#include "broker/delivery_content.h"

namespace hart::adapters::ncmec {
namespace {

namespace rv1 = ::hart::referral::v1;

absl::Status Invalid(absl::string_view setting, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ncmec settings: ", setting, " ", what));
}

absl::StatusOr<v1::NcmecSettings> ParseAndCheck(const google::protobuf::Struct& raw) {
  auto settings = ParseSettings<v1::NcmecSettings>(kAdapterType, raw);
  if (!settings.ok()) return settings.status();
  const absl::string_view url = settings->base_url();
  if (!absl::StartsWith(url, "https://") || url.size() <= std::string_view("https://").size()) {
    return Invalid("base_url", "must be https://host[:port][/path], e.g. "
                               "https://report.cybertip.org/ispws");
  }
  if (settings->credentials_file().empty()) {
    return Invalid("credentials_file", "is required: a file holding username:password");
  }
  if (settings->client_cert_file().empty() != settings->client_key_file().empty()) {
    return Invalid("client_cert_file and client_key_file", "must be given together");
  }
  if (settings->reporter().organization_name().empty()) {
    return Invalid("reporter.organization_name", "is required, e.g. \"Connecticut DCF Careline\"");
  }
  if (settings->reporter().email().empty() ||
      !absl::StrContains(settings->reporter().email(), "@")) {
    return Invalid("reporter.email", "is required: the Careline desk's e-mail address");
  }
  if (!settings->state().empty() && settings->state().size() != 2) {
    return Invalid("state", "must be a two-letter state code such as CT");
  }
  return settings;
}

// "Basic base64(username:password)" from the credentials file.
absl::StatusOr<std::string> BasicAuthorization(const std::string& file) {
  auto secret = ReadSecretFile(file);
  if (!secret.ok()) return secret.status();
  const size_t colon = secret->find(':');
  if (colon == 0 || colon == std::string::npos || secret->find('\n') != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        "credentials file ", file, " must hold one line username:password"));
  }
  return absl::StrCat("Basic ", absl::Base64Escape(*secret));
}

class NcmecAdapter final : public Adapter {
 public:
  NcmecAdapter(std::shared_ptr<NcmecEndpoint> endpoint, v1::NcmecSettings settings,
               const DeliveryContent& content, AdapterIo& io)
      : endpoint_(std::move(endpoint)),
        settings_(std::move(settings)),
        loader_(content, io.context(), kAdapterType) {}

  std::string_view type() const override { return kAdapterType; }

  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    if (auto reportable = CheckReportable(delivery.kind); !reportable.ok()) {
      return done(DeliveryResult::Failed(reportable));
    }
    loader_.Load(delivery, /*notification_only=*/false, std::move(done),
                 [this](const DeliveryRecord& delivery, const rv1::ReferralDelivery& message,
                        DoneCallback done) { Report(delivery, message, std::move(done)); });
  }

 private:
  // On the event loop, once the message is loaded.
  void Report(const DeliveryRecord& delivery, const rv1::ReferralDelivery& message,
              DoneCallback done) {
    auto xml = BuildReportXml(message, settings_);
    if (!xml.ok()) return done(DeliveryResult::Failed(xml.status()));
    AttemptInput input;
    input.delivery_id = delivery.delivery_id;
    input.attempt = delivery.attempts;
    input.known_report_id = ReportIdFromRef(delivery.transport_ref).value_or("");
    input.report_xml = *std::move(xml);
    RunReportAttempt(endpoint_, std::move(input), std::move(done));
  }

  const std::shared_ptr<NcmecEndpoint> endpoint_;
  const v1::NcmecSettings settings_;
  ContentLoader loader_;  // last: gone before what its continuations use
};

}  // namespace

absl::Status CheckReportable(rv1::MessageKind kind) {
  if (kind == rv1::REFERRAL || kind == rv1::UPDATE) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "ncmec adapter sends reports only (delivery kind ", rv1::MessageKind_Name(kind), ")"));
}

absl::Status NcmecAdapterFactory::ValidateSettings(const google::protobuf::Struct& settings) const {
  return ParseAndCheck(settings).status();
}

absl::StatusOr<std::unique_ptr<Adapter>> NcmecAdapterFactory::Create(
    const std::string& agency_id, const google::protobuf::Struct& raw,
    const AdapterContext& context) const {
  auto settings = ParseAndCheck(raw);
  if (!settings.ok()) return settings.status();
  if (context.content == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ncmec adapter of agency ", agency_id, " needs the broker's delivery content"));
  }
  auto authorization = BasicAuthorization(settings->credentials_file());
  if (!authorization.ok()) return authorization.status();
  http::TlsClientOptions tls;
  tls.ca_file = settings->ca_file();
  tls.client_cert_file = settings->client_cert_file();
  tls.client_key_file = settings->client_key_file();
  auto client = http::HttpsClient::Create(io_, tls);
  if (!client.ok()) return client.status();

  auto endpoint = std::make_shared<NcmecEndpoint>();
  endpoint->client = *std::move(client);
  endpoint->base_url = std::string(absl::StripSuffix(settings->base_url(), "/"));
  endpoint->authorization = *std::move(authorization);
  endpoint->credentials_file = settings->credentials_file();
  endpoint->timeout = context.timeout;
  endpoint->clock = context.clock;
  return std::make_unique<NcmecAdapter>(std::move(endpoint), *std::move(settings),
                                        *context.content, io_);
}

}  // namespace hart::adapters::ncmec
