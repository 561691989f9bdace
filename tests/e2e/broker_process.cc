#include "tests/e2e/broker_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "absl/strings/str_split.h"
#include "tests/e2e/e2e_store.h"

namespace hart::testing {

namespace {

std::string RunAndCapture(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  if (pclose(pipe) != 0) {
    ADD_FAILURE() << "command failed: " << command;
  }
  return out;
}

}  // namespace

const std::string& DevCertsDir() {
  // Shared by every end-to-end test (ctest makes them first, as a fixture);
  // the script only creates what is missing, so running it again is cheap.
  static const std::string path = [] {
    const std::string ids = RunAndCapture(std::string(HART_BROKER_BINARY) + " --config " +
                                          SourcePath("deploy/config/connecticut.yaml") +
                                          " --print-agency-ids");
    // And one agency no config lists, whose certificate the broker refuses
    // (the fixture make_e2e_dev_certs makes it too: the script has no lock).
    std::string args = " " + std::string(kUnlistedAgencyId);
    for (auto id : absl::StrSplit(ids, '\n', absl::SkipEmpty())) {
      args += " " + std::string(id);
    }
    const std::string dir = HART_E2E_CERTS_DIR;
    RunAndCapture("bash " + SourcePath("deploy/make-dev-certs.sh") + " " + dir + args +
                  " >/dev/null 2>&1");
    return dir;
  }();
  return path;
}

BrokerProcess::BrokerProcess(const std::string& data_dir, const std::string& config_path,
                             std::vector<std::string> extra_args)
    : data_dir_(data_dir), extra_args_(std::move(extra_args)) {
  auto store_config = ConfigForE2eStore(
      config_path.empty() ? SourcePath("deploy/config/connecticut.yaml") : config_path, data_dir);
  if (!store_config.ok()) {
    ADD_FAILURE() << "cannot set up the broker's store: " << store_config.status();
    return;
  }
  config_ = *store_config;
  // The secrets the config's push adapters name (webhook HMAC key, NCMEC
  // credentials, file drop signing key); the script keeps what exists.
  RunAndCapture("bash " + SourcePath("deploy/make-dev-secrets.sh") + " " + data_dir + ".keys" +
                " >/dev/null 2>&1");
  Launch();
}

bool BrokerProcess::Restart() {
  if (pid_ > 0 || config_.empty()) {
    ADD_FAILURE() << "Restart() of a broker that is running or never started";
    return false;
  }
  Launch();
  return running();
}

void BrokerProcess::Launch() {
  const std::string certs = DevCertsDir();
  const std::string port_file = data_dir_ + ".port";
  std::remove(port_file.c_str());
  const std::string ops_port_file = data_dir_ + ".ops-port";
  std::remove(ops_port_file.c_str());
  const std::string log_file = data_dir_ + ".log";
  // A restart listens where the first start did: clients keep their channels.
  const std::string listen =
      "127.0.0.1:" + std::to_string(port_ > 0 ? port_ : 0);
  // Everything that allocates happens before fork(): the test process has
  // many threads, and a child of a threaded process may only call
  // async-signal-safe functions until exec (a malloc lock held by another
  // thread at the fork would hang it forever).
  std::vector<std::string> args = {HART_BROKER_BINARY, "--config", config_, "--data-dir",
                                   data_dir_, "--key-dir", data_dir_ + ".keys", "--tls-dir",
                                   certs, "--listen", listen, "--port-file", port_file,
                                   // Many brokers run at once: no fixed port.
                                   "--ops-listen", "127.0.0.1:0", "--ops-port-file",
                                   ops_port_file, "--log-level", "debug"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copies
      dup2(log, STDERR_FILENO);
    }
    execv(HART_BROKER_BINARY, argv.data());
    _exit(127);
  }
  if (log >= 0) close(log);
  int port = 0;
  const bool up = WaitFor(
      [&] {
        std::ifstream in(port_file);
        return in && (in >> port) && port > 0;
      },
      std::chrono::seconds(20));
  if (!up) {
    const std::string text = ReadText(log_file);
    // Its last lines: the log holds every earlier start too.
    size_t from = text.size();
    for (int lines = 0; lines < 40 && from > 0; ++lines) from = text.rfind('\n', from - 1);
    ADD_FAILURE() << "hart-broker did not start within 20 s; its log ends:\n"
                  << text.substr(from == std::string::npos ? 0 : from);
    Kill();
    return;
  }
  // Written once: other threads read port_ while a restart runs.
  if (port_ == 0) port_ = port;
  // Written before the port file; 0 if extra_args turned the port off.
  std::ifstream(ops_port_file) >> ops_port_;
}

