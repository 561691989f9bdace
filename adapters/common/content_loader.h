// How a push adapter gets a delivery's message without blocking: the broker
// reads the store elsewhere (DeliveryContent::LoadAsync, on its store
// executor) and the adapter continues on its event loop with the message.
// A message that could not be loaded never reaches the adapter: the loader
// answers it (MessageLoads: deferred when the cause is the broker's and
// passing, so the partner's circuit and attempts are not charged with it).
//
// Once the loader is destroyed no continuation starts, and a delivery whose
// continuation never ran (the adapter or the loop went away first) is
// answered Deferred ("the adapter shut down"): `done` still runs exactly
// once and the attempt is not counted.
//
// Thread safety: Load may be called from any thread. Destroy the loader
// first among what its continuations use (declare it last); the destructor
// waits for a continuation that is running, so it must not run on one.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "adapters/common/message_loads.h"
#include "boost/asio/io_context.hpp"
#include "broker/adapter.h"
#include "broker/delivery_content.h"

namespace hart::adapters {

class ContentLoader {
 public:
  // Gets the delivery (the loader's copy), its message and its `done` (to
  // call exactly once).
  using Continue = std::function<void(const DeliveryRecord&,
                                      const ::hart::referral::v1::ReferralDelivery&,
                                      Adapter::DoneCallback)>;

  // Continuations run on `loop`. `content` and `loop` must outlive the
  // loader. `adapter_type` names the adapter in the answers it gives.
  ContentLoader(const DeliveryContent& content, boost::asio::io_context& loop,
                std::string adapter_type);
  ~ContentLoader();
  ContentLoader(const ContentLoader&) = delete;
  ContentLoader& operator=(const ContentLoader&) = delete;

  // Loads the message of `delivery` (copied) and runs `then` with it on the
  // loop; answers `done` itself when the message could not be loaded.
  void Load(const DeliveryRecord& delivery, bool notification_only, Adapter::DoneCallback done,
            Continue then);

 private:
  struct Lifeline;
  class PendingDone;

  const DeliveryContent& content_;
  boost::asio::io_context& loop_;
  const std::string adapter_type_;
  MessageLoads loads_;
  const std::shared_ptr<Lifeline> lifeline_;
};

}  // namespace hart::adapters
