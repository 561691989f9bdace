// hart-broker: the HART referral broker.
//   hart-broker --config deploy/config/connecticut.yaml --data-dir DIR --tls-dir DIR
//   hart-broker --check-config FILE     validate a config, print every problem
// SIGTERM or SIGINT drains and exits 0 (BrokerServer::Shutdown), within
// server.ops.drain_timeout; past it, or on a second signal, it exits 1 at
// once. SIGHUP re-reads the key directory.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "adapters/builtin.h"
#include "broker/common/clock_offset_file.h"
#include "broker/common/flag_names.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"
#include "broker/config/config_loader.h"
#include "broker/server/broker_server.h"
#include "broker/store/sqlite/sqlite_fault_vfs.h"

ABSL_FLAG(std::string, config, "deploy/config/connecticut.yaml", "Broker config (YAML).");
ABSL_FLAG(std::string, check_config, "",
          "Validate this config file, print every problem and exit (non-zero if any).");
ABSL_FLAG(bool, print_agency_ids, false,
          "Print the agency ids of --config, one per line, and exit.");
ABSL_FLAG(std::string, data_dir, "var/data", "Data directory (SQLite store).");
ABSL_FLAG(std::string, key_dir, "var/keys",
          "Key-encryption keys (<id>.kek, ACTIVE); keep apart from the data directory. "
          "Created with a first key if empty.");
ABSL_FLAG(std::string, crl_dir, "",
          "Directory of CRLs (<issuer-hash>.r<n>); revoked client certificates are refused.");
ABSL_FLAG(std::string, tls_dir, "var/certs",
          "Directory with ca.crt, broker.crt and broker.key.");
ABSL_FLAG(std::string, listen, "",
          "Listen address, overriding the config; 127.0.0.1:0 picks a free port.");
ABSL_FLAG(std::string, port_file, "",
          "Write the bound port to this file once serving (for tests and scripts).");
ABSL_FLAG(std::string, ops_listen, "",
          "Operations port (/livez, /readyz, /metrics) address, overriding the config "
          "(server.ops.listen_address); 127.0.0.1:0 picks a free port, off serves none.");
ABSL_FLAG(std::string, ops_port_file, "",
          "Write the bound operations port (0 when off) to this file once serving.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");

namespace {

// Written to a temporary name and renamed, so readers never see half a file.
void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

// Stops `server` (a drain, then every part in order) on another thread and
// waits for it until `bound` has passed or a second stop signal arrives;
// then the process exits at once (status 1), whatever is stuck. `signals`
// are blocked in every thread; SIGUSR1 among them says the stop finished.
int StopWithin(hart::BrokerServer& server, absl::Duration bound, const sigset_t& signals) {
  const pthread_t main_thread = pthread_self();
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.Shutdown();
    stopped = true;
    pthread_kill(main_thread, SIGUSR1);
  });
  const absl::Time deadline = absl::Now() + bound;
  for (;;) {
    const timespec wait = absl::ToTimespec(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    const int signal = sigtimedwait(&signals, nullptr, &wait);
    if (stopped) {
      stopper.join();
      hart::Logger("server")->info("event=stopped");
      return 0;
    }
    if (signal == SIGINT || signal == SIGTERM) {
      hart::Logger("server")->warn("event=stop_forced reason=second_signal signal={}", signal);
    } else if (signal < 0 && errno == EAGAIN) {
      hart::Logger("server")->error("event=stop_forced reason=drain_timeout seconds={}",
                                    absl::ToInt64Seconds(bound));
    } else {
      continue;  // SIGHUP, or interrupted: keep waiting
    }
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& log) { log->flush(); });
    std::_Exit(1);  // what was not committed was never acknowledged
  }
}

}  // namespace

int main(int argc, char** argv) {
#ifdef NDEBUG
  // absl's lock-order graph costs every Mutex acquisition (a few per cent of
  // the writer's profile); debug and sanitizer builds keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  absl::SetProgramUsageMessage("The HART referral broker. See README.md.");
  // --help lists the broker's own flags (this file's): absl's default
  // looks for a file named after the binary, and found none.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "broker/server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  hart::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  hart::InitLogging(absl::GetFlag(FLAGS_log_level));
  // Fault tests step the broker's clock through this seam; it logs a warning.
  hart::InstallClockOffsetFromEnvironment();

  hart::AdapterRegistry validation_registry;
  if (auto s = hart::RegisterBuiltinAdapters(validation_registry, {}); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  if (const std::string path = absl::GetFlag(FLAGS_check_config); !path.empty()) {
    auto config = hart::LoadConfig(path, validation_registry);
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return 1;
    }
    std::cout << path << ": OK (" << config->towns_size() << " towns, "
              << config->agencies_size() << " agencies, " << config->rules_size()
              << " rules)\n";
    return 0;
  }
  auto config = hart::LoadConfig(absl::GetFlag(FLAGS_config), validation_registry);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_print_agency_ids)) {
    for (const auto& agency : config->agencies()) std::cout << agency.id() << "\n";
    return 0;
  }

  // Block the stop signals before any thread starts so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reload the key directory
  sigset_t stopping_signals = stop_signals;
  sigaddset(&stopping_signals, SIGUSR1);  // the stop finished
  pthread_sigmask(SIG_BLOCK, &stopping_signals, nullptr);
  const absl::Duration drain_bound = hart::FromProtoDuration(config->server().ops().drain_timeout());

  // The storage fault seam for tests (sqlite_fault_vfs.h): registered, with
  // a loud warning, only when its environment variable is set.
  if (auto faults = hart::sqlite::InstallFaultVfsFromEnvironment(); !faults.ok()) {
    std::cerr << "hart-broker: " << faults.status().message() << "\n";
    return 1;
  }

  hart::BrokerServerOptions options;
  options.config = std::move(*config);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.tls_dir = absl::GetFlag(FLAGS_tls_dir);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.key_dir = absl::GetFlag(FLAGS_key_dir);
  options.crl_dir = absl::GetFlag(FLAGS_crl_dir);
  options.ops_listen_address = absl::GetFlag(FLAGS_ops_listen);
  auto server = hart::BrokerServer::Start(std::move(options));
  if (!server.ok()) {
    std::cerr << "hart-broker: " << server.status().message() << "\n";
    return 1;
  }
  WritePortFile(absl::GetFlag(FLAGS_ops_port_file), (*server)->ops_port());
  WritePortFile(absl::GetFlag(FLAGS_port_file), (*server)->port());
  std::cout << "hart-broker listening on port " << (*server)->port() << std::endl;

  int signal = 0;
  for (;;) {
    sigwait(&stop_signals, &signal);
    if (signal != SIGHUP) break;
    const absl::Status reloaded = (*server)->ReloadKeys();
    hart::Logger("server")->info("event=keys_reloaded ok={}", reloaded.ok());
  }
  hart::Logger("server")->info("event=stopping signal={}", signal);
  return StopWithin(**server, drain_bound, stopping_signals);
}
