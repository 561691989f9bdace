#include "broker/api/escalation_watch.h"

#include <deque>

#include "absl/synchronization/mutex.h"
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
  EscalationWatch(Store& store, TopicHub& hub, uint64_t resume_after,
                  std::function<void()> on_done)
      : store_(store), hub_(hub), on_done_(std::move(on_done)), cursor_(resume_after) {
    token_ = hub_.Listen(kEscalationTopic, [this](uint64_t) {
      absl::MutexLock lock(&mu_);
      WriteNextLocked();
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
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    hub_.Unlisten(token_);
    if (on_done_) on_done_();
    delete this;
  }

 private:
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || cancelled_) return;
    if (buffer_.empty()) {
      auto page = store_.ReadEscalations(cursor_, kPage);
      if (!page.ok()) {
        FinishLocked(ToGrpcStatus(absl::UnavailableError("cannot read escalations")));
        return;
      }
      for (const auto& r : *page) {
        cursor_ = r.sequence;
        buffer_.push_back(ToApiEscalation(r));
      }
    }
    if (buffer_.empty()) return;  // caught up: the hub wakes us
    current_ = std::move(buffer_.front());
    buffer_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  Store& store_;
  TopicHub& hub_;
  const std::function<void()> on_done_;
  TopicHub::Token token_ = 0;
  absl::Mutex mu_;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::EscalationEvent> buffer_ ABSL_GUARDED_BY(mu_);
  v1::EscalationEvent current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::EscalationEvent>* StartEscalationWatch(
    Store& store, TopicHub& hub, uint64_t resume_after, std::function<void()> on_done) {
  return new EscalationWatch(store, hub, resume_after, std::move(on_done));
}

}  // namespace hart
