// The composition root: builds every component from the config and wires
// them together. Only this folder sees every concrete type.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/store.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

struct BrokerServerOptions {
  hart::config::v1::BrokerConfig config;
  std::string data_dir;
  // Holds ca.crt (client trust root), broker.crt and broker.key.
  std::string tls_dir;
  // Overrides config.server.listen_address when set; "127.0.0.1:0" picks a port.
  std::string listen_address;
  // Overrides config.server.ops.listen_address when set: "127.0.0.1:0"
  // picks a port, "off" serves none.
  std::string ops_listen_address;
  // Overrides config.server.crl_directory when set.
  std::string crl_dir;
  // Key-encryption keys (*.kek and ACTIVE); keep it apart from data_dir.
  // Created with a first key if empty (development).
  std::string key_dir;
  // Tests only: wraps the opened store (e.g. a StoreWrapper that makes one
  // call hang); the wrapper is used everywhere and dies before the store.
  std::function<std::unique_ptr<Store>(Store& opened)> wrap_store;
};

class BrokerServer {
 public:
  static absl::StatusOr<std::unique_ptr<BrokerServer>> Start(BrokerServerOptions options);
  virtual ~BrokerServer() = default;
  // The port actually bound.
  virtual int port() const = 0;
  // The operations port bound (config server.ops); 0 when off.
  virtual int ops_port() const = 0;
  // Drains, then stops: readiness goes false (/readyz 503, gRPC health
  // NOT_SERVING), new calls are refused UNAVAILABLE, open streams end with
  // UNAVAILABLE, in-flight calls finish (within three quarters of
  // server.ops.drain_timeout), then every part stops in order: queued
  // store work runs, queued writes commit, threads are joined. Not bounded
  // by itself if a store call hangs: main() bounds the whole of it.
  virtual void Shutdown() = 0;
  // Re-reads the key directory (a new active key-encryption key).
  virtual absl::Status ReloadKeys() = 0;
};

}  // namespace hart
