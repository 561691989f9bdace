#include "adapters/file_drop/ack_pickup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/file_drop/ack_file.h"
#include "adapters/file_drop/atomic_file.h"
#include "adapters/file_drop/log_text.h"
#include "boost/asio/post.hpp"
#include "broker/common/logging.h"

namespace hart::adapters::file_drop {
namespace {

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("file_drop");
  return log;
}

// Retrying cannot help: the partner must drop a corrected ack.
bool IsPermanent(absl::StatusCode code) {
  return code == absl::StatusCode::kInvalidArgument ||
         code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kNotFound ||
         code == absl::StatusCode::kFailedPrecondition;
}

}  // namespace

struct AckPickup::ScanState {
  ScanState(DirectoryHandle d, std::function<void(AckScanSummary)> f)
      : dir(std::move(d)), done(std::move(f)) {}
  DirectoryHandle dir;
  std::function<void(AckScanSummary)> done;
  // 1 for the listing itself, plus one per ack waiting for the AckSink.
  std::atomic<int> pending{1};
  std::mutex mu;
  AckScanSummary summary;

  void Count(int AckScanSummary::*field) {
    std::lock_guard lock(mu);
    ++(summary.*field);
  }
};

struct AckPickup::Found {
  std::string file_name;
  std::string delivery_id;
  dev_t device = 0;
  ino_t inode = 0;

