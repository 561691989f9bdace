// hart-broker: the HART referral broker.
//   hart-broker --config deploy/config/connecticut.yaml --data-dir DIR --tls-dir DIR
//   hart-broker --check-config FILE     validate a config, print every problem
#include <csignal>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "adapters/builtin.h"
#include "broker/common/flag_names.h"
#include "broker/common/logging.h"
#include "broker/config/config_loader.h"
#include "broker/server/broker_server.h"

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
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The HART referral broker. See README.md.");
  hart::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  hart::InitLogging(absl::GetFlag(FLAGS_log_level));

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
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  hart::BrokerServerOptions options;
  options.config = std::move(*config);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.tls_dir = absl::GetFlag(FLAGS_tls_dir);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.key_dir = absl::GetFlag(FLAGS_key_dir);
  options.crl_dir = absl::GetFlag(FLAGS_crl_dir);
  auto server = hart::BrokerServer::Start(std::move(options));
  if (!server.ok()) {
    std::cerr << "hart-broker: " << server.status().message() << "\n";
    return 1;
  }
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    // Written to a temporary name and renamed, so readers never see half a file.
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  std::cout << "hart-broker listening on port " << (*server)->port() << std::endl;

  int signal = 0;
  for (;;) {
    sigwait(&stop_signals, &signal);
    if (signal != SIGHUP) break;
    const absl::Status reloaded = (*server)->ReloadKeys();
    hart::Logger("server")->info("event=keys_reloaded ok={}", reloaded.ok());
  }
  hart::Logger("server")->info("event=stopping signal={}", signal);
  (*server)->Shutdown();
  return 0;
}
