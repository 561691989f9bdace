// server.ops: the operations port's settings, defaulted and checked when the
// config loads (so `hart-broker --check-config` reports them by key path).
#pragma once

#include <string>
#include <vector>

#include "hart/config/v1/broker_config.pb.h"

namespace hart {

// server.ops.listen_address that serves no operations port.
inline constexpr char kOpsListenOff[] = "off";

void ApplyOpsDefaults(config::v1::OpsOptions* ops);

// Appends every problem of server.ops, each naming its key.
void ValidateOpsOptions(const config::v1::OpsOptions& ops, std::vector<std::string>* problems);

}  // namespace hart
