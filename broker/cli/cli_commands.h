// The hartctl subcommands and the exit codes they share.
#pragma once

#include <string>
#include <vector>

namespace hart::cli {

// Exit codes: success, the RPC failed, usage or local input error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcFailed = 1;
inline constexpr int kExitUsage = 2;

// Each subcommand gets its positional arguments (without the subcommand
// name), reads its flags itself and returns the process exit code.
int RunSubmit(const std::vector<std::string>& args);
int RunSupplement(const std::vector<std::string>& args);
int RunStatus(const std::vector<std::string>& args);
int RunExplain(const std::vector<std::string>& args);
int RunFeed(const std::vector<std::string>& args);
int RunAck(const std::vector<std::string>& args);
int RunAudit(const std::vector<std::string>& args);
int RunList(const std::vector<std::string>& args);
int RunWatch(const std::vector<std::string>& args);
int RunRedeliver(const std::vector<std::string>& args);
int RunAckOnBehalf(const std::vector<std::string>& args);
int RunSeal(const std::vector<std::string>& args);
int RunKeys(const std::vector<std::string>& args);
int RunAdapters(const std::vector<std::string>& args);
int RunReport(const std::vector<std::string>& args);
int RunDashboard(const std::vector<std::string>& args);

}  // namespace hart::cli
