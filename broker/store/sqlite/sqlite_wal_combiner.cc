#include "broker/store/sqlite/sqlite_wal_combiner.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "absl/synchronization/mutex.h"
#include "broker/store/sqlite/sqlite_vfs_shim.h"

namespace hart::sqlite {
namespace {

// A larger run is written in pieces of about this size: memory stays
// bounded on a big transaction, and the syscalls are already few.
constexpr size_t kMaxPendingBytes = 1 << 20;

// The unix VFS keeps only the low 17 bits of a write's size (seekAndWrite:
// `nBuf &= 0x1ffff`), so one call writes less than 128 KiB.
constexpr size_t kMaxWriteBytes = 124 * 1024;

std::atomic<uint64_t> writes_asked{0};
std::atomic<uint64_t> writes_made{0};

// Bytes SQLite wrote at [at, at + bytes.size()) that the kernel has not.
struct Pending {
  std::string bytes;
  sqlite3_int64 at = 0;
};

struct CombiningFile {
  ShimFile shim;
  Pending* pending;  // owned; freed by xClose
};

Pending& PendingOf(sqlite3_file* f) { return *reinterpret_cast<CombiningFile*>(f)->pending; }

// Writes what is pending; forgets it either way (SQLite treats the error as
// the failure of its own write and rewrites the frames if it goes on).
int Flush(sqlite3_file* f) {
  Pending& p = PendingOf(f);
  if (p.bytes.empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < p.bytes.size() && rc == SQLITE_OK; done += kMaxWriteBytes) {
    const size_t n = std::min(kMaxWriteBytes, p.bytes.size() - done);
    writes_made.fetch_add(1, std::memory_order_relaxed);
    rc = RealMethods(f)->xWrite(RealFile(f), p.bytes.data() + done, static_cast<int>(n),
                                p.at + static_cast<sqlite3_int64>(done));
  }
  p.bytes.clear();
  return rc;
}

int CombiningWrite(sqlite3_file* f, const void* data, int n, sqlite3_int64 at) {
  writes_asked.fetch_add(1, std::memory_order_relaxed);
  Pending& p = PendingOf(f);
  if (!p.bytes.empty() && at != p.at + static_cast<sqlite3_int64>(p.bytes.size())) {
    if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (p.bytes.empty()) p.at = at;
  p.bytes.append(static_cast<const char*>(data), static_cast<size_t>(n));
  return p.bytes.size() >= kMaxPendingBytes ? Flush(f) : SQLITE_OK;
}

int CombiningClose(sqlite3_file* f) {
  const int flushed = Flush(f);
  delete reinterpret_cast<CombiningFile*>(f)->pending;
  reinterpret_cast<CombiningFile*>(f)->pending = nullptr;
  const int closed = RealMethods(f)->xClose(RealFile(f));
  return flushed != SQLITE_OK ? flushed : closed;
}
int CombiningRead(sqlite3_file* f, void* p, int n, sqlite3_int64 at) {
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xRead(RealFile(f), p, n, at);
}
int CombiningTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xTruncate(RealFile(f), size);
}
int CombiningSync(sqlite3_file* f, int flags) {
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xSync(RealFile(f), flags);
}
int CombiningFileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xFileSize(RealFile(f), size);
}
int CombiningFileControl(sqlite3_file* f, int op, void* arg) {
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xFileControl(RealFile(f), op, arg);
}
int CombiningFetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  return RealMethods(f)->xFetch(RealFile(f), at, n, out);
}

sqlite3_io_methods CombiningMethodsOfVersion(int version) {
  sqlite3_io_methods methods = ForwardingFileMethods(version);
  methods.xClose = CombiningClose;
  methods.xRead = CombiningRead;
  methods.xWrite = CombiningWrite;
  methods.xTruncate = CombiningTruncate;
  methods.xSync = CombiningSync;
  methods.xFileSize = CombiningFileSize;
  methods.xFileControl = CombiningFileControl;
  if (version >= 3) methods.xFetch = CombiningFetch;
  return methods;
}
const sqlite3_io_methods kCombining[] = {CombiningMethodsOfVersion(1), CombiningMethodsOfVersion(2),
                                         CombiningMethodsOfVersion(3)};
const sqlite3_io_methods kForwarding[] = {ForwardingFileMethods(1), ForwardingFileMethods(2),
                                          ForwardingFileMethods(3)};

// Room for the real file behind a combining one: the default VFS's file
// when the combiner was registered, and then some, since a test may put
// its fault seam in as the default later (CombiningOpen checks).
constexpr int kSpareRealFileBytes = 512;

int CombiningOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<CombiningFile*>(f);
  file->pending = nullptr;
  f->pMethods = nullptr;
  // The default VFS now (the fault seam's, if a test installed it since),
  // so that the combined writes reach the disk through it.
  sqlite3_vfs* wrapped = sqlite3_vfs_find(nullptr);
  if (wrapped == nullptr || wrapped == vfs) wrapped = WrappedVfs(vfs);
  constexpr int kShimBytes = static_cast<int>(sizeof(CombiningFile));
  if (kShimBytes + wrapped->szOsFile > vfs->szOsFile) return SQLITE_CANTOPEN;
  const int rc = OpenRealFile(wrapped, kShimBytes, name, f, flags, out_flags);
  const sqlite3_io_methods* real = RealFile(f)->pMethods;
  if (real == nullptr) return rc;
  const int version = std::clamp(real->iVersion, 1, 3);
  const bool combine = rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0;
  if (combine) file->pending = new Pending;
  f->pMethods = combine ? &kCombining[version - 1] : &kForwarding[version - 1];
  return rc;
}

}  // namespace

absl::Status InstallWalWriteCombiner() {
  static absl::Mutex mu;
  static bool installed = false;
  absl::MutexLock lock(&mu);
  if (installed) return absl::OkStatus();
  const int file_bytes =
      static_cast<int>(sizeof(CombiningFile)) + DefaultVfsFileBytes() + kSpareRealFileBytes;
  if (auto s = RegisterShimVfs(kWalCombinerVfs, file_bytes, CombiningOpen, /*as_default=*/false);
      !s.ok()) {
    return s;
  }
  installed = true;
  return absl::OkStatus();
}

WalCombinerCounts WalCombinerCounted() {
  return {writes_asked.load(std::memory_order_relaxed),
          writes_made.load(std::memory_order_relaxed)};
}

}  // namespace hart::sqlite
