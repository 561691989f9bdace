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

namespace hart::adapters::file_drop {
namespace {

// Far above any delivery the broker writes (an intake is at most 1 MiB).
constexpr off_t kMaxDeliveryFileBytes = 16 << 20;

// The content of `name` if it is a regular file the broker can read, under
// the size limit; nullopt for anything else (a link, a directory, a
// partner's own file): not one of the broker's, so not the sweep's.
std::optional<std::string> ReadDeliveryFile(const DirectoryHandle& dir, const std::string& name) {
  const int fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat info {};
  std::optional<std::string> content;
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size <= kMaxDeliveryFileBytes) {
    content.emplace();
    char buffer[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) content.reset();
      if (n <= 0) break;
      content->append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return content;
}

}  // namespace

absl::StatusOr<int> RemoveFilesOfReferral(const DirectoryHandle& dir,
                                          std::string_view referral_id,
                                          std::string_view keep_delivery_id) {
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
    if (!IsValidDeliveryId(delivery_id) || delivery_id == keep_delivery_id) continue;
    const std::optional<std::string> content = ReadDeliveryFile(dir, name);
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
