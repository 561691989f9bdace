// Counts the gRPC calls in flight, so that a drain can wait for them: a
// server interceptor sees each call begin and, when gRPC destroys it, end.
// Health checks are not counted: a load balancer's Watch never ends.
//
// Thread safety: every method may be called from any thread. The counter
// must outlive the gRPC server its interceptors are installed in.
#pragma once

#include <cstddef>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"

namespace hart {

class InFlightCalls {
 public:
  // For ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  size_t count() const;
  // Returns once no call is in flight (true) or at `deadline` (false).
  bool WaitUntilNone(absl::Time deadline);

  void Begin();
  void End();

 private:
  mutable absl::Mutex mu_;
  size_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hart
