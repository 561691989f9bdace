// Reads the audit log straight from a broker's data directory (read-only),
// for `hartctl audit verify --data_dir`: what is on disk, not what a broker
// chooses to serve.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "broker/audit/log_verifier.h"

namespace hart::cli {

// Events, checkpoints and the broker's recorded tree size from
// DATA_DIR/hart.db. The public key is not filled in.
absl::StatusOr<audit::LogToVerify> ReadAuditLogFromDataDir(const std::string& data_dir);

}  // namespace hart::cli
