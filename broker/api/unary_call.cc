#include "broker/api/unary_call.h"

#include "broker/api/status_mapping.h"

namespace hart {

grpc::ServerUnaryReactor* AnswerLater(Authorizer& authorizer,
                                      grpc::CallbackServerContext* context,
                                      const std::string& rpc, UnaryStart start) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  authorizer.Authorize(*context, rpc,
                       [reactor, start = std::move(start)](absl::StatusOr<Identity> identity) {
                         if (!identity.ok()) {
                           reactor->Finish(ToGrpcStatus(identity.status()));
                           return;
                         }
                         start(*identity, reactor);
                       });
  return reactor;
}

grpc::ServerUnaryReactor* AnswerInline(Authorizer& authorizer,
                                       grpc::CallbackServerContext* context,
                                       const std::string& rpc, UnaryWork work) {
  return AnswerLater(authorizer, context, rpc,
                     [work = std::move(work)](const Identity& identity,
                                              grpc::ServerUnaryReactor* reactor) {
                       reactor->Finish(work(identity));
                     });
}

grpc::ServerUnaryReactor* AnswerFromStore(Authorizer& authorizer, StoreExecutor& executor,
                                          grpc::CallbackServerContext* context,
                                          const std::string& rpc, UnaryWork work) {
  return AnswerLater(
      authorizer, context, rpc,
      [&executor, context, work = std::move(work)](const Identity& identity,
                                                   grpc::ServerUnaryReactor* reactor) {
        absl::Status queued = executor.Submit([context, reactor, work, identity] {
          // Its deadline passed while it waited: the client has its answer.
          if (context->IsCancelled()) {
            reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                         "the call ended before the store was free"));
            return;
          }
          reactor->Finish(work(identity));
        });
        if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
      });
}

}  // namespace hart
