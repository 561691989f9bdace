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
#include "broker/store/sqlite/sqlite_vfs_shim.h"

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
struct FaultShimFile {
  ShimFile shim;
  FaultFile kind;
};

FaultFile KindOf(sqlite3_file* f) { return reinterpret_cast<FaultShimFile*>(f)->kind; }

int FaultWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 at) {
  const FaultFile kind = KindOf(f);
  const std::optional<FaultEffect> effect = Decide(FaultOp::kWrite, kind);
  if (!effect) return RealMethods(f)->xWrite(RealFile(f), p, n, at);
  Log()->warn("event=fault_injected fault={} file={}", EffectName(FaultOp::kWrite, *effect),
              FileName(kind));
  // Short and full writes leave half the bytes behind, as a real one does.
  if (*effect != FaultEffect::kFail && n > 1) {
    (void)RealMethods(f)->xWrite(RealFile(f), p, n / 2, at);
  }
  return *effect == FaultEffect::kFull ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

int FaultSync(sqlite3_file* f, int flags) {
  const FaultFile kind = KindOf(f);
  if (!Decide(FaultOp::kSync, kind)) return RealMethods(f)->xSync(RealFile(f), flags);
  Log()->warn("event=fault_injected fault=sync_fail file={}", FileName(kind));
  return SQLITE_IOERR_FSYNC;
}

// One method table per version, so each file gets the real one's version.
sqlite3_io_methods FaultMethodsOfVersion(int version) {
  sqlite3_io_methods methods = ForwardingFileMethods(version);
  methods.xWrite = FaultWrite;
  methods.xSync = FaultSync;
  return methods;
}
const sqlite3_io_methods kMethods[] = {FaultMethodsOfVersion(1), FaultMethodsOfVersion(2),
                                       FaultMethodsOfVersion(3)};

int FaultOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  reinterpret_cast<FaultShimFile*>(f)->kind = (flags & SQLITE_OPEN_MAIN_DB) ? FaultFile::kDb
                                           : (flags & SQLITE_OPEN_WAL)   ? FaultFile::kWal
                                                                         : FaultFile::kOther;
  const int rc =
      OpenRealFile(WrappedVfs(vfs), sizeof(FaultShimFile), name, f, flags, out_flags);
  const sqlite3_io_methods* real = RealFile(f)->pMethods;
  f->pMethods = real == nullptr ? nullptr : &kMethods[std::clamp(real->iVersion, 1, 3) - 1];
  return rc;
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
  static bool registered = false;  // once, for the process
  absl::MutexLock lock(&install_mu);
  if (registered) return absl::OkStatus();
  const int file_bytes = static_cast<int>(sizeof(FaultShimFile)) + DefaultVfsFileBytes();
  if (auto s = RegisterShimVfs("hart-fault", file_bytes, FaultOpen, /*as_default=*/true);
      !s.ok()) {
    return s;
  }
  registered = true;
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
