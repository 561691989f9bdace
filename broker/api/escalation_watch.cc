#include "broker/api/escalation_watch.h"

#include <atomic>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/api/authorizer.h"
#include "broker/api/status_mapping.h"
#include "broker/common/time_util.h"

namespace hart {

v1::EscalationEvent ToApiEscalation(const EscalationRecord& r) {
  v1::EscalationEvent e;
  e.set_sequence(r.sequence);
  *e.mutable_at() = ToProtoTime(r.at);
  e.set_referral_id(r.referral_id);
  e.set_delivery_id(r.delivery_id);
  e.set_agency_id(r.agency_id);
  e.set_reason(r.reason);
  e.set_step(r.step);
  for (auto t : r.targets) e.add_targets(t);
  for (const auto& id : r.notice_delivery_ids) e.add_notice_delivery_ids(id);
  for (const auto& id : r.notified_agency_ids) e.add_notified_agency_ids(id);
  return e;
}

namespace {

constexpr size_t kPage = 64;

class EscalationWatch final : public grpc::ServerWriteReactor<v1::EscalationEvent> {
 public:
  EscalationWatch(Store& store, StoreExecutor& executor, TopicHub& hub, DrainSignal& drain,
                  uint64_t resume_after, std::function<void()> on_done)
      : store_(store),
        executor_(executor),
        hub_(hub),
        drain_(drain),
        on_done_(std::move(on_done)),
        cursor_(resume_after) {
    token_ = hub_.Listen(kEscalationTopic, [this](uint64_t) {
      absl::MutexLock lock(&mu_);
      ++wakes_;
      caught_up_ = false;
      WriteNextLocked();
    });
    drain_token_ = drain_.Listen([this] {
      absl::MutexLock lock(&mu_);
      draining_ = true;
      if (!writing_) FinishLocked(ToGrpcStatus(ShuttingDown()));
    });
    absl::MutexLock lock(&mu_);
    WriteNextLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || cancelled_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    if (draining_) {
      FinishLocked(ToGrpcStatus(ShuttingDown()));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    hub_.Unlisten(token_);  // no wake-up reaches this object after it
    drain_.Forget(drain_token_);
    if (on_done_) on_done_();
    Unref();  // a page read still in flight deletes it when it returns
  }

 private:
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || cancelled_ || draining_) return;
    if (buffer_.empty()) {
      if (!caught_up_) ReadPageLocked();  // caught up: the hub wakes us
      return;
    }
    current_ = std::move(buffer_.front());
    buffer_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  // Reads the next page on the store executor, one read at a time; the
  // write starts from its completion.
  void ReadPageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_) return;
    reading_ = true;
    refs_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t after = cursor_;
    const uint64_t wakes = wakes_;
    absl::Status queued = executor_.Submit(
        [this, after, wakes] { OnPage(store_.ReadEscalations(after, kPage), wakes); });
    if (!queued.ok()) {
      reading_ = false;
      refs_.fetch_sub(1, std::memory_order_relaxed);  // OnDone's reference remains
      FinishLocked(ToGrpcStatus(
          absl::UnavailableError(absl::StrCat("cannot read escalations: ", queued.message()))));
    }
  }

  void OnPage(absl::StatusOr<std::vector<EscalationRecord>> page, uint64_t wakes_before) {
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!finished_) {
        if (!page.ok()) {
          FinishLocked(ToGrpcStatus(absl::UnavailableError("cannot read escalations")));
        } else {
          for (const auto& r : *page) {
            cursor_ = r.sequence;
            buffer_.push_back(ToApiEscalation(r));
          }
          // Caught up unless the hub announced more while this page was read.
          caught_up_ = page->empty() && wakes_ == wakes_before;
          WriteNextLocked();
        }
      }
    }
    Unref();
  }

  Store& store_;
  StoreExecutor& executor_;
  TopicHub& hub_;
  DrainSignal& drain_;
  const std::function<void()> on_done_;
  TopicHub::Token token_ = 0;
  DrainSignal::Token drain_token_ = 0;
  // OnDone's reference, plus one per page read in flight.
  std::atomic<int> refs_{1};
  absl::Mutex mu_;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_);
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;  // hub announcements so far
  std::deque<v1::EscalationEvent> buffer_ ABSL_GUARDED_BY(mu_);
  v1::EscalationEvent current_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  // The last page was empty and the hub announced nothing since.
  bool caught_up_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;  // ends after the write in progress
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::EscalationEvent>* StartEscalationWatch(
    Store& store, StoreExecutor& executor, TopicHub& hub, DrainSignal& drain,
    uint64_t resume_after, std::function<void()> on_done) {
  return new EscalationWatch(store, executor, hub, drain, resume_after, std::move(on_done));
}

}  // namespace hart
