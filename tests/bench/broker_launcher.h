// Starts the real hart-broker for a benchmark run and stops it afterwards:
// dev certificates in a cache directory, a temporary data directory under
// $TMPDIR with a key directory holding the push adapters' dev secrets and,
// unless told otherwise, a copy of the config with the per-certificate rate
// limit lifted; 127.0.0.1:0 with --port-file, log level warn.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/bench/rate_limit_config.h"

namespace hart::bench {

// Runs deploy/make-dev-certs.sh `certs_dir` `agency_ids`... (idempotent:
// only missing certificates are created). `script` is its path.
absl::Status EnsureDevCerts(const std::string& script, const std::string& certs_dir,
                            const std::vector<std::string>& agency_ids);

// Runs deploy/make-dev-secrets.sh `key_dir` (idempotent): the secret files
// the config's push adapters name relative to --key-dir. `script` is its path.
absl::Status EnsureDevSecrets(const std::string& script, const std::string& key_dir);

struct BrokerLaunchOptions {
  std::string binary;
  std::string config;
  // Set: the broker runs <work dir>/broker-config.yaml, `config` with
  // server.rate_limit_per_second / _burst replaced by these values.
  std::optional<RateLimit> rate_limit;
  // With `rate_limit`: server.max_streams_per_identity too, unless 0.
  uint32_t streams_per_identity = 0;
  // Set: the broker's directory (data/, keys/, broker.log, made when
  // missing and always kept) instead of a temporary one.
  std::string data_root;
  std::string certs_dir;
  std::string secrets_script;  // deploy/make-dev-secrets.sh, run for <work dir>/keys
  std::string log_level = "warn";
  bool keep_data = false;  // keep the temporary directory (data, log) afterwards
};

class BrokerLauncher {
 public:
  // Makes the dev secrets in <work dir>/keys (and the derived config if
  // `rate_limit` is set), forks and execs the broker;
  // returns once it wrote its port file, or an error quoting its log if it
  // exits or does not serve within 30 s. The
  // broker gets SIGTERM if this process dies first (PR_SET_PDEATHSIG).
  static absl::StatusOr<std::unique_ptr<BrokerLauncher>> Start(BrokerLaunchOptions options);
  ~BrokerLauncher();  // Stop()

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& work_dir() const { return work_dir_; }
  // The config the broker runs with: options.config or the derived copy.
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }

  // SIGTERM, then waits up to 30 s (SIGKILL after that) and reaps. An error
  // (with the log's tail) if the broker did not exit with status 0.
  absl::Status Stop();

  // The last `max_bytes` of the broker's log.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  explicit BrokerLauncher(BrokerLaunchOptions options) : options_(std::move(options)) {}

  BrokerLaunchOptions options_;
  std::string work_dir_;
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace hart::bench
