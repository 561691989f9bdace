#include "adapters/file_drop/file_drop_adapter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "adapters/common/message_loads.h"
#include "adapters/common/typed_settings.h"
#include "adapters/file_drop/ack_file.h"
#include "adapters/file_drop/atomic_file.h"
#include "adapters/file_drop/erased_files.h"
#include "adapters/file_drop/ed25519_signer.h"
#include "adapters/file_drop/file_drop_settings.pb.h"
#include "adapters/file_drop/log_text.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "broker/common/callback_gate.h"
#include "broker/common/logging.h"
#include "broker/delivery_content.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace hart::adapters::file_drop {
namespace {

using Settings = ::hart::adapters::file_drop::v1::FileDropSettings;

constexpr std::chrono::seconds kDefaultAckPollInterval{5};

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("file_drop");
  return log;
}

absl::StatusOr<Settings> ParseAndCheck(const google::protobuf::Struct& raw) {
  auto settings = ParseSettings<Settings>(kAdapterType, raw);
  if (!settings.ok()) return settings.status();
  if (settings->directory().empty()) {
    return absl::InvalidArgumentError(
        "file_drop settings: directory is required (the directory the partner imports "
        "from)");
  }
  if (settings->signing_key_file().empty()) {
    return absl::InvalidArgumentError(
        "file_drop settings: signing_key_file is required (an Ed25519 private key PEM, "
        "e.g. from `openssl genpkey -algorithm ed25519`)");
  }
  if (settings->has_ack_poll_interval() &&
      google::protobuf::util::TimeUtil::DurationToNanoseconds(settings->ack_poll_interval()) <= 0) {
    return absl::InvalidArgumentError(
        "file_drop settings: ack_poll_interval must be positive, e.g. 5s");
  }
  return settings;
}

absl::Status CheckDirectory(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("file_drop directory ", path, ": ", ErrnoText(errno),
                     "; create it (the partner imports from it) or fix the `directory` setting"));
  }
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("file_drop directory ", path, " is not a directory"));
  }
  if (::access(path.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "file_drop directory ", path, " is not writable by the broker: ", ErrnoText(errno),
        "; give the broker's user write access"));
  }
  return absl::OkStatus();
}

class FileDropAdapterImpl final : public FileDropAdapter {
 public:
  FileDropAdapterImpl(std::string agency_id, std::string directory, Ed25519Signer signer,
                      std::chrono::nanoseconds poll_interval, const DeliveryContent& content,
                      AckSink& acks, AdapterIo& io)
      : agency_id_(std::move(agency_id)),
        directory_(std::move(directory)),
        signer_(std::move(signer)),
        poll_interval_(poll_interval),
        content_(content),
        io_(io),
        pickup_(directory_, agency_id_, acks, io),
        timer_(io.context()) {}

  ~FileDropAdapterImpl() override {
    gate_.Close();
    {
      std::lock_guard lock(timer_mu_);
      timer_.cancel();
    }
    gate_.Wait();
  }

