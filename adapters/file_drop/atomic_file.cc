#include "adapters/file_drop/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace hart::adapters::file_drop {
namespace {

absl::Status WriteAll(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnknownError("write");  // errno is still set for the caller
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ErrnoText(int error) { return std::generic_category().message(error); }

std::vector<std::string> ListDirectory(const DirectoryHandle& dir, int* error) {
  std::vector<std::string> names;
  // A fresh descriptor: readdir must not move the shared one's position.
  const int fd = ::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* stream = fd < 0 ? nullptr : ::fdopendir(fd);
  if (stream == nullptr) {
    *error = errno;
    if (fd >= 0) ::close(fd);
    return names;
  }
  errno = 0;
  while (const dirent* entry = ::readdir(stream)) names.emplace_back(entry->d_name);
  *error = errno;
  ::closedir(stream);
  return names;
}

absl::StatusOr<DirectoryHandle> DirectoryHandle::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("file_drop directory ", path, ": ", ErrnoText(errno)));
  }
  return DirectoryHandle(fd, path);
}

DirectoryHandle::DirectoryHandle(DirectoryHandle&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

DirectoryHandle& DirectoryHandle::operator=(DirectoryHandle&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

DirectoryHandle::~DirectoryHandle() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status DirectoryHandle::ErrnoError(std::string_view what) const {
  const int error = errno;
  return absl::UnavailableError(
      absl::StrCat("file_drop directory ", path_, ": ", std::string(what), ": ", ErrnoText(error)));
}

absl::Status WriteFileAtomically(const DirectoryHandle& dir, const std::string& name,
                                 std::string_view content) {
  const std::string temp = absl::StrCat(".", name, ".tmp");
  const int fd =
      ::openat(dir.fd(), temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) return dir.ErrnoError(absl::StrCat("cannot create ", temp));
  absl::Status status;
  if (!WriteAll(fd, content).ok()) {
    status = dir.ErrnoError(absl::StrCat("cannot write ", temp));
  } else if (::fsync(fd) != 0) {
    status = dir.ErrnoError(absl::StrCat("cannot fsync ", temp));
  }
  // close() can report a deferred write error (e.g. on NFS).
  if (::close(fd) != 0 && status.ok()) {
    status = dir.ErrnoError(absl::StrCat("cannot close ", temp));
  }
  if (status.ok() && ::renameat(dir.fd(), temp.c_str(), dir.fd(), name.c_str()) != 0) {
    status = dir.ErrnoError(absl::StrCat("cannot rename ", temp, " to ", name));
  }
  if (!status.ok()) {
    ::unlinkat(dir.fd(), temp.c_str(), 0);  // best effort: leave no temp file
    return status;
  }
  if (::fsync(dir.fd()) != 0) return dir.ErrnoError("cannot fsync the directory");
  return absl::OkStatus();
}

}  // namespace hart::adapters::file_drop
