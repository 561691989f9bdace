#include "tests/support/child_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/support/test_support.h"

namespace hart::testing {
namespace {

// Everything below runs in a forked child until exec or _exit: only
// async-signal-safe calls, no allocation.

[[noreturn]] void Die(const char* message) {
  (void)!write(STDERR_FILENO, message, strlen(message));
  _exit(127);
}

void CloseFrom(int first, int max_fd) {
  if (close_range(static_cast<unsigned>(first), ~0U, 0) == 0) return;
  for (int fd = first; fd < max_fd; ++fd) close(fd);  // kernels before 5.9
}

int MaxFd() {
  const long limit = sysconf(_SC_OPEN_MAX);
  return limit > 0 && limit < 65536 ? static_cast<int>(limit) : 65536;
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

absl::StatusOr<pid_t> SpawnChild(const ChildSpec& spec) {
  const int out = open(spec.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    return absl::InternalError(absl::StrCat("opening ", spec.output_file, ": ", strerror(errno)));
  }
  const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const std::vector<char*> argv = Argv(spec.argv);
  const int max_fd = MaxFd();
  const pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the forking thread's mask would survive exec
    setpgid(0, 0);
    if (null >= 0) dup2(null, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    CloseFrom(3, max_fd);
    if (chdir(spec.cwd.c_str()) != 0) Die("child: cannot enter its working directory\n");
    if (spec.run_as) {
      if (setgroups(0, nullptr) != 0 || setgid(spec.run_as->gid) != 0 ||
          setuid(spec.run_as->uid) != 0) {
        Die("child: cannot switch to the unprivileged user\n");
      }
    }
    execv(argv[0], argv.data());
    Die("child: exec failed\n");
  }
  const int fork_errno = errno;
  close(out);
  if (null >= 0) close(null);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(fork_errno)));
  setpgid(pid, pid);  // also here: no window in which a group signal reaches it
  return pid;
}

bool WaitForChildExit(pid_t pid, std::chrono::milliseconds bound, int* status) {
  return WaitFor(
      [&] {
        const pid_t r = waitpid(pid, status, WNOHANG);
        return r == pid || (r < 0 && errno == ECHILD);
      },
      bound);
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void KillWithChildren(pid_t pid) {
  kill(pid, SIGSTOP);
  if (DIR* proc = opendir("/proc")) {
    while (const dirent* entry = readdir(proc)) {
      int child = 0;
      if (!absl::SimpleAtoi(entry->d_name, &child)) continue;
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces.
      const std::string stat = ReadText(absl::StrCat("/proc/", child, "/stat"));
      const size_t close_paren = stat.rfind(')');
      if (close_paren == std::string::npos) continue;
      int ppid = 0;
      char state = 0;
      if (std::sscanf(stat.c_str() + close_paren + 1, " %c %d", &state, &ppid) == 2 &&
          ppid == pid) {
        kill(child, SIGKILL);
      }
    }
    closedir(proc);
  }
  KillAndReap(pid);
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", strsignal(WTERMSIG(status)));
  return "unknown status";
}

absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int error = errno;
  close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("binding 127.0.0.1:0: ", strerror(error)));
  return ntohs(addr.sin_port);
}

std::string FileTail(const std::string& path, size_t max_bytes, size_t from) {
  std::string text = ReadText(path);
  text.erase(0, std::min(from, text.size()));
  if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
  return text;
}

size_t FileSize(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
}

absl::Status ServerWatchdog::Start(pid_t server, const std::string& dir,
                                   const std::string& log_file) {
  Stop();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  const int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const std::vector<std::string> remove_args = {"/bin/rm", "-rf", "--", dir};
  const std::vector<char*> remove = Argv(remove_args);
  const int max_fd = MaxFd();
  const pid_t pid = fork();
  if (pid == 0) {
    // Outlive the test process: its group's Ctrl-C or SIGTERM is exactly
    // when this must act.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaction(sig, &ignore, nullptr);
    dup2(fds[0], STDIN_FILENO);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    CloseFrom(3, max_fd);  // among them every write end: EOF once the test process is gone
    char byte;
    for (;;) {
      const ssize_t n = read(STDIN_FILENO, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
    }
    const char message[] = "watchdog: the test process died; stopping PostgreSQL\n";
    (void)!write(STDERR_FILENO, message, sizeof message - 1);
    kill(server, SIGINT);
    const timespec tick = {0, 100 * 1000 * 1000};
    for (int i = 0; i < 300 && kill(server, 0) == 0; ++i) nanosleep(&tick, nullptr);
    kill(server, SIGKILL);
    execv(remove[0], remove.data());
    _exit(0);
  }
  const int fork_errno = errno;
  close(fds[0]);
  if (log >= 0) close(log);
  if (pid < 0) {
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(fork_errno)));
  }
  owner_ = getpid();
  pid_ = pid;
  pipe_fd_ = fds[1];
  return absl::OkStatus();
}

void ServerWatchdog::Stop() {
  if (pid_ > 0 && owner_ == getpid()) KillAndReap(pid_);
  if (pipe_fd_ >= 0) close(pipe_fd_);
  pid_ = -1;
  pipe_fd_ = -1;
}

}  // namespace hart::testing
