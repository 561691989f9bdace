// hart-broker replicas (A, B, C by default) on one PostgreSQL database, or a
// single broker on its SQLite data directory, through the real binary, for
// failover and fault tests; and the push partner they share, a webhook
// stand-in for stamford-pd.
//
// The generated config is the Connecticut one with what makes a failover
// test bounded: short claim leases and retry backoffs (a killed replica's
// claims are taken over within seconds, not a minute), one audit signing
// key for all replicas, a fixed ack-endpoint port per replica (a pushed
// message's ack_url then says which replica sent it), and every push
// partner but the webhook turned into a feed (NCMEC, e-mail and file-drop
// stand-ins are the push adapter tests' business, not failover's).
//
// Thread safety: Kill(), Restart(), Pause() and Resume() run on the test's
// thread while load threads call Pick(), alive() and replica(); a replica
// picked just before it was killed simply answers UNAVAILABLE.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/e2e/broker_process.h"
#include "tests/support/https_test_server.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_certificates.h"

namespace hart::testing {

// WaitFor (test_support.h) polling every `interval` instead of every 2 ms:
// for conditions that cost a call, a scan or a process each time.
bool PollFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(50));

// The one webhook agency of the Connecticut config.
inline constexpr char kWebhookAgency[] = "stamford-pd";

// One POST the webhook partner received.
struct WebhookPost {
  std::string delivery_id;  // the Idempotency-Key header
  std::string referral_id;
  v1::MessageKind kind = v1::MESSAGE_KIND_UNSPECIFIED;
  int ack_port = 0;  // from the message's ack_url: which replica sent it
};

// An HTTPS stand-in for stamford-pd's webhook: records each POST and
// answers 200 after a short delay (so pushes are in flight for a while).
class WebhookPartner {
 public:
  // `reply_delay`: how long each POST is kept in flight before its 200.
  static absl::StatusOr<std::unique_ptr<WebhookPartner>> Start(
      const std::string& dir, absl::Duration reply_delay = absl::Milliseconds(50));

  std::string url() const { return server_->Url("/hart/referrals"); }
  const std::string& ca_file() const { return certs_.ca_file; }

  // From now on, the first replica to push and every later POST of that
  // replica are answered only after a long delay: their deliveries stay
  // claimed by it (a kill then leaves them for the others to rescue).
  // Returns how many POSTs had arrived before.
  size_t HoldRepliesFromNextSender();
  // The ack port of the replica being held; 0 until one pushed.
  int held_ack_port() const { return held_ack_port_; }

  std::vector<WebhookPost> Posts() const;

 private:
  WebhookPartner() = default;
  ServerReply Answer(const ReceivedRequest& request);

  TestCertificates certs_;
  absl::Duration reply_delay_;
  std::unique_ptr<HttpsTestServer> server_;
  std::atomic<bool> holding_{false};
  std::atomic<int> held_ack_port_{0};
  mutable std::mutex mu_;
  std::vector<WebhookPost> posts_;
};

struct ClusterOptions {
  // Null: one broker on SQLite in its data directory (`replicas` ignored).
  PostgresServer* server = nullptr;
  std::string database;  // on `server`
  int replicas = 3;      // 1 to kMaxReplicas
  // Every ack deadline 10 s and ladder steps 1 s apart, so escalation steps
  // run (and can be interrupted) within a test; the webhook partner never
  // acknowledges, so its deliveries always climb their ladder. (Shorter
  // deadlines make the feed partners' own backlog miss them, and every
  // renotification adds to the backlog.)
  bool fast_ladders = false;
  // server.rate_limit_per_second (burst twice that); 0 keeps the config's.
  // Checks that read every referral of a round go past the default 200.
  int rate_limit_per_second = 0;
};

class ReplicaCluster {
 public:
  static constexpr int kMaxReplicas = 3;

  // Starts the replicas in turn (each serving before the next starts: the
  // first creates the shared audit signing key). Check ok() after
  // construction; failures are reported as test failures.
  ReplicaCluster(const std::string& dir, const ClusterOptions& options,
                 const WebhookPartner& webhook);
  // Three replicas on `database` of `server`.
  ReplicaCluster(const std::string& dir, PostgresServer& server, const std::string& database,
                 const WebhookPartner& webhook);
  ~ReplicaCluster();  // SIGCONT, then SIGTERM to the replicas still running

  bool ok() const { return ok_; }
  int size() const { return size_; }
  static std::string Name(int replica);  // "replica-a"
  BrokerProcess& replica(int i) { return *replicas_[i]; }
  bool alive(int i) const { return alive_[i]; }
  int ack_port(int i) const { return ack_ports_[i]; }
  // The data directory of replica `i` (SQLite keeps hart.db there).
  std::string data_dir(int i) const { return dir_ + "/" + Name(i); }
  // SIGKILL: no clean shutdown, claims left behind.
  void Kill(int i);
  // After Kill(): the same replica again on its data directory and port.
  bool Restart(int i);
  // SIGSTOP: the process holds its claims, leases and connections but does
  // nothing; Pick() skips it (as a load balancer's health check would)
  // until Resume() sends SIGCONT.
  void Pause(int i);
  void Resume(int i);
  // `preferred` if it is alive and not paused, else the next replica that
  // is; -1 if none.
  int Pick(size_t preferred) const;
  // Whether the generated config delivers to `agency_id` through its feed.
  static bool IsFeedAgency(const std::string& agency_id) { return agency_id != kWebhookAgency; }
  // `hartctl audit verify` against replica `i` (polled until it passes or
  // 30 s pass: right after a kill the leader lease that signs checkpoints
  // may still be the dead replica's). Returns hartctl's last output.
  CommandOutput VerifyAudit(int i) const;
  // The tail of each replica's log, for failure messages.
  std::string LogTails(size_t bytes_each = 3000) const;

 private:
  std::string WriteConfig(int replica, const ClusterOptions& options,
                          const WebhookPartner& webhook);

  std::string dir_;
  std::string key_dir_;
  std::string signing_key_;
  bool ok_ = false;
  int size_ = 0;
  std::array<int, kMaxReplicas> ack_ports_{};
  std::array<std::atomic<bool>, kMaxReplicas> alive_{};
  std::array<std::atomic<bool>, kMaxReplicas> paused_{};
  std::array<std::unique_ptr<BrokerProcess>, kMaxReplicas> replicas_;
};

}  // namespace hart::testing
