// What a seal leaves in a drop directory: the files of the sealed
// referral's earlier deliveries still hold the child's facts in plaintext
// (the directory is often under the broker's data directory). When the
// erasure notice is written, they are removed with their signatures, so
// that a seal leaves no PII on the broker's side; the notice tells the
// partner to erase what it imported.
//
// Blocking file I/O: call it on the AdapterIo's blocking pool.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "adapters/file_drop/atomic_file.h"

namespace hart::adapters::file_drop {

// Removes every `<deliveryId>.json` in `dir` whose delivery belongs to
// `referral_id`, and its `.json.sig`, except erasure notices; then syncs
// the directory. Entries that are not the broker's files (links,
// directories, files it may not read, names that are no delivery id) are
// left alone. How many were removed, or UNAVAILABLE naming the file that
// could not be read or removed (a retry finishes the sweep).
absl::StatusOr<int> RemoveFilesOfReferral(const DirectoryHandle& dir,
                                          std::string_view referral_id);

}  // namespace hart::adapters::file_drop
