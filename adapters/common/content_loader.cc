#include "adapters/common/content_loader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/post.hpp"

namespace hart::adapters {

// Whether the loader (and so its adapter) still exists, and how many
// continuations are running. Held by every load in flight. No lock is held
// while a continuation runs: it may start another load.
struct ContentLoader::Lifeline {
  absl::Mutex mu;
  bool alive ABSL_GUARDED_BY(mu) = true;
  int running ABSL_GUARDED_BY(mu) = 0;

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return running == 0; }
};

// A delivery's `done`, answered Deferred if it is dropped unanswered.
class ContentLoader::PendingDone {
 public:
  PendingDone(Adapter::DoneCallback done, std::string adapter_type)
      : done_(std::move(done)), adapter_type_(std::move(adapter_type)) {}
  ~PendingDone() {
    if (!done_) return;
    done_(DeliveryResult::Deferred(
        absl::UnavailableError(absl::StrCat("the ", adapter_type_,
                                            " adapter shut down before sending")),
        absl::Seconds(1)));
  }
  PendingDone(const PendingDone&) = delete;
  PendingDone& operator=(const PendingDone&) = delete;

  Adapter::DoneCallback Take() { return std::exchange(done_, nullptr); }

 private:
  Adapter::DoneCallback done_;
  const std::string adapter_type_;
};

ContentLoader::ContentLoader(const DeliveryContent& content, boost::asio::io_context& loop,
                             std::string adapter_type)
    : content_(content),
      loop_(loop),
      adapter_type_(std::move(adapter_type)),
      loads_(adapter_type_),
      lifeline_(std::make_shared<Lifeline>()) {}

ContentLoader::~ContentLoader() {
  absl::MutexLock lock(&lifeline_->mu);
  lifeline_->alive = false;
  lifeline_->mu.Await(absl::Condition(lifeline_.get(), &Lifeline::Idle));
}

void ContentLoader::Load(const DeliveryRecord& delivery, bool notification_only,
                         Adapter::DoneCallback done, Continue then) {
  auto pending = std::make_shared<PendingDone>(std::move(done), adapter_type_);
  content_.LoadAsync(
      delivery, notification_only,
      [this, lifeline = lifeline_, &loop = loop_, pending, delivery,
       then = std::move(then)](absl::StatusOr<::hart::referral::v1::ReferralDelivery> message) {
        // The loop outlives the loader: post only while the loader lives.
        absl::MutexLock lock(&lifeline->mu);
        if (!lifeline->alive) return;  // `pending` answers when dropped
        boost::asio::post(loop, [this, lifeline, pending, delivery, then,
                                 message = std::move(message)]() mutable {
          {
            absl::MutexLock lock(&lifeline->mu);
            if (!lifeline->alive) return;
            ++lifeline->running;  // the destructor waits: `this` stays valid
          }
          if (message.ok()) {
            loads_.Loaded(delivery);
            then(delivery, *message, pending->Take());
          } else {
            pending->Take()(loads_.NotLoaded(delivery, message.status()));
          }
          absl::MutexLock lock(&lifeline->mu);
          --lifeline->running;
        });
      });
}

}  // namespace hart::adapters
