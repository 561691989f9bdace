// Secrets (HMAC keys, database and partner passwords) live in files the
// operator provisions, never in the config itself.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace hart {

// The file's content without a trailing newline. Errors name the file and
// say what to fix (missing, unreadable, empty, readable by others), never
// the content.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace hart
