#include "broker/store/sqlite/sqlite_vfs_shim.h"

#include "absl/strings/str_cat.h"
#include "broker/store/sqlite/sqlite_library.h"

namespace hart::sqlite {
namespace {

int Close(sqlite3_file* f) { return RealMethods(f)->xClose(RealFile(f)); }
int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 at) {
  return RealMethods(f)->xRead(RealFile(f), p, n, at);
}
int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 at) {
  return RealMethods(f)->xWrite(RealFile(f), p, n, at);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return RealMethods(f)->xTruncate(RealFile(f), size);
}
int Sync(sqlite3_file* f, int flags) { return RealMethods(f)->xSync(RealFile(f), flags); }
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return RealMethods(f)->xFileSize(RealFile(f), size);
}
int Lock(sqlite3_file* f, int level) { return RealMethods(f)->xLock(RealFile(f), level); }
int Unlock(sqlite3_file* f, int level) { return RealMethods(f)->xUnlock(RealFile(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return RealMethods(f)->xCheckReservedLock(RealFile(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return RealMethods(f)->xFileControl(RealFile(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return RealMethods(f)->xSectorSize(RealFile(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return RealMethods(f)->xDeviceCharacteristics(RealFile(f));
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return RealMethods(f)->xShmMap(RealFile(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return RealMethods(f)->xShmLock(RealFile(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { RealMethods(f)->xShmBarrier(RealFile(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return RealMethods(f)->xShmUnmap(RealFile(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  return RealMethods(f)->xFetch(RealFile(f), at, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  return RealMethods(f)->xUnfetch(RealFile(f), at, p);
}

int Delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return WrappedVfs(v)->xDelete(WrappedVfs(v), name, sync_dir);
}
int Access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return WrappedVfs(v)->xAccess(WrappedVfs(v), name, flags, out);
}
int FullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return WrappedVfs(v)->xFullPathname(WrappedVfs(v), name, n, out);
}
void* DlOpen(sqlite3_vfs* v, const char* name) {
  return WrappedVfs(v)->xDlOpen(WrappedVfs(v), name);
}
void DlError(sqlite3_vfs* v, int n, char* out) { WrappedVfs(v)->xDlError(WrappedVfs(v), n, out); }
void (*DlSym(sqlite3_vfs* v, void* lib, const char* sym))(void) {
  return WrappedVfs(v)->xDlSym(WrappedVfs(v), lib, sym);
}
void DlClose(sqlite3_vfs* v, void* lib) { WrappedVfs(v)->xDlClose(WrappedVfs(v), lib); }
int Randomness(sqlite3_vfs* v, int n, char* out) {
  return WrappedVfs(v)->xRandomness(WrappedVfs(v), n, out);
}
int Sleep(sqlite3_vfs* v, int micros) { return WrappedVfs(v)->xSleep(WrappedVfs(v), micros); }
int CurrentTime(sqlite3_vfs* v, double* out) {
  return WrappedVfs(v)->xCurrentTime(WrappedVfs(v), out);
}
int GetLastError(sqlite3_vfs* v, int n, char* out) {
  return WrappedVfs(v)->xGetLastError(WrappedVfs(v), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  return WrappedVfs(v)->xCurrentTimeInt64(WrappedVfs(v), out);
}

}  // namespace

sqlite3_io_methods ForwardingFileMethods(int version) {
  return {version,
          Close,
          Read,
          Write,
          Truncate,
          Sync,
          FileSize,
          Lock,
          Unlock,
          CheckReservedLock,
          FileControl,
          SectorSize,
          DeviceCharacteristics,
          ShmMap,
          ShmLock,
          ShmBarrier,
          ShmUnmap,
          Fetch,
          Unfetch};
}

int OpenRealFile(sqlite3_vfs* wrapped, int extra_bytes, const char* name, sqlite3_file* f,
                 int flags, int* out_flags) {
  auto* file = reinterpret_cast<ShimFile*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + extra_bytes);
  file->real->pMethods = nullptr;
  f->pMethods = nullptr;
  return wrapped->xOpen(wrapped, name, file->real, flags, out_flags);
}

int DefaultVfsFileBytes() {
  ConfigureSqliteLibrary();
  (void)sqlite3_initialize();
  const sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
  return vfs == nullptr ? 0 : vfs->szOsFile;
}

absl::Status RegisterShimVfs(const char* name, int file_bytes,
                             int (*open)(sqlite3_vfs*, const char*, sqlite3_file*, int, int*),
                             bool as_default) {
  ConfigureSqliteLibrary();
  if (const int rc = sqlite3_initialize(); rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite3_initialize: ", sqlite3_errstr(rc)));
  }
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 2) {
    return absl::FailedPreconditionError("no default SQLite VFS of version 2 or later to wrap");
  }
  auto* vfs = new sqlite3_vfs{};  // lives as long as the process
  vfs->iVersion = 2;              // the system-call overrides (version 3) are not offered
  vfs->szOsFile = file_bytes;
  vfs->mxPathname = real->mxPathname;
  vfs->zName = name;
  vfs->pAppData = real;
  vfs->xOpen = open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = DlOpen;
  vfs->xDlError = DlError;
  vfs->xDlSym = DlSym;
  vfs->xDlClose = DlClose;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  if (const int rc = sqlite3_vfs_register(vfs, as_default ? 1 : 0); rc != SQLITE_OK) {
    delete vfs;
    return absl::InternalError(absl::StrCat("sqlite3_vfs_register: ", sqlite3_errstr(rc)));
  }
  return absl::OkStatus();
}

}  // namespace hart::sqlite
