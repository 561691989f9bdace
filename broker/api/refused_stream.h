// Reactors that only finish with an error: what a streaming RPC returns
// when the call is refused before it starts.
#pragma once

#include <utility>

#include "broker/api/authorizer.h"
#include "broker/api/status_mapping.h"
#include "grpcpp/support/server_callback.h"

namespace hart {

template <typename Event>
class RefusedStream final : public grpc::ServerWriteReactor<Event> {
 public:
  // Finishes at once with `status`.
  explicit RefusedStream(grpc::Status status) { this->Finish(std::move(status)); }
  // Finishes when its creator calls Finish, once.
  RefusedStream() = default;
  void OnDone() override { delete this; }
};

// The same for a bidirectional stream.
template <typename Request, typename Response>
class RefusedBidiStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedBidiStream(grpc::Status status) { this->Finish(std::move(status)); }
  RefusedBidiStream() = default;
  void OnDone() override { delete this; }
};

// A stream refused by the authorizer: finishes once the denial is audited
// (on the store executor), so the gRPC thread does not wait for the write.
template <typename Event>
grpc::ServerWriteReactor<Event>* RefuseStream(Authorizer& authorizer,
                                              Authorizer::Decision decision) {
  auto* stream = new RefusedStream<Event>();
  authorizer.Refuse(std::move(decision), [stream](absl::Status refusal) {
    stream->Finish(ToGrpcStatus(refusal));
  });
  return stream;
}

template <typename Request, typename Response>
grpc::ServerBidiReactor<Request, Response>* RefuseBidiStream(Authorizer& authorizer,
                                                             Authorizer::Decision decision) {
  auto* stream = new RefusedBidiStream<Request, Response>();
  authorizer.Refuse(std::move(decision), [stream](absl::Status refusal) {
    stream->Finish(ToGrpcStatus(refusal));
  });
  return stream;
}

}  // namespace hart
