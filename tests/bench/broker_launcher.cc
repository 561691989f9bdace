#include "tests/bench/broker_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/bench/read_text.h"

namespace hart::bench {
namespace {

struct CommandResult {
  int exit_status = -1;  // -1: did not exit normally
  std::string output;    // stdout and stderr, interleaved
};

// Runs argv[0] with `argv` (no shell), capturing stdout and stderr.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  // Built before fork(): the child of a threaded process may only call
  // async-signal-safe functions until exec.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp(args[0], args.data());
    static const char kCannotRun[] = "cannot run the command\n";
    (void)!write(STDERR_FILENO, kCannotRun, sizeof kCannotRun - 1);
    _exit(127);
  }
  close(fds[1]);
  CommandResult result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.output.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  return result;
}

std::string TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
}

}  // namespace

absl::Status EnsureDevCerts(const std::string& script, const std::string& certs_dir,
                            const std::vector<std::string>& agency_ids) {
  std::vector<std::string> argv = {"bash", script, certs_dir};
  argv.insert(argv.end(), agency_ids.begin(), agency_ids.end());
  auto run = RunCommand(argv);
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "making dev certificates in ", certs_dir, " failed (exit ", run->exit_status,
        "):\n", run->output));
  }
  return absl::OkStatus();
}

absl::Status EnsureDevSecrets(const std::string& script, const std::string& key_dir) {
  auto run = RunCommand({"bash", script, key_dir});
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "making the push adapters' dev secrets in ", key_dir, " with ", script, " failed (exit ",
        run->exit_status, "); the broker would refuse to start without them:\n", run->output));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BrokerLauncher>> BrokerLauncher::Start(
    BrokerLaunchOptions options) {
  std::unique_ptr<BrokerLauncher> broker(new BrokerLauncher(std::move(options)));
  std::string pattern = broker->options_.data_root;
  if (pattern.empty()) {
    pattern = TempRoot() + "/hart-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("cannot create a temporary directory ", pattern,
                                              ": ", std::strerror(errno)));
    }
  } else {
    std::error_code error;
    std::filesystem::create_directories(pattern, error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create --data_dir ", pattern, ": ", error.message()));
    }
  }
  broker->work_dir_ = pattern;
  broker->log_path_ = pattern + "/broker.log";
  const std::string data_dir = pattern + "/data";
  const std::string port_file = pattern + "/port";
  const std::string key_dir = pattern + "/keys";
  const auto& o = broker->options_;
  std::error_code stale;
  std::filesystem::remove(port_file, stale);  // a kept directory's, from an earlier run
  if (auto s = EnsureDevSecrets(o.secrets_script, key_dir); !s.ok()) return s;
  broker->config_path_ = o.config;
  if (o.rate_limit) {
    broker->config_path_ = pattern + "/broker-config.yaml";
    if (auto s = WriteConfigWithRateLimit(o.config, *o.rate_limit, broker->config_path_,
                                          o.streams_per_identity);
        !s.ok()) {
      return s;
    }
  }
  const std::vector<std::string> argv = {
      o.binary, "--config", broker->config_path_, "--data-dir", data_dir, "--key-dir", key_dir,
      "--tls-dir", o.certs_dir,
      "--listen", "127.0.0.1:0", "--port-file", port_file, "--ops-listen", "127.0.0.1:0",
      "--log-level", o.log_level};
  const pid_t parent = getpid();

  // Built before fork(): the child of a threaded process may only call
  // async-signal-safe functions until exec.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log = open(broker->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t pid = fork();
  if (pid < 0) {
    if (log >= 0) close(log);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Never outlive the bench, even if it is killed.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    // Its own process group: a Ctrl-C at the terminal reaches hart-bench
    // only, which then finishes the run and stops the broker itself.
    setpgid(0, 0);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);  // the copies do not inherit O_CLOEXEC
      dup2(log, STDERR_FILENO);
    }
    execv(args[0], args.data());
    static const char kCannotRun[] = "cannot run hart-broker\n";
    (void)!write(STDERR_FILENO, kCannotRun, sizeof kCannotRun - 1);
    _exit(127);
  }
  if (log >= 0) close(log);
  broker->pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      broker->pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(
          "hart-broker exited during start-up (", o.binary, "); its log ", broker->log_path_,
          ":\n", broker->LogTail()));
    }
    std::ifstream in(port_file);
    int port = 0;
    if (in && (in >> port) && port > 0) {
      broker->port_ = port;
      return broker;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string tail = broker->LogTail();
  (void)broker->Stop();
  return absl::DeadlineExceededError(absl::StrCat(
      "hart-broker did not write its port file within 30 s; its log:\n", tail));
}

BrokerLauncher::~BrokerLauncher() { (void)Stop(); }

absl::Status BrokerLauncher::Stop() {
  absl::Status result = absl::OkStatus();
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool reaped = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!reaped) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      result = absl::DeadlineExceededError(absl::StrCat(
          "hart-broker did not stop within 30 s of SIGTERM and was killed; log tail:\n",
          LogTail()));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      result = absl::InternalError(absl::StrCat(
          "hart-broker did not stop cleanly (",
          WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status))
                            : absl::StrCat("signal ", WTERMSIG(status)),
          "); log tail:\n", LogTail()));
    }
    pid_ = -1;
  }
  if (!work_dir_.empty()) {
    if (options_.keep_data || !options_.data_root.empty() || !result.ok()) {
      std::fprintf(stderr, "hart-bench: broker data and log kept in %s\n", work_dir_.c_str());
    } else {
      std::error_code error;
      std::filesystem::remove_all(work_dir_, error);
    }
    work_dir_.clear();
  }
  return result;
}

std::string BrokerLauncher::LogTail(size_t max_bytes) const {
  const std::string log = ReadText(log_path_);
  return log.size() <= max_bytes ? log : "..." + log.substr(log.size() - max_bytes);
}

}  // namespace hart::bench
