#include "broker/store/sqlite/sqlite_fault_vfs.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/common/logging.h"
#include "broker/store/sqlite/sqlite_fault_rules.h"

namespace hart::sqlite {
namespace {

auto Log() { return Logger("store"); }

// The control file as last read, and the rules it gave.
struct Control {
  absl::Mutex mu;
  std::string path ABSL_GUARDED_BY(mu);
  bool known ABSL_GUARDED_BY(mu) = false;  // `version` describes a read file
  struct stat version ABSL_GUARDED_BY(mu) = {};
  FaultRules rules ABSL_GUARDED_BY(mu);
  FaultVfsCounts counts ABSL_GUARDED_BY(mu);
};

Control& TheControl() {
  static auto* control = new Control;  // never destroyed: SQLite may call late
  return *control;
}

bool SameVersion(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// Re-reads the control file if it changed.
void Refresh(Control& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
  struct stat now = {};
  if (stat(c.path.c_str(), &now) != 0) {
    if (c.known) c.rules = FaultRules();
    c.known = false;
    return;
  }
  if (c.known && SameVersion(now, c.version)) return;
  c.known = true;
  c.version = now;
  std::ifstream in(c.path);
  std::stringstream text;
  text << in.rdbuf();
  auto rules = ParseFaultRules(text.str());
  if (!rules.ok()) {
    Log()->error("event=fault_vfs_rules_rejected error='{}'", std::string(rules.status().message()));
    c.rules = FaultRules();
    return;
  }
  Log()->warn("event=fault_vfs_rules_loaded rules={}", rules->size());
  c.rules = FaultRules(*rules);
}

std::optional<FaultEffect> Decide(FaultOp op, FaultFile file) {
  Control& c = TheControl();
  absl::MutexLock lock(&c.mu);
  Refresh(c);
  std::optional<FaultEffect> effect = c.rules.Decide(op, file);
  if (effect) ++(op == FaultOp::kSync ? c.counts.syncs_failed : c.counts.writes_failed);
  return effect;
}

const char* EffectName(FaultOp op, FaultEffect effect) {
  if (op == FaultOp::kSync) return "sync_fail";
  switch (effect) {
    case FaultEffect::kFail: return "write_fail";
    case FaultEffect::kShort: return "write_short";
    case FaultEffect::kFull: return "write_full";
  }
  return "?";
}

const char* FileName(FaultFile file) {
  return file == FaultFile::kDb ? "db" : file == FaultFile::kWal ? "wal" : "other";
}

// A file of the wrapped VFS, followed in memory by the real one.
struct ShimFile {
  sqlite3_file base;
  FaultFile kind;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }
const sqlite3_io_methods* M(sqlite3_file* f) { return Real(f)->pMethods; }

int ShimClose(sqlite3_file* f) { return M(f)->xClose(Real(f)); }
int ShimRead(sqlite3_file* f, void* p, int n, sqlite3_int64 at) {
  return M(f)->xRead(Real(f), p, n, at);
}

int ShimWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 at) {
  const FaultFile kind = reinterpret_cast<ShimFile*>(f)->kind;
  const std::optional<FaultEffect> effect = Decide(FaultOp::kWrite, kind);
  if (!effect) return M(f)->xWrite(Real(f), p, n, at);
  Log()->warn("event=fault_injected fault={} file={}", EffectName(FaultOp::kWrite, *effect),
              FileName(kind));
  // Short and full writes leave half the bytes behind, as a real one does.
  if (*effect != FaultEffect::kFail && n > 1) (void)M(f)->xWrite(Real(f), p, n / 2, at);
  return *effect == FaultEffect::kFull ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) { return M(f)->xTruncate(Real(f), size); }

int ShimSync(sqlite3_file* f, int flags) {
  const FaultFile kind = reinterpret_cast<ShimFile*>(f)->kind;
  if (!Decide(FaultOp::kSync, kind)) return M(f)->xSync(Real(f), flags);
  Log()->warn("event=fault_injected fault=sync_fail file={}", FileName(kind));
  return SQLITE_IOERR_FSYNC;
}

int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) { return M(f)->xFileSize(Real(f), size); }
int ShimLock(sqlite3_file* f, int level) { return M(f)->xLock(Real(f), level); }
int ShimUnlock(sqlite3_file* f, int level) { return M(f)->xUnlock(Real(f), level); }
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return M(f)->xCheckReservedLock(Real(f), out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return M(f)->xFileControl(Real(f), op, arg);
}
int ShimSectorSize(sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); }
int ShimDeviceCharacteristics(sqlite3_file* f) { return M(f)->xDeviceCharacteristics(Real(f)); }
// Version 2 and 3 methods: iVersion mirrors the real file's, so SQLite
// calls these only when the real ones exist.
int ShimShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return M(f)->xShmMap(Real(f), region, size, extend, out);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return M(f)->xShmLock(Real(f), offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* f) { M(f)->xShmBarrier(Real(f)); }
int ShimShmUnmap(sqlite3_file* f, int del) { return M(f)->xShmUnmap(Real(f), del); }
int ShimFetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  return M(f)->xFetch(Real(f), at, n, out);
}
int ShimUnfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  return M(f)->xUnfetch(Real(f), at, p);
}

// One method table per version, so each file gets the real one's version.
sqlite3_io_methods MethodsOfVersion(int version) {
  return {version,        ShimClose,        ShimRead,       ShimWrite,
          ShimTruncate,   ShimSync,         ShimFileSize,   ShimLock,
          ShimUnlock,     ShimCheckReservedLock, ShimFileControl, ShimSectorSize,
          ShimDeviceCharacteristics, ShimShmMap, ShimShmLock, ShimShmBarrier,
          ShimShmUnmap,   ShimFetch,        ShimUnfetch};
}
const sqlite3_io_methods kMethods[] = {MethodsOfVersion(1), MethodsOfVersion(2),
                                       MethodsOfVersion(3)};

