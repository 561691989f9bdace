#include "tests/bench/bench_broker.h"

#include <cstdio>

namespace hart::bench {

void Progress(const std::string& message) {
  std::fprintf(stderr, "hart-bench: %s\n", message.c_str());
  std::fflush(stderr);
}

absl::StatusOr<std::vector<AgencyAdapter>> BenchAgencies(const BenchConfig& c, bool make_certs) {
  auto agencies = ReadAgencyAdapters(c.config);
  if (!agencies.ok()) return agencies.status();
  if (!make_certs) return agencies;
  std::vector<std::string> ids;
  for (const auto& agency : *agencies) ids.push_back(agency.agency_id);
  Progress("dev certificates in " + c.certs_dir + " (" + std::to_string(ids.size()) +
           " agencies)");
  if (auto s = EnsureDevCerts(std::string(HART_SOURCE_DIR) + "/deploy/make-dev-certs.sh",
                              c.certs_dir, ids);
      !s.ok()) {
    return s;
  }
  return agencies;
}

absl::StatusOr<StartedBroker> StartBenchBroker(const BenchConfig& c,
                                               uint32_t streams_per_identity) {
  auto configured = ConfiguredRateLimit(c.config);
  if (!configured.ok()) return configured.status();
  StartedBroker started;
  started.config_rate_limit = *configured;
  started.rate_limit = c.keep_rate_limit ? *configured : kLiftedRateLimit;
  const std::string limit = std::to_string(started.rate_limit.per_second) + "/s, burst " +
                            std::to_string(started.rate_limit.burst);
  const std::string config_limit = std::to_string(configured->per_second) + "/s, burst " +
                                   std::to_string(configured->burst);
  Progress("starting " + c.broker_binary +
           (c.keep_rate_limit
                ? " with --config's own per-certificate rate limit (" + limit + ")"
                : " with the per-certificate rate limit lifted to " + limit + " (--config: " +
                      config_limit + "; --keep_rate_limit keeps it)") +
           (streams_per_identity > 0
                ? " and server.max_streams_per_identity " + std::to_string(streams_per_identity)
                : ""));
  BrokerLaunchOptions options;
  options.binary = c.broker_binary;
  options.config = c.config;
  if (!c.keep_rate_limit || streams_per_identity > 0) options.rate_limit = started.rate_limit;
  options.streams_per_identity = streams_per_identity;
  options.certs_dir = c.certs_dir;
  options.secrets_script = std::string(HART_SOURCE_DIR) + "/deploy/make-dev-secrets.sh";
  options.log_level = c.broker_log_level;
  options.keep_data = c.keep_data;
  options.data_root = c.data_dir;
  auto launched = BrokerLauncher::Start(options);
  if (!launched.ok()) return launched.status();
  started.launcher = std::move(*launched);
  Progress("hart-broker pid " + std::to_string(started.launcher->pid()) + " serving 127.0.0.1:" +
           std::to_string(started.launcher->port()) + ", data in " +
           started.launcher->work_dir() + ", config " + started.launcher->config_path());
  return started;
}

}  // namespace hart::bench
