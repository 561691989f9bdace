// A test seam under the SQLite store: a VFS wrapping the default one (unix)
// that fails xSync or xWrite calls as a control file says (the rules in
// sqlite_fault_rules.h), so tests can give the real broker failing fsyncs,
// short writes and a full disk.
//
// The control file is looked at (one stat) on every xSync and xWrite; when
// its inode, size or modification time changed it is read again and its
// rules replace the old ones, their counts starting afresh. Replace it
// atomically (write a temporary file, rename it over): a half-written file
// could be read. A missing or empty file means no fault; a malformed one is
// logged and means no fault.
//
// A failed xSync does not call the real one: what was written stays in the
// page cache, as after a real failed fsync (PostgreSQL's "fsyncgate").
//
// When HART_SQLITE_FAULT_CONTROL is unset, nothing is registered and SQLite
// runs on its own VFS: the seam costs nothing in production.
//
// Thread safety: every function may be called from any thread; the VFS
// serves every connection of the process.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace hart::sqlite {

inline constexpr char kFaultControlEnv[] = "HART_SQLITE_FAULT_CONTROL";

// Registers the fault VFS as SQLite's default, reading its rules from
// `control_file`. Call before any connection opens; a second call only
// changes the control file.
absl::Status InstallFaultVfs(const std::string& control_file);

// InstallFaultVfs($HART_SQLITE_FAULT_CONTROL) with a loud warning in the
// log, if the variable is set; false if it is not.
absl::StatusOr<bool> InstallFaultVfsFromEnvironment();

// Faults injected so far in this process (for tests).
struct FaultVfsCounts {
  uint64_t syncs_failed = 0;
  uint64_t writes_failed = 0;  // fail, short and full
};
FaultVfsCounts FaultVfsInjected();

}  // namespace hart::sqlite
