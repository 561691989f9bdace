#include "adapters/builtin.h"

#include "adapters/common/adapter_io.h"
#include "adapters/email/email_adapter.h"
#include "adapters/file_drop/file_drop_adapter.h"
#include "adapters/grpc_feed/grpc_feed_adapter.h"
#include "adapters/ncmec/ncmec_adapter.h"
#include "adapters/webhook/webhook_adapter.h"

namespace hart {

absl::Status RegisterBuiltinAdapters(AdapterRegistry& registry,
                                     const BuiltinAdapterDeps& deps) {
  // Validation-only registries (--check-config) get a loop that never runs:
  // they only validate settings and never Create an adapter.
  static adapters::AdapterIo* const idle_io = new adapters::AdapterIo(0);
  adapters::AdapterIo& io = deps.io != nullptr ? *deps.io : *idle_io;
  std::vector<std::unique_ptr<AdapterFactory>> factories;
  factories.push_back(std::make_unique<grpc_feed::GrpcFeedAdapterFactory>(deps.feed_appender));
  factories.push_back(std::make_unique<adapters::webhook::WebhookAdapterFactory>(io));
  factories.push_back(std::make_unique<adapters::ncmec::NcmecAdapterFactory>(io));
  factories.push_back(std::make_unique<adapters::email::EmailAdapterFactory>(io));
  factories.push_back(std::make_unique<adapters::file_drop::FileDropAdapterFactory>(io));
  for (auto& factory : factories) {
    if (auto s = registry.Register(std::move(factory)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace hart
