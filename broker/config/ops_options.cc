#include "broker/config/ops_options.h"

#include "absl/strings/str_cat.h"
#include "broker/common/listen_address.h"

namespace hart {
namespace {

namespace cfg = ::hart::config::v1;

// Bounds that catch a typo (an extra zero) before it costs memory.
constexpr uint32_t kMaxConnections = 4096;
constexpr uint32_t kMaxHeaderBytes = 1 << 20;
constexpr uint32_t kMaxBodyBytes = 16 << 20;

bool Positive(const google::protobuf::Duration& d) {
  return d.seconds() > 0 || (d.seconds() == 0 && d.nanos() > 0);
}

}  // namespace

void ApplyOpsDefaults(cfg::OpsOptions* ops) {
  if (ops->listen_address().empty()) ops->set_listen_address("127.0.0.1:9443");
  if (ops->max_connections() == 0) ops->set_max_connections(64);
  if (ops->max_header_bytes() == 0) ops->set_max_header_bytes(16 << 10);
  if (ops->max_body_bytes() == 0) ops->set_max_body_bytes(64 << 10);
  // has_ before mutable_ (which makes the field present), in separate
  // expressions: a call's arguments are evaluated in no set order.
  if (!ops->has_request_timeout()) ops->mutable_request_timeout()->set_seconds(10);
  if (!ops->has_readiness_interval()) ops->mutable_readiness_interval()->set_seconds(2);
  if (!ops->has_store_write_timeout()) ops->mutable_store_write_timeout()->set_seconds(10);
  if (!ops->has_drain_timeout()) ops->mutable_drain_timeout()->set_seconds(10);
}

void ValidateOpsOptions(const cfg::OpsOptions& ops, std::vector<std::string>* problems) {
  if (ops.listen_address() != kOpsListenOff) {
    if (auto address = ParseListenAddress(ops.listen_address()); !address.ok()) {
      problems->push_back(absl::StrCat("server.ops.listen_address: ", address.status().message(),
                                       "; or \"", kOpsListenOff, "\" for no operations port"));
    }
  }
  const struct {
    const char* key;
    uint32_t value;
    uint32_t most;
    const char* fallback;
  } sizes[] = {
      {"max_connections", ops.max_connections(), kMaxConnections, "64"},
      {"max_header_bytes", ops.max_header_bytes(), kMaxHeaderBytes, "16384"},
      {"max_body_bytes", ops.max_body_bytes(), kMaxBodyBytes, "65536"},
  };
  for (const auto& size : sizes) {
    if (size.value > size.most) {
      problems->push_back(absl::StrCat("server.ops.", size.key, ": ", size.value,
                                       " is too large; use 1 to ", size.most, " (default ",
                                       size.fallback, ")"));
    }
  }
  const struct {
    const char* key;
    const google::protobuf::Duration& value;
    const char* fallback;
  } durations[] = {
      {"request_timeout", ops.request_timeout(), "10s"},
      {"readiness_interval", ops.readiness_interval(), "2s"},
      {"store_write_timeout", ops.store_write_timeout(), "10s"},
      {"drain_timeout", ops.drain_timeout(), "10s"},
  };
  for (const auto& duration : durations) {
    if (!Positive(duration.value)) {
      problems->push_back(absl::StrCat("server.ops.", duration.key, ": must be positive (default \"",
                                       duration.fallback, "\")"));
    }
  }
}

}  // namespace hart
