// How a unary RPC is answered without blocking its gRPC thread. Each form
// authorises the caller first (a denial is audited on the store executor
// before the call finishes) and returns the call's reactor:
//  - AnswerInline: `work` has no I/O and runs on the gRPC thread;
//  - AnswerFromStore: `work` reads or writes the store and runs on the
//    store executor; a full executor answers UNAVAILABLE ("the store is
//    busy; retry") and runs nothing; a call its client has already given up
//    on by the time a worker is free is not worked on;
//  - AnswerLater: `start` finishes the reactor itself, exactly once (now or
//    from a callback), e.g. after a group commit.
// `work` returns the status to finish with, having filled the response.
//
// Lifetimes: the service that owns `work`'s captures must outlive the
// gRPC server (it does: services go after the server is shut down, and a
// call is not done before `work` has finished it).
#pragma once

#include <functional>
#include <string>

#include "broker/api/authorizer.h"
#include "broker/api/identity.h"
#include "broker/store/store_executor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace hart {

using UnaryWork = std::function<grpc::Status(const Identity&)>;
using UnaryStart = std::function<void(const Identity&, grpc::ServerUnaryReactor*)>;

grpc::ServerUnaryReactor* AnswerInline(Authorizer& authorizer,
                                       grpc::CallbackServerContext* context,
                                       const std::string& rpc, UnaryWork work);

grpc::ServerUnaryReactor* AnswerFromStore(Authorizer& authorizer, StoreExecutor& executor,
                                          grpc::CallbackServerContext* context,
                                          const std::string& rpc, UnaryWork work);

grpc::ServerUnaryReactor* AnswerLater(Authorizer& authorizer,
                                      grpc::CallbackServerContext* context,
                                      const std::string& rpc, UnaryStart start);

}  // namespace hart
