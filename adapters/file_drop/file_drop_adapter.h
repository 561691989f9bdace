// The `file_drop` adapter, for air-gapped partners (e.g. a CAC case system)
// that import files from a shared directory. Each delivery becomes
// `<deliveryId>.json` (the ReferralDelivery as JSON) with a detached
// Ed25519 signature `<deliveryId>.json.sig`, both written atomically; the
// partner acknowledges by dropping `<deliveryId>.json.ack`, which the
// adapter picks up every `ack_poll_interval`. See README.md.
//
// Thread safety: Deliver and ScanAcksNow may be called from any thread.
// The message is loaded on the broker's store executor and file I/O runs on
// the AdapterIo's blocking pool, never on its event loop (only the poll
// timer lives there). The destructor waits for loads, writes and scans in
// flight and stops the poll timer; it must not run on an AdapterIo thread,
// and the AdapterIo must outlive the adapter.
#pragma once

#include <future>
#include <string_view>

#include "adapters/common/adapter_io.h"
#include "adapters/file_drop/ack_pickup.h"
#include "broker/adapter_registry.h"

namespace hart::adapters::file_drop {

inline constexpr char kAdapterType[] = "file_drop";

class FileDropAdapter : public Adapter {
 public:
  std::string_view type() const override { return kAdapterType; }

  // Scans the directory for acks now, besides the periodic scans. The
  // future is ready once every ack found is settled (an empty summary if
  // the adapter is shutting down).
  virtual std::future<AckScanSummary> ScanAcksNow() = 0;
};

class FileDropAdapterFactory final : public AdapterFactory {
 public:
  // `io` must outlive every adapter built.
  explicit FileDropAdapterFactory(AdapterIo& io) : io_(io) {}
  std::string_view type() const override { return kAdapterType; }
  // The settings' shape only (required fields, a positive interval); the
  // directory and the key are checked by Create.
  absl::Status ValidateSettings(const google::protobuf::Struct& settings) const override;
  // Also checks that the directory exists and is writable and that the key
  // file is a private Ed25519 key only its owner can read. The adapter is a
  // FileDropAdapter. Needs `context.content` and `context.acks`.
  absl::StatusOr<std::unique_ptr<Adapter>> Create(const std::string& agency_id,
                                                  const google::protobuf::Struct& settings,
                                                  const AdapterContext& context) const override;

 private:
  AdapterIo& io_;
};

}  // namespace hart::adapters::file_drop
