// Running other programs as test servers (PostgreSQL): fork and exec with
// only async-signal-safe calls in the child (test processes have threads),
// optionally as another user, bounded waits for exit, and a watchdog that
// stops the server if the test process dies without doing so.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hart::testing {

struct ChildUser {
  uid_t uid = 0;
  gid_t gid = 0;
};

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path (no PATH search)
  std::string cwd;                // the child's working directory
  std::string output_file;        // stdout and stderr, appended; stdin is /dev/null
  // Set: the child drops its supplementary groups and switches to this gid
  // and uid before exec (this process must be root).
  std::optional<ChildUser> run_as;
};

// Forks and execs `spec`. The child leads its own process group (signals
// for the test's group, e.g. a terminal's Ctrl-C, do not reach it) and
// keeps none of this process's descriptors beyond 0-2.
absl::StatusOr<pid_t> SpawnChild(const ChildSpec& spec);

// Reaps `pid` if it exits within `bound`; false if it is still running.
bool WaitForChildExit(pid_t pid, std::chrono::milliseconds bound, int* status);

// SIGKILL and reap.
void KillAndReap(pid_t pid);

// For a server that ignored a shutdown request: stops it (so it forks no
// more), SIGKILLs its children (PostgreSQL backends lead their own process
// groups, so a group kill would miss them), then it; reaps it.
void KillWithChildren(pid_t pid);

// "exit 1", "signal Killed": a waitpid status for messages.
std::string DescribeExit(int status);

// A port the kernel just handed out on 127.0.0.1 (bound, then released):
// someone else may take it before the server binds it, so callers retry.
absl::StatusOr<int> FreeLoopbackPort();

// The last `max_bytes` of `path`, of what follows its first `from` bytes.
std::string FileTail(const std::string& path, size_t max_bytes, size_t from = 0);
size_t FileSize(const std::string& path);

// A process forked beside a server (or initdb) that waits for this process to die:
// the test crashed or was killed without stopping the server. It then asks
// the server to stop (SIGINT), SIGKILLs it after 30 s, and removes `dir`.
class ServerWatchdog {
 public:
  ServerWatchdog() = default;
  ~ServerWatchdog() { Stop(); }
  ServerWatchdog(const ServerWatchdog&) = delete;
  ServerWatchdog& operator=(const ServerWatchdog&) = delete;

  // Watches `server`; messages go to `log_file`. Stops an earlier watch.
  absl::Status Start(pid_t server, const std::string& dir, const std::string& log_file);
  // Ends the watch (SIGKILL, reap); the server is left alone. In a forked
  // child of the process that started the watch it only forgets it.
  void Stop();

 private:
  pid_t owner_ = -1;
  pid_t pid_ = -1;
  int pipe_fd_ = -1;  // the write end: closed by this process's death
};

}  // namespace hart::testing
