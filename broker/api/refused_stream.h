// A server-streaming reactor that only finishes with an error: what a
// streaming RPC returns when the call is refused before it starts.
#pragma once

#include "grpcpp/support/server_callback.h"

namespace hart {

template <typename Event>
class RefusedStream final : public grpc::ServerWriteReactor<Event> {
 public:
  explicit RefusedStream(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace hart
