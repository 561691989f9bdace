// The hart-admin subcommands and the exit codes they share.
#pragma once

namespace hart::admin {

// Exit codes: success; the check ran and found a problem; usage or local
// error (bad flags, missing files, the broker still running).
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitUsage = 2;

// hart-admin audit verify: reads its flags, returns the exit code.
int RunAuditVerify();

}  // namespace hart::admin
