// Reactors that only finish with an error: what a streaming RPC returns
// when the call is refused before it starts. One template for any kind of
// server stream (`Reactor` is e.g. grpc::ServerWriteReactor<Event>).
#pragma once

#include <utility>

#include "broker/api/authorizer.h"
#include "broker/api/status_mapping.h"
#include "grpcpp/support/server_callback.h"

namespace hart {

template <typename Reactor>
class Refused final : public Reactor {
 public:
  // Finishes at once with `status`.
  explicit Refused(grpc::Status status) { this->Finish(std::move(status)); }
  // Finishes when its creator calls Finish, once.
  Refused() = default;
  void OnDone() override { delete this; }
};

template <typename Event>
using RefusedStream = Refused<grpc::ServerWriteReactor<Event>>;

// A stream refused by the authorizer: finishes once the denial is audited
// (on the store executor), so the gRPC thread does not wait for the write.
template <typename Reactor>
Reactor* RefuseByAuthorizer(Authorizer& authorizer, Authorizer::Decision decision) {
  auto* stream = new Refused<Reactor>();
  authorizer.Refuse(std::move(decision), [stream](absl::Status refusal) {
    stream->Finish(ToGrpcStatus(refusal));
  });
  return stream;
}

template <typename Event>
grpc::ServerWriteReactor<Event>* RefuseStream(Authorizer& authorizer,
                                              Authorizer::Decision decision) {
  return RefuseByAuthorizer<grpc::ServerWriteReactor<Event>>(authorizer, std::move(decision));
}

}  // namespace hart
