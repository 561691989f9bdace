// Files in the drop directory, written so a reader never sees a partial
// file: `.<name>.tmp` (partners ignore dotfiles), fsync, rename over
// `<name>`, fsync the directory. Everything is relative to an open
// directory descriptor and never follows a symbolic link.
//
// Errors are UNAVAILABLE (a mount may come back, a disk may get space)
// naming the directory, the file and the errno text, never the content.
//
// Thread safety: functions are safe to call concurrently on different names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hart::adapters::file_drop {

// An open directory; `path` is kept for error messages.
class DirectoryHandle {
 public:
  static absl::StatusOr<DirectoryHandle> Open(const std::string& path);
  DirectoryHandle(DirectoryHandle&& other) noexcept;
  DirectoryHandle& operator=(DirectoryHandle&& other) noexcept;
  DirectoryHandle(const DirectoryHandle&) = delete;
  DirectoryHandle& operator=(const DirectoryHandle&) = delete;
  ~DirectoryHandle();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // UNAVAILABLE "<what> in <path>: <errno text>" for the current errno.
  absl::Status ErrnoError(std::string_view what) const;

 private:
  DirectoryHandle(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// Writes `content` to `name` in `dir` atomically and durably (see above).
// Files are created mode 0640 (less the umask).
absl::Status WriteFileAtomically(const DirectoryHandle& dir, const std::string& name,
                                 std::string_view content);

// The names in `dir` (with "." and ".."); `*error` is the errno of a
// failed listing, else 0.
std::vector<std::string> ListDirectory(const DirectoryHandle& dir, int* error);

// The text for an errno value, e.g. "No space left on device".
std::string ErrnoText(int error);

}  // namespace hart::adapters::file_drop