  void StartPolling() { ArmTimer(); }

  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    if (!IsValidDeliveryId(delivery.delivery_id)) {
      done(DeliveryResult::Failed(absl::InvalidArgumentError(
          "file_drop: the delivery id is not usable as a file name ([A-Za-z0-9_-], at most "
          "128 characters)")));
      return;
    }
    if (!gate_.Enter()) {
      done(DeliveryResult::Deferred(absl::UnavailableError("file_drop adapter is shutting down"),
                                    absl::Seconds(1)));
      return;
    }
    // The store read runs on the broker's store executor, the fsynced
    // writes on the blocking pool: the event loop never waits on a disk.
    content_.LoadAsync(
        delivery, /*notification_only=*/false,
        [this, delivery, done = std::move(done)](
            absl::StatusOr<::hart::referral::v1::ReferralDelivery> message) {
          boost::asio::post(io_.blocking(),
                            [this, delivery, done, message = std::move(message)] {
                              done(Write(delivery, message));
                              gate_.Exit();  // nothing touches this adapter after it
                            });
        });
  }

  std::future<AckScanSummary> ScanAcksNow() override {
    auto promise = std::make_shared<std::promise<AckScanSummary>>();
    std::future<AckScanSummary> future = promise->get_future();
    if (!StartScan([promise](AckScanSummary summary) { promise->set_value(summary); })) {
      promise->set_value(AckScanSummary{});
    }
    return future;
  }

 private:
  // Blocking: runs on the blocking pool.
  DeliveryResult Write(const DeliveryRecord& delivery,
                       const absl::StatusOr<::hart::referral::v1::ReferralDelivery>& message) {
    const std::string& id = delivery.delivery_id;
    if (!message.ok()) return loads_.NotLoaded(delivery, message.status());
    loads_.Loaded(delivery);
    std::string json;
    if (auto s = google::protobuf::util::MessageToJsonString(*message, &json); !s.ok()) {
      return Fail(id, absl::InternalError("file_drop: cannot render the delivery as JSON"));
    }
    json += '\n';
    auto signature = signer_.Sign(json);
    if (!signature.ok()) return Fail(id, signature.status());
    auto dir = DirectoryHandle::Open(directory_);
    if (!dir.ok()) return Fail(id, dir.status());
    // The signature first: a partner who sees the .json always finds its .sig.
    if (auto s = WriteFileAtomically(*dir, id + kSignatureSuffix, *signature); !s.ok()) {
      return Fail(id, s);
    }
    const std::string file_name = id + kDeliverySuffix;
    if (auto s = WriteFileAtomically(*dir, file_name, json); !s.ok()) return Fail(id, s);
    Log()->info("event=file_drop_delivered agency={} delivery_id={} bytes={}", agency_id_, id,
                json.size());
    if (message->kind() == ::hart::referral::v1::ERASURE) {
      // After the notice: a partner never finds the files gone unexplained.
      const std::string& referral_id = delivery.referral_id;
      if (referral_id.empty()) {
        return Fail(id, absl::InternalError("file_drop: an erasure notice without its referral"));
      }
      auto removed = RemoveFilesOfReferral(*dir, referral_id);
      if (!removed.ok()) return Fail(id, removed.status());  // retried: the sweep finishes
      Log()->info("event=file_drop_erased agency={} referral_id={} files={}", agency_id_,
                  referral_id, *removed);
    }
    return DeliveryResult::Delivered(absl::StrCat("file:", file_name));
  }

  DeliveryResult Fail(const std::string& delivery_id, absl::Status status) {
    Log()->warn("event=file_drop_deliver_failed agency={} delivery_id={} code={} error={}",
                agency_id_, delivery_id, absl::StatusCodeToString(status.code()),
                ForLog(status.message()));
    return DeliveryResult::Failed(std::move(status));
  }

  // False when shutting down. `then` runs when the scan is done, before
  // the scan leaves the gate.
  bool StartScan(std::function<void(AckScanSummary)> then) {
    if (!gate_.Enter()) return false;
    boost::asio::post(io_.blocking(), [this, then = std::move(then)]() mutable {
      pickup_.Scan([this, then = std::move(then)](AckScanSummary summary) {
        then(summary);
        gate_.Exit();  // nothing touches this adapter after it
      });
    });
    return true;
  }

  void ArmTimer() {
    // Under the lock so the destructor's cancel cannot interleave.
    std::lock_guard lock(timer_mu_);
    if (!gate_.Enter()) return;
    timer_.expires_after(poll_interval_);
    timer_.async_wait([this](const boost::system::error_code& error) {
      // The next wait starts when this scan is done: scans never pile up.
      if (!error) StartScan([this](AckScanSummary) { ArmTimer(); });
      gate_.Exit();
    });
  }

  const std::string agency_id_;
  const std::string directory_;
  const Ed25519Signer signer_;
  const std::chrono::nanoseconds poll_interval_;
  const DeliveryContent& content_;
  MessageLoads loads_{kAdapterType};
  AdapterIo& io_;
  AckPickup pickup_;

  CallbackGate gate_;
  std::mutex timer_mu_;
  boost::asio::steady_timer timer_;
};

}  // namespace

absl::Status FileDropAdapterFactory::ValidateSettings(
    const google::protobuf::Struct& settings) const {
  return ParseAndCheck(settings).status();
}

absl::StatusOr<std::unique_ptr<Adapter>> FileDropAdapterFactory::Create(
    const std::string& agency_id, const google::protobuf::Struct& raw,
    const AdapterContext& context) const {
  if (context.content == nullptr || context.acks == nullptr) {
    return absl::FailedPreconditionError(
        "file_drop needs the broker's delivery content and ack sink");
  }
  auto settings = ParseAndCheck(raw);
  if (!settings.ok()) return settings.status();
  if (auto s = CheckDirectory(settings->directory()); !s.ok()) return s;
  auto signer = Ed25519Signer::FromPemFile(settings->signing_key_file());
  if (!signer.ok()) return signer.status();
  const std::chrono::nanoseconds interval =
      settings->has_ack_poll_interval()
          ? std::chrono::nanoseconds(google::protobuf::util::TimeUtil::DurationToNanoseconds(
                settings->ack_poll_interval()))
          : std::chrono::nanoseconds(kDefaultAckPollInterval);
  auto adapter =
      std::make_unique<FileDropAdapterImpl>(agency_id, settings->directory(), std::move(*signer),
                                            interval, *context.content, *context.acks, io_);
  adapter->StartPolling();
  return adapter;
}

}  // namespace hart::adapters::file_drop
