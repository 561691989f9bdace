// The `ncmec` adapter: files each REFERRAL or UPDATE delivery as a report
// to NCMEC's CyberTipline Reporting API (GET /status, POST /submit, POST
// /finish, HTTP Basic auth, XML bodies) and answers with the report id
// ("ncmec:<reportId>") as the delivery's transport_ref. A retry never files
// a second report: the report id learnt by an earlier attempt comes back in
// delivery.transport_ref, and when an earlier attempt's outcome is unknown
// the adapter first asks NCMEC which report it holds for the delivery id
// (its reporter reference). README.md describes the calls, the mapping of
// answers to retry / dead letter, and the settings (ncmec_settings.proto).
//
// Thread safety: Deliver may be called concurrently; `done` runs once, on
// the caller's thread for a delivery that is not a report, else on an
// AdapterIo thread (the message is loaded off the loop, then the report
// built and sent on it).
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "adapters/common/adapter_io.h"
#include "broker/adapter_registry.h"
#include "hart/referral/v1/common.pb.h"

namespace hart::adapters::ncmec {

inline constexpr char kAdapterType[] = "ncmec";

// Which delivery kinds become reports: OK for REFERRAL and UPDATE;
// FAILED_PRECONDITION (a dead letter) for ESCALATION and ERASURE, which are
// not reports of an incident.
absl::Status CheckReportable(::hart::referral::v1::MessageKind kind);

class NcmecAdapterFactory final : public AdapterFactory {
 public:
  // `io` must outlive every adapter built.
  explicit NcmecAdapterFactory(AdapterIo& io) : io_(io) {}
  std::string_view type() const override { return kAdapterType; }
  // Checks the settings' shape; reads no file.
  absl::Status ValidateSettings(const google::protobuf::Struct& settings) const override;
  // Also reads the credentials file and the TLS files: errors name the file.
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const std::string& agency_id, const google::protobuf::Struct& settings,
      const AdapterContext& context) const override;

 private:
  AdapterIo& io_;
};

}  // namespace hart::adapters::ncmec