  // False when the partner replaced the file since it was read: the new
  // one is left for the next scan.
  bool Unchanged(const DirectoryHandle& dir) const {
    struct stat now {};
    return ::fstatat(dir.fd(), file_name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 &&
           now.st_dev == device && now.st_ino == inode;
  }
};

AckPickup::AckPickup(std::string directory, std::string agency_id, AckSink& acks, AdapterIo& io)
    : directory_(std::move(directory)),
      agency_id_(std::move(agency_id)),
      actor_(absl::StrCat("agency/", agency_id_, " via file_drop")),
      acks_(acks),
      io_(io) {}

void AckPickup::Scan(std::function<void(AckScanSummary)> done) {
  auto dir = DirectoryHandle::Open(directory_);
  if (!dir.ok()) {
    Log()->warn("event=file_drop_ack_scan_failed agency={} error={}", agency_id_,
                ForLog(dir.status().message()));
    done(AckScanSummary{});
    return;
  }
  auto scan = std::make_shared<ScanState>(std::move(*dir), std::move(done));
  int error = 0;
  const std::vector<std::string> names = ListDirectory(scan->dir, &error);
  if (error != 0) {
    Log()->warn("event=file_drop_ack_scan_failed agency={} directory={} error={}", agency_id_,
                directory_, ForLog(ErrnoText(error)));
  }
  std::vector<Found> claimed;
  std::vector<std::string> invalid;
  {
    std::lock_guard lock(mu_);
    for (const std::string& name : names) {
      AckFileName ack = ClassifyAckFileName(name);
      if (ack.what == AckFileName::kInvalidId) invalid.push_back(name);
      if (ack.what != AckFileName::kAck) continue;
      // Another scan is settling it: never twice at once.
      if (!in_progress_.insert(name).second) continue;
      claimed.push_back(Found{name, std::move(ack.delivery_id)});
    }
  }
  scan->summary.ignored = static_cast<int>(invalid.size());
  for (const std::string& name : invalid) WarnInvalidNameOnce(name);
  for (Found& found : claimed) Process(scan, std::move(found));
  Finish(scan);
}

void AckPickup::Process(const std::shared_ptr<ScanState>& scan, Found found) {
  const DirectoryHandle& dir = scan->dir;
  const char* name = found.file_name.c_str();
  struct stat info {};
  if (::fstatat(dir.fd(), name, &info, AT_SYMLINK_NOFOLLOW) != 0) {
    // Gone since the listing (the partner replaced it): nothing to do.
    if (errno != ENOENT) {
      Log()->warn("event=file_drop_ack_unreadable agency={} delivery_id={} error={}", agency_id_,
                  found.delivery_id, ForLog(ErrnoText(errno)));
      scan->Count(&AckScanSummary::retry_later);
    }
    return Release(found.file_name);
  }
  found.device = info.st_dev;
  found.inode = info.st_ino;
  if (!S_ISREG(info.st_mode)) {
    Reject(*scan, found,
           "the ack is not a regular file (a link or a directory); write the ack to a "
           "temporary file and rename it to <deliveryId>.json.ack");
    return Release(found.file_name);
  }
  if (static_cast<uint64_t>(info.st_size) > kMaxAckFileBytes) {
    Reject(*scan, found,
           absl::StrCat("the ack file is ", info.st_size, " bytes; at most ", kMaxAckFileBytes,
                        " are allowed"));
    return Release(found.file_name);
  }
  const int fd = ::openat(dir.fd(), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  std::string content;
  bool read_ok = fd >= 0;
  if (read_ok) {
    struct stat opened {};
    // Replaced between stat and open: settle the new one next time.
    read_ok =
        ::fstat(fd, &opened) == 0 && opened.st_ino == found.inode && opened.st_dev == found.device;
    char buffer[8192];
    while (read_ok && content.size() <= kMaxAckFileBytes) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) read_ok = false;
      if (n <= 0) break;
      content.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
  }
  if (!read_ok) {
    scan->Count(&AckScanSummary::retry_later);
    return Release(found.file_name);
  }
  auto ack = ParseAckFile(content);
  if (!ack.ok()) {
    Reject(*scan, found, std::string(ack.status().message()));
    return Release(found.file_name);
  }
  scan->pending.fetch_add(1);
  acks_.Acknowledge(
      agency_id_, found.delivery_id, ack->kind, ack->note, actor_,
      [this, scan, found](absl::Status status) {
        // Back to the blocking pool for the renames, whatever thread this is.
        boost::asio::post(io_.blocking(), [this, scan, found, status = std::move(status)] {
          Settle(*scan, found, status);
          Release(found.file_name);
          Finish(scan);  // may let the owner destroy this pickup: nothing after it
        });
      });
}

void AckPickup::Settle(ScanState& scan, const Found& found, const absl::Status& status) {
  if (status.ok()) {
    scan.Count(&AckScanSummary::recorded);
    Log()->info("event=file_drop_ack_recorded agency={} delivery_id={}", agency_id_,
                found.delivery_id);
    if (!found.Unchanged(scan.dir)) return;  // a newer ack: the next scan records it
    const std::string done_name = found.delivery_id + kAckDoneSuffix;
    if (::renameat(scan.dir.fd(), found.file_name.c_str(), scan.dir.fd(), done_name.c_str()) != 0) {
      // Recorded anyway; the next scan records it again, which changes nothing.
      Log()->warn("event=file_drop_ack_rename_failed agency={} delivery_id={} error={}", agency_id_,
                  found.delivery_id, ForLog(ErrnoText(errno)));
    }
    return;
  }
  if (IsPermanent(status.code())) {
    Reject(scan, found, std::string(status.message()));
    return;
  }
  scan.Count(&AckScanSummary::retry_later);
  Log()->warn("event=file_drop_ack_retry agency={} delivery_id={} code={} error={}", agency_id_,
              found.delivery_id, absl::StatusCodeToString(status.code()), ForLog(status.message()));
}

void AckPickup::Reject(ScanState& scan, const Found& found, const std::string& reason) {
  if (!found.Unchanged(scan.dir)) {
    scan.Count(&AckScanSummary::retry_later);
    return;
  }
  // The reason first, so whoever sees .ack.rejected finds the .ack.error.
  absl::Status written =
      WriteFileAtomically(scan.dir, found.delivery_id + kAckErrorSuffix, reason + "\n");
  if (written.ok()) {
    const std::string rejected_name = found.delivery_id + kAckRejectedSuffix;
    if (::renameat(scan.dir.fd(), found.file_name.c_str(), scan.dir.fd(), rejected_name.c_str()) !=
        0) {
      written = scan.dir.ErrnoError(absl::StrCat("cannot rename ", found.file_name));
    }
  }
  if (!written.ok()) {
    scan.Count(&AckScanSummary::retry_later);
    Log()->warn("event=file_drop_ack_reject_failed agency={} delivery_id={} error={}", agency_id_,
                found.delivery_id, ForLog(written.message()));
    return;
  }
  scan.Count(&AckScanSummary::rejected);
  Log()->warn("event=file_drop_ack_rejected agency={} delivery_id={} reason={}", agency_id_,
              found.delivery_id, ForLog(reason));
}

void AckPickup::Release(const std::string& file_name) {
  std::lock_guard lock(mu_);
  in_progress_.erase(file_name);
}

void AckPickup::WarnInvalidNameOnce(const std::string& file_name) {
  {
    std::lock_guard lock(mu_);
    // Bounded: a directory full of junk must not grow memory forever.
    if (warned_.size() >= 1000 || !warned_.insert(file_name).second) return;
  }
  // The name is the partner's: its length only.
  Log()->warn(
      "event=file_drop_ack_ignored agency={} reason=invalid_delivery_id_in_name "
      "name_length={}",
      agency_id_, file_name.size());
}

void AckPickup::Finish(const std::shared_ptr<ScanState>& scan) {
  if (scan->pending.fetch_sub(1) != 1) return;
  AckScanSummary summary;
  {
    std::lock_guard lock(scan->mu);
    summary = scan->summary;
  }
  auto done = std::move(scan->done);
  done(summary);
}

}  // namespace hart::adapters::file_drop
