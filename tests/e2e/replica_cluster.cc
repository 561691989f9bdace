#include "tests/e2e/replica_cluster.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "tests/support/child_process.h"
#include "yaml-cpp/yaml.h"

namespace hart::testing {
namespace {

// Long enough that the holding replica is killed first, short enough that
// the stand-in's destructor is never kept waiting by a reply in the queue.
constexpr absl::Duration kHeldReplyDelay = absl::Seconds(20);

// "https://127.0.0.1:4711/v1/acks" -> 4711; 0 if it does not parse.
int PortOfUrl(const std::string& url) {
  const size_t host = url.find("127.0.0.1:");
  if (host == std::string::npos) return 0;
  const size_t start = host + std::string("127.0.0.1:").size();
  const size_t end = url.find('/', start);
  int port = 0;
  return absl::SimpleAtoi(url.substr(start, end - start), &port) ? port : 0;
}

}  // namespace

bool PollFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return true;
}

absl::StatusOr<std::unique_ptr<WebhookPartner>> WebhookPartner::Start(
    const std::string& dir, absl::Duration reply_delay) {
  std::unique_ptr<WebhookPartner> partner(new WebhookPartner());
  // Keeps each push in flight for a moment, as a real partner's would be.
  partner->reply_delay_ = reply_delay;
  std::filesystem::create_directories(dir);
  auto certs = MakeTestCertificates(dir);
  if (!certs.ok()) return certs.status();
  partner->certs_ = *certs;
  WebhookPartner* raw = partner.get();
  auto server = HttpsTestServer::Start({certs->server_cert_file, certs->server_key_file, ""},
                                       [raw](const ReceivedRequest& r) { return raw->Answer(r); });
  if (!server.ok()) return server.status();
  partner->server_ = std::move(*server);
  return partner;
}

ServerReply WebhookPartner::Answer(const ReceivedRequest& request) {
  WebhookPost post;
  auto key = request.headers.find("idempotency-key");
  if (key != request.headers.end()) post.delivery_id = key->second;
  v1::ReferralDelivery message;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  if (google::protobuf::util::JsonStringToMessage(request.body, &message, lenient).ok()) {
    post.referral_id = message.referral_id();
    post.kind = message.kind();
    post.ack_port = PortOfUrl(message.ack_url());
  }
  ServerReply reply{200, {}, "{}"};
  int held = 0;
  if (holding_ && post.ack_port != 0) {
    held_ack_port_.compare_exchange_strong(held, post.ack_port);
    held = held_ack_port_;
  }
  reply.delay = (held != 0 && post.ack_port == held) ? kHeldReplyDelay : reply_delay_;
  std::lock_guard<std::mutex> lock(mu_);
  posts_.push_back(std::move(post));
  return reply;
}

size_t WebhookPartner::HoldRepliesFromNextSender() {
  holding_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  return posts_.size();
}

std::vector<WebhookPost> WebhookPartner::Posts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return posts_;
}

ReplicaCluster::ReplicaCluster(const std::string& dir, PostgresServer& server,
                               const std::string& database, const WebhookPartner& webhook)
    : ReplicaCluster(dir, ClusterOptions{&server, database, 3, false}, webhook) {}

ReplicaCluster::ReplicaCluster(const std::string& dir, const ClusterOptions& options,
                               const WebhookPartner& webhook)
    : dir_(dir),
      key_dir_(dir + "/keys"),
      signing_key_(dir + "/audit-signing.key"),
      size_(options.server == nullptr ? 1 : std::clamp(options.replicas, 1, kMaxReplicas)) {
  // Replicas share the key directory: the key-encryption keys that open
  // every referral's data key, the ack-token key, the partners' secrets.
  if (std::system(("bash " + SourcePath("deploy/make-dev-secrets.sh") + " " + key_dir_ +
                   " >/dev/null 2>&1").c_str()) != 0) {
    ADD_FAILURE() << "deploy/make-dev-secrets.sh failed";
    return;
  }
  for (int i = 0; i < size_; ++i) {
    auto port = FreeLoopbackPort();
    if (!port.ok()) {
      ADD_FAILURE() << port.status();
      return;
    }
    ack_ports_[i] = *port;
    replicas_[i] = std::make_unique<BrokerProcess>(
        data_dir(i), WriteConfig(i, options, webhook),
        std::vector<std::string>{"--key-dir", key_dir_, "--log-level", "info"});
    alive_[i] = replicas_[i]->running();
    if (!alive_[i]) return;
  }
  ok_ = true;
}

ReplicaCluster::~ReplicaCluster() {
  for (int i = 0; i < size_; ++i) {
    if (paused_[i]) Resume(i);
    if (replicas_[i]) replicas_[i]->Terminate();
  }
}

std::string ReplicaCluster::Name(int replica) {
  return std::string("replica-") + static_cast<char>('a' + replica);
}

