// The write-ahead log's frames reach the kernel in a few large writes per
// commit instead of two calls per page.
//
// SQLite writes a WAL frame as two system calls, its 24-byte header and its
// page, so a commit of 70 pages made 140 pwrite calls: 75,000 a second on
// the writer thread in `hart-bench fanout --rate 1000` (/proc/TID/io syscw),
// each paying the syscall and the file system's per-call work. A VFS shim
// under the store's writer keeps a WAL file's consecutive writes in memory and
// hands them to the kernel (in writes under 128 KiB, the most the unix VFS
// takes at once) when SQLite next syncs, reads, truncates, sizes or closes
// that file, writes elsewhere in it, or has buffered 1 MiB.
//
// Only a connection with `synchronous = FULL` may use it (the store's
// writer, which sets it): SQLite then publishes frames to readers and the
// checkpointer (the WAL index) only after the commit's xSync, and that xSync
// writes them first. With NORMAL a commit has no xSync and readers would see
// frames the file does not yet hold. Frames lost in a crash before the xSync
// were never committed, as without the shim. A write error surfaces from
// the call that flushes (the commit's xSync), failing the commit as the
// write would have.
//
// The shim is not the default VFS: SqliteDb::Open asks for it by name for
// the writer. Under it is whatever is the default when a file opens (the
// fault seam in tests), so the combined writes meet the seam as the kernel
// would. Only write-ahead-log files are combined; the writer's database
// file goes straight through.
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace hart::sqlite {

inline constexpr char kWalCombinerVfs[] = "hart-wal-combiner";

// Registers the shim (not as the default), once per process. Called by
// SqliteDb::Open before it opens a connection that asks for it.
absl::Status InstallWalWriteCombiner();

// Writes SQLite asked for on combined files, and writes made to the VFS
// under the shim, so far in this process (for tests and benchmarks).
struct WalCombinerCounts {
  uint64_t writes_asked = 0;
  uint64_t writes_made = 0;
};
WalCombinerCounts WalCombinerCounted();

}  // namespace hart::sqlite
