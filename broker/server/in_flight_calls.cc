#include "broker/server/in_flight_calls.h"

#include <cstring>

namespace hart {
namespace {

constexpr char kHealthService[] = "/grpc.health.v1.Health/";

// Lives exactly as long as its call: counts it in, then out.
class CallCounter final : public grpc::experimental::Interceptor {
 public:
  explicit CallCounter(InFlightCalls& calls) : calls_(calls) { calls_.Begin(); }
  ~CallCounter() override { calls_.End(); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  InFlightCalls& calls_;
};

class CallCounterFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallCounterFactory(InFlightCalls& calls) : calls_(calls) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method != nullptr && std::strncmp(method, kHealthService, sizeof(kHealthService) - 1) == 0) {
      return nullptr;
    }
    return new CallCounter(calls_);
  }

 private:
  InFlightCalls& calls_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
InFlightCalls::InterceptorFactory() {
  return std::make_unique<CallCounterFactory>(*this);
}

size_t InFlightCalls::count() const {
  absl::MutexLock lock(&mu_);
  return count_;
}

bool InFlightCalls::WaitUntilNone(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(
      absl::Condition(+[](size_t* count) { return *count == 0; }, &count_), deadline);
}

void InFlightCalls::Begin() {
  absl::MutexLock lock(&mu_);
  ++count_;
}

void InFlightCalls::End() {
  absl::MutexLock lock(&mu_);
  --count_;
}

}  // namespace hart