std::string ReplicaCluster::WriteConfig(int replica, const ClusterOptions& options,
                                        const WebhookPartner& webhook) {
  YAML::Node root = YAML::LoadFile(SourcePath("deploy/config/connecticut.yaml"));
  if (options.server != nullptr) {
    const PostgresServer& server = *options.server;
    YAML::Node store = root["store"];
    store["backend"] = "postgres";
    store["broker_id"] = Name(replica);
    store["postgres"]["conninfo"] = "host=" + server.host() + " port=" +
                                    std::to_string(server.port()) + " user=" + server.user() +
                                    " dbname=" + options.database;
    store["postgres"]["password_file"] = server.password_file();
    store["postgres"]["sslmode"] = "disable";
    // A statement cut off by a fault is given up well within the clients'
    // deadline, so the call answers UNAVAILABLE rather than running out.
    store["postgres"]["statement_timeout"] = "3s";
  }
  if (options.fast_ladders) {
    for (YAML::Node rule : root["rules"]) {
      for (YAML::Node destination : rule["destinations"]) {
        if (destination["ack_deadline_normal"]) destination["ack_deadline_normal"] = "10s";
        if (destination["ack_deadline_urgent"]) destination["ack_deadline_urgent"] = "10s";
      }
    }
    for (YAML::Node ladder : root["escalation_ladders"]) {
      int step = 0;
      for (YAML::Node s : ladder["steps"]) s["after"] = std::to_string(step++) + "s";
    }
  }
  // A killed replica's claimed pushes are rescued 2 s after its last
  // claim; failed attempts retry within a second.
  root["dispatch"]["claim_lease"] = "2s";
  root["dispatch"]["initial_backoff"] = "0.2s";
  root["dispatch"]["max_backoff"] = "1s";
  // One signing key: every checkpoint verifies whichever replica led.
  root["audit"]["signing_key_file"] = signing_key_;
  root["audit"]["checkpoint_interval"] = "2s";
  root["feed"]["heartbeat_interval"] = "1s";
  if (options.rate_limit_per_second > 0) {
    root["server"]["rate_limit_per_second"] = options.rate_limit_per_second;
    root["server"]["rate_limit_burst"] = 2 * options.rate_limit_per_second;
  }
  root["server"]["ack_endpoint"]["listen_address"] =
      "127.0.0.1:" + std::to_string(ack_ports_[replica]);
  for (YAML::Node agency : root["agencies"]) {
    YAML::Node adapter = agency["adapter"];
    if (agency["id"].as<std::string>() == kWebhookAgency) {
      adapter["settings"]["url"] = webhook.url();
      adapter["settings"]["ca_file"] = webhook.ca_file();
      // A circuit opened by a fault closes again within the test.
      adapter["limits"]["timeout"] = "5s";
      adapter["limits"]["open_for"] = "1s";
    } else if (adapter["type"].as<std::string>() != "grpc_feed") {
      agency["adapter"] = YAML::Load("{type: grpc_feed}");
    }
  }
  const std::string path = dir_ + "/" + Name(replica) + ".yaml";
  std::ofstream(path) << root << "\n";
  return path;
}

void ReplicaCluster::Kill(int i) {
  alive_[i] = false;
  replicas_[i]->Kill();
}

bool ReplicaCluster::Restart(int i) {
  alive_[i] = replicas_[i]->Restart();
  return alive_[i];
}

void ReplicaCluster::Pause(int i) {
  paused_[i] = true;
  kill(replicas_[i]->pid(), SIGSTOP);
}

void ReplicaCluster::Resume(int i) {
  kill(replicas_[i]->pid(), SIGCONT);
  paused_[i] = false;
}

int ReplicaCluster::Pick(size_t preferred) const {
  for (int k = 0; k < size_; ++k) {
    const int i = static_cast<int>((preferred + static_cast<size_t>(k)) % static_cast<size_t>(size_));
    if (alive_[i] && !paused_[i]) return i;
  }
  return -1;
}

CommandOutput ReplicaCluster::VerifyAudit(int i) const {
  if (i < 0 || i >= size_) {
    CommandOutput none;
    none.exit_code = -1;
    none.text = "no replica is running to verify against";
    return none;
  }
  const std::string command = "--target 127.0.0.1:" + std::to_string(replicas_[i]->port()) +
                              " --as supervisor audit verify --public_key " + signing_key_ +
                              ".pub";
  CommandOutput out;
  PollFor(
      [&] {
        out = RunHartctl(command);
        return out.exit_code == 0;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(500));
  return out;
}

std::string ReplicaCluster::LogTails(size_t bytes_each) const {
  std::string out;
  for (int i = 0; i < size_; ++i) {
    const std::string log = ReadText(data_dir(i) + ".log");
    absl::StrAppend(&out, "---- ", Name(i), " log (tail):\n",
                    log.substr(log.size() > bytes_each ? log.size() - bytes_each : 0), "\n");
  }
  return out;
}

}  // namespace hart::testing
