// The rules of the fault-injecting VFS (sqlite_fault_vfs.h): which of the
// next xSync or xWrite calls fail, and how. Parsed from the control file's
// text, one rule per line:
//
//   sync fail [file=db|wal] [skip=N] [count=N]   xSync -> SQLITE_IOERR_FSYNC
//   write fail  ...                              nothing written, SQLITE_IOERR_WRITE
//   write short ...                              half written, SQLITE_IOERR_WRITE
//   write full  ...                              half written, SQLITE_FULL (ENOSPC)
//
// `skip=N` lets the next N matching calls through first; `count=N` fails
// that many, then the rule is spent; without it the rule holds until the
// file changes. `file` limits the rule to the database or its write-ahead
// log (default: any file). Blank lines and `#` comments are ignored. The
// first rule matching a call decides it.
//
// Thread safety: FaultRules is not thread-safe (the VFS guards it).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hart::sqlite {

enum class FaultOp { kSync, kWrite };
enum class FaultEffect { kFail, kShort, kFull };
enum class FaultFile { kAny, kDb, kWal, kOther };

struct FaultRule {
  FaultOp op = FaultOp::kSync;
  FaultEffect effect = FaultEffect::kFail;
  FaultFile file = FaultFile::kAny;
  uint64_t skip = 0;
  std::optional<uint64_t> count;  // nullopt: every call after the skipped ones
};

// INVALID_ARGUMENT naming the line for anything it does not understand.
absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(absl::string_view text);

class FaultRules {
 public:
  FaultRules() = default;
  explicit FaultRules(const std::vector<FaultRule>& rules);

  // The effect for this call, if one is injected; counts the call against
  // the first rule that matches it.
  std::optional<FaultEffect> Decide(FaultOp op, FaultFile file);

 private:
  struct State {
    FaultRule rule;
    uint64_t seen = 0;  // matching calls so far
  };
  std::vector<State> rules_;
};

}  // namespace hart::sqlite
