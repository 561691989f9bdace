// Runs the real hart-broker binary for end-to-end tests: dev certificates
// made by deploy/make-dev-certs.sh, a temporary data directory, a port
// chosen by the kernel on 127.0.0.1, and stubs that connect over mTLS as
// any identity.
#pragma once

#include <functional>

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "grpcpp/grpcpp.h"
#include "hart/referral/v1/feed.grpc.pb.h"
#include "hart/referral/v1/intake.grpc.pb.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"
#include "tests/support/test_support.h"

namespace hart::testing {

// Dev certificates for every agency of the Connecticut config, made once per
// test binary.
const std::string& DevCertsDir();

class BrokerProcess {
 public:
  // Starts the broker on `data_dir`; fails the test (and returns false from
  // running()) if it does not serve within 20 s.
  // `config` defaults to deploy/config/connecticut.yaml; `extra_args` are
  // appended to the command line (a repeated flag overrides the default).
  explicit BrokerProcess(const std::string& data_dir, const std::string& config = "",
                         std::vector<std::string> extra_args = {});
  ~BrokerProcess();  // SIGTERM and wait

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // The operations port (HTTPS: /livez, /readyz, ...), on 127.0.0.1:0 too.
  int ops_port() const { return ops_port_; }
  void Kill();       // SIGKILL and reap: no clean shutdown
  void Terminate();  // SIGTERM and reap; expects exit status 0
  // After Kill(): starts the broker again on the same data directory, config
  // and port (channels made before reconnect); false, with a test failure,
  // if it does not serve within 20 s.
  bool Restart();
  // Reaps the process once it has exited (bounded wait); its exit status
  // as waitpid gives it, or nullopt if it is still running at `bound`.
  std::optional<int> WaitForExit(std::chrono::milliseconds bound);

  // A channel presenting `cert_name`.crt/.key (e.g. "careline",
  // "supervisor", "agency-hartford-pd"); empty name = no client certificate.
  std::shared_ptr<grpc::Channel> Channel(const std::string& cert_name) const;
  // The same with channel arguments of the test's own (`configure` sets them).
  std::shared_ptr<grpc::Channel> Channel(
      const std::string& cert_name,
      const std::function<void(grpc::ChannelArguments&)>& configure) const;

  std::unique_ptr<v1::IntakeService::Stub> Intake(const std::string& cert = "careline") const;
  std::unique_ptr<v1::FeedService::Stub> Feed(const std::string& agency_id) const;
  std::unique_ptr<v1::SupervisorService::Stub> Supervisor(
      const std::string& cert = "supervisor") const;

 private:
  // Forks and execs the broker, then waits for its port file.
  void Launch();

  std::string data_dir_;
  std::string config_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  int ops_port_ = 0;
};

// A unary-call context with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> CallContext();

// An agency id with a dev certificate (agency-unlisted-pd) that no config
// lists.
inline constexpr char kUnlistedAgencyId[] = "unlisted-pd";

// Runs `hartctl --certs_dir <dev certs> ARGS`, stderr included in `text`.
struct CommandOutput {
  int exit_code = -1;
  std::string text;
};
CommandOutput RunHartctl(const std::string& args);

// Whether the Connecticut config delivers to `agency_id` through its feed
// (grpc_feed); push partners (webhook, ncmec, email, file drop) have none.
bool IsFeedAgency(const std::string& agency_id);

// Subscribes as `agency_id` from `resume_after`, acknowledges each delivery
// event with RECEIVED then ACCEPTED (when `ack`), until every id in
// `expected` arrived or 20 s pass. Returns every delivery id received, in
// order, repeats included.
std::vector<std::string> DrainFeed(const BrokerProcess& broker, const std::string& agency_id,
                                   const std::set<std::string>& expected,
                                   uint64_t resume_after = 0, bool ack = true);

}  // namespace hart::testing