BrokerProcess::~BrokerProcess() { Terminate(); }

void BrokerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::optional<int> BrokerProcess::WaitForExit(std::chrono::milliseconds bound) {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, bound);
  if (!exited) return std::nullopt;
  pid_ = -1;
  return status;
}

void BrokerProcess::Terminate() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "hart-broker did not stop cleanly; log:\n" << ReadText(data_dir_ + ".log");
  pid_ = -1;
}

std::shared_ptr<grpc::Channel> BrokerProcess::Channel(const std::string& cert_name) const {
  return Channel(cert_name, [](grpc::ChannelArguments&) {});
}

std::shared_ptr<grpc::Channel> BrokerProcess::Channel(
    const std::string& cert_name,
    const std::function<void(grpc::ChannelArguments&)>& configure) const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadText(DevCertsDir() + "/ca.crt");
  if (!cert_name.empty()) {
    ssl.pem_private_key = ReadText(DevCertsDir() + "/" + cert_name + ".key");
    ssl.pem_cert_chain = ReadText(DevCertsDir() + "/" + cert_name + ".crt");
  }
  grpc::ChannelArguments args;
  // A restarted broker is reached again within a fraction of a second, not
  // after gRPC's default reconnect backoff (up to two minutes). Not
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connection attempt's
  // timeout (default 20 s), and a TLS handshake under ASan on busy cores
  // takes longer than 100 ms, so every call would fail UNAVAILABLE.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Distinct channels per identity: gRPC would otherwise share one
  // subchannel (and one TLS identity) between them.
  args.SetString("hart.test.identity", cert_name);
  configure(args);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::SslCredentials(ssl), args);
}

std::unique_ptr<v1::IntakeService::Stub> BrokerProcess::Intake(const std::string& cert) const {
  return v1::IntakeService::NewStub(Channel(cert));
}

std::unique_ptr<v1::FeedService::Stub> BrokerProcess::Feed(const std::string& agency_id) const {
  return v1::FeedService::NewStub(Channel("agency-" + agency_id));
}

std::unique_ptr<v1::SupervisorService::Stub> BrokerProcess::Supervisor(
    const std::string& cert) const {
  return v1::SupervisorService::NewStub(Channel(cert));
}

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

CommandOutput RunHartctl(const std::string& args) {
  const std::string command = std::string(HARTCTL_BINARY) + " --certs_dir " + DevCertsDir() +
                              " " + args + " 2>&1";
  CommandOutput out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.text.append(buffer, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

bool IsFeedAgency(const std::string& agency_id) {
  for (const auto& agency : ConnecticutConfig().agencies()) {
    if (agency.id() == agency_id) return agency.adapter().type() == "grpc_feed";
  }
  ADD_FAILURE() << "no agency " << agency_id << " in the Connecticut config";
  return false;
}

std::vector<std::string> DrainFeed(const BrokerProcess& broker, const std::string& agency_id,
                                   const std::set<std::string>& expected, uint64_t resume_after,
                                   bool ack) {
  auto stub = broker.Feed(agency_id);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::SubscribeRequest request;
  request.set_resume_after(resume_after);
  auto reader = stub->Subscribe(&context, request);
  std::vector<std::string> received;
  std::set<std::string> missing = expected;
  v1::FeedEvent event;
  while (!missing.empty() && reader->Read(&event)) {
    if (!event.has_delivery()) continue;
    const std::string& id = event.delivery().delivery_id();
    received.push_back(id);
    missing.erase(id);
    EXPECT_EQ(event.delivery().referral().agency_id(), agency_id);
    if (!ack) continue;
    for (auto kind : {v1::Acknowledgement::RECEIVED, v1::Acknowledgement::ACCEPTED}) {
      v1::AcknowledgeRequest ack_request;
      ack_request.set_delivery_id(id);
      ack_request.set_kind(kind);
      v1::AcknowledgeResponse response;
      auto ack_context = CallContext();
      const grpc::Status status = stub->Acknowledge(ack_context.get(), ack_request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
  }
  // Cancelled by us when nothing is missing; otherwise how the stream ended.
  if (missing.empty()) context.TryCancel();
  const grpc::Status ended = reader->Finish();
  EXPECT_TRUE(missing.empty()) << agency_id << " never received " << missing.size()
                               << " deliveries; the stream ended with code "
                               << static_cast<int>(ended.error_code()) << ": "
                               << ended.error_message();
  return received;
}

}  // namespace hart::testing
