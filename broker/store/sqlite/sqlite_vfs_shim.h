// What every SQLite VFS shim of the store shares (the WAL write combiner,
// the fault seam): a VFS that wraps the default one and forwards all but
// the file methods it overrides.
//
// A shim's file is a `ShimFile` (or a struct starting with one), followed in
// memory by the wrapped VFS's own file, which `real` points at.
//
// Thread safety: as SQLite's own: a file is used by one connection at a time.
#pragma once

#include <sqlite3.h>

#include "absl/status/status.h"

namespace hart::sqlite {

struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
};

inline sqlite3_file* RealFile(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }
inline const sqlite3_io_methods* RealMethods(sqlite3_file* f) { return RealFile(f)->pMethods; }

// Every file method forwarding to the real file, for version `version`
// (1 to 3, the real file's: SQLite calls the later methods only if it has
// them). A shim copies this and replaces the methods it changes.
sqlite3_io_methods ForwardingFileMethods(int version);

// Opens the real file behind `f` (a shim file of `extra_bytes` before the
// real one) through `wrapped`. On return `f->pMethods` is null; the caller
// sets it if `RealFile(f)->pMethods` is set (SQLite calls xClose on a file
// whose pMethods is set, even if xOpen failed).
int OpenRealFile(sqlite3_vfs* wrapped, int extra_bytes, const char* name, sqlite3_file* f,
                 int flags, int* out_flags);

// The VFS that `shim` wraps.
inline sqlite3_vfs* WrappedVfs(sqlite3_vfs* shim) {
  return static_cast<sqlite3_vfs*>(shim->pAppData);
}

// Registers a VFS named `name` that wraps the current default (its
// pAppData): files of `file_bytes` (a ShimFile or a struct starting with
// one, then room for the real file), opened by `open`; every other VFS
// method forwards. `as_default`: it becomes SQLite's default; otherwise a
// connection asks for it by name. The VFS lives as long as the process.
absl::Status RegisterShimVfs(const char* name, int file_bytes,
                             int (*open)(sqlite3_vfs*, const char*, sqlite3_file*, int, int*),
                             bool as_default);

// The current default VFS's file size.
int DefaultVfsFileBytes();

}  // namespace hart::sqlite
