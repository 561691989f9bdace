// Which role may call which RPC, and on which objects: the one table the
// gRPC edge consults (README "Security" reproduces it). Keys are
// "Service.Method" of package hart.referral.v1.
#pragma once

#include <string>
#include <vector>

#include "broker/api/identity.h"

namespace hart {

struct RpcPermission {
  const char* rpc;            // e.g. "IntakeService.SubmitIntake"
  std::vector<Role> roles;    // who may call it
  const char* objects;        // which objects, in words
  bool streaming = false;     // a stream: no deadline required
};

// Every RPC of every hart.referral.v1 service; a test checks none is missing.
const std::vector<RpcPermission>& AuthorizationTable();

// The permission of `rpc`, or nullptr if the table has none (then nobody may
// call it).
const RpcPermission* FindPermission(const std::string& rpc);

}  // namespace hart