sqlite3_vfs* RealVfs(sqlite3_vfs* shim) { return static_cast<sqlite3_vfs*>(shim->pAppData); }

int ShimOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* shim = reinterpret_cast<ShimFile*>(f);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  shim->kind = (flags & SQLITE_OPEN_MAIN_DB) ? FaultFile::kDb
               : (flags & SQLITE_OPEN_WAL)   ? FaultFile::kWal
                                             : FaultFile::kOther;
  shim->real->pMethods = nullptr;
  const int rc = RealVfs(vfs)->xOpen(RealVfs(vfs), name, shim->real, flags, out_flags);
  const sqlite3_io_methods* real = shim->real->pMethods;
  // SQLite calls xClose on a file whose pMethods is set, even if xOpen failed.
  f->pMethods = real == nullptr ? nullptr : &kMethods[std::clamp(real->iVersion, 1, 3) - 1];
  return rc;
}

int ShimDelete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return RealVfs(v)->xDelete(RealVfs(v), name, sync_dir);
}
int ShimAccess(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return RealVfs(v)->xAccess(RealVfs(v), name, flags, out);
}
int ShimFullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return RealVfs(v)->xFullPathname(RealVfs(v), name, n, out);
}
void* ShimDlOpen(sqlite3_vfs* v, const char* name) { return RealVfs(v)->xDlOpen(RealVfs(v), name); }
void ShimDlError(sqlite3_vfs* v, int n, char* out) { RealVfs(v)->xDlError(RealVfs(v), n, out); }
void (*ShimDlSym(sqlite3_vfs* v, void* lib, const char* sym))(void) {
  return RealVfs(v)->xDlSym(RealVfs(v), lib, sym);
}
void ShimDlClose(sqlite3_vfs* v, void* lib) { RealVfs(v)->xDlClose(RealVfs(v), lib); }
int ShimRandomness(sqlite3_vfs* v, int n, char* out) {
  return RealVfs(v)->xRandomness(RealVfs(v), n, out);
}
int ShimSleep(sqlite3_vfs* v, int micros) { return RealVfs(v)->xSleep(RealVfs(v), micros); }
int ShimCurrentTime(sqlite3_vfs* v, double* out) {
  return RealVfs(v)->xCurrentTime(RealVfs(v), out);
}
int ShimGetLastError(sqlite3_vfs* v, int n, char* out) {
  return RealVfs(v)->xGetLastError(RealVfs(v), n, out);
}
int ShimCurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  return RealVfs(v)->xCurrentTimeInt64(RealVfs(v), out);
}

}  // namespace

absl::Status InstallFaultVfs(const std::string& control_file) {
  {
    Control& c = TheControl();
    absl::MutexLock lock(&c.mu);
    c.path = control_file;
    c.known = false;
    c.rules = FaultRules();
  }
  static absl::Mutex install_mu;
  static sqlite3_vfs* shim = nullptr;  // registered once, for the process
  absl::MutexLock lock(&install_mu);
  if (shim != nullptr) return absl::OkStatus();
  if (const int rc = sqlite3_initialize(); rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite3_initialize: ", sqlite3_errstr(rc)));
  }
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 2) {
    return absl::FailedPreconditionError("no default SQLite VFS of version 2 or later to wrap");
  }
  auto* vfs = new sqlite3_vfs{};  // lives as long as the process
  vfs->iVersion = 2;              // the system-call overrides (version 3) are not offered
  vfs->szOsFile = static_cast<int>(sizeof(ShimFile)) + real->szOsFile;
  vfs->mxPathname = real->mxPathname;
  vfs->zName = "hart-fault";
  vfs->pAppData = real;
  vfs->xOpen = ShimOpen;
  vfs->xDelete = ShimDelete;
  vfs->xAccess = ShimAccess;
  vfs->xFullPathname = ShimFullPathname;
  vfs->xDlOpen = ShimDlOpen;
  vfs->xDlError = ShimDlError;
  vfs->xDlSym = ShimDlSym;
  vfs->xDlClose = ShimDlClose;
  vfs->xRandomness = ShimRandomness;
  vfs->xSleep = ShimSleep;
  vfs->xCurrentTime = ShimCurrentTime;
  vfs->xGetLastError = ShimGetLastError;
  vfs->xCurrentTimeInt64 = ShimCurrentTimeInt64;
  if (const int rc = sqlite3_vfs_register(vfs, /*makeDflt=*/1); rc != SQLITE_OK) {
    delete vfs;
    return absl::InternalError(absl::StrCat("sqlite3_vfs_register: ", sqlite3_errstr(rc)));
  }
  shim = vfs;
  return absl::OkStatus();
}

absl::StatusOr<bool> InstallFaultVfsFromEnvironment() {
  const char* control = std::getenv(kFaultControlEnv);
  if (control == nullptr || *control == '\0') return false;
  if (auto s = InstallFaultVfs(control); !s.ok()) return s;
  Log()->warn(
      "event=fault_vfs_installed control_file='{}' note='TEST SEAM: storage faults are injected "
      "on command ({} is set); never run a production broker like this'",
      control, kFaultControlEnv);
  return true;
}

FaultVfsCounts FaultVfsInjected() {
  Control& c = TheControl();
  absl::MutexLock lock(&c.mu);
  return c.counts;
}

}  // namespace hart::sqlite
