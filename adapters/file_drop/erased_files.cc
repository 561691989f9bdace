#include "adapters/file_drop/erased_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/file_drop/ack_file.h"
#include "broker/common/status_macros.h"

namespace hart::adapters::file_drop {
namespace {

// Far above any delivery the broker writes (an intake is at most 1 MiB).
constexpr off_t kMaxDeliveryFileBytes = 16 << 20;

// Not the broker's file (gone, a link, a FIFO without a writer, one the
// broker may not read): the sweep leaves it. Any other failure may hide a
// file of the broker's, and fails the sweep.
bool NotOursToRead(int error) {
  return error == ENOENT || error == ELOOP || error == EACCES || error == EPERM ||
         error == ENXIO;
}

// The content of `name` if it is a regular file under the size limit;
// nullopt for what is not the broker's (see NotOursToRead; a directory or
// any other kind of file, an oversized one); UNAVAILABLE if it could not
// be read.
absl::StatusOr<std::optional<std::string>> ReadDeliveryFile(const DirectoryHandle& dir,
                                                            const std::string& name) {
  const int fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (NotOursToRead(errno)) return std::optional<std::string>();
    return dir.ErrnoError(absl::StrCat("cannot open ", name));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const absl::Status failed = dir.ErrnoError(absl::StrCat("cannot stat ", name));
    ::close(fd);
    return failed;
  }
  std::optional<std::string> content;
  if (S_ISREG(info.st_mode) && info.st_size <= kMaxDeliveryFileBytes) {
    content.emplace();
    char buffer[8192];
    while (static_cast<off_t>(content->size()) <= kMaxDeliveryFileBytes) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const absl::Status failed = dir.ErrnoError(absl::StrCat("cannot read ", name));
        ::close(fd);
        return failed;
      }
      if (n == 0) break;
      content->append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return content;
}

}  // namespace

absl::StatusOr<int> RemoveFilesOfReferral(const DirectoryHandle& dir,
                                          std::string_view referral_id) {
  int error = 0;
  const std::vector<std::string> names = ListDirectory(dir, &error);
  if (error != 0) {
    errno = error;
    return dir.ErrnoError("cannot list");
  }
  // The adapter writes compact JSON, in which a string's own quotes are
  // escaped: this key and value appear only as the message's referral id.
  const std::string marker = "\"referralId\":\"" + std::string(referral_id) + "\"";
  int removed = 0;
  for (const std::string& name : names) {
    if (!absl::EndsWith(name, kDeliverySuffix)) continue;
    const std::string_view delivery_id =
        std::string_view(name).substr(0, name.size() - std::string_view(kDeliverySuffix).size());
    if (!IsValidDeliveryId(delivery_id)) continue;
    HART_ASSIGN_OR_RETURN(content, ReadDeliveryFile(dir, name));
    // Erasure notices carry no facts, and another agency sharing the
    // directory may not have read its own yet.
    if (!content.has_value() || !absl::StrContains(*content, marker) ||
        absl::StrContains(*content, "\"kind\":\"ERASURE\"")) {
      continue;
    }
    for (const std::string& file : {name, std::string(delivery_id) + kSignatureSuffix}) {
      if (::unlinkat(dir.fd(), file.c_str(), 0) != 0 && errno != ENOENT) {
        return dir.ErrnoError(absl::StrCat("cannot remove ", file));
      }
    }
    ++removed;
  }
  if (removed > 0 && ::fsync(dir.fd()) != 0) return dir.ErrnoError("cannot fsync the directory");
  return removed;
}

}  // namespace hart::adapters::file_drop
