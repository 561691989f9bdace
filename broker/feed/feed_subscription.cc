#include "broker/feed/feed_subscription.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/api/authorizer.h"
#include "broker/api/status_mapping.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"
#include "broker/feed/feed_service.h"
#include "broker/views/delivery_message.h"

namespace hart::feed {

FeedSubscription::FeedSubscription(FeedServiceImpl& service,
                                   grpc::CallbackServerContext* context, Identity identity,
                                   uint64_t resume_after)
    : service_(service),
      context_(context),
      identity_(std::move(identity)),
      agency_id_(identity_.id),
      cursor_(service.store_, agency_id_, resume_after, service.options_.page_size,
              service.options_.tail),
      position_(cursor_.position()) {}

void FeedSubscription::Start() {
  // The partner learns at once that the broker holds its stream, not with
  // the first event or heartbeat (sent before anything can start a write).
  StartSendInitialMetadata();
  token_ = service_.hub_.Listen(agency_id_, [this](uint64_t head) { OnFeedGrew(head); });
  service_.AddSubscription(this);
  drain_token_ = service_.authorizer_.drain_signal().Listen([this] { OnDrain(); });
  absl::MutexLock lock(&mu_);
  WriteNextLocked();
}

void FeedSubscription::OnDrain() {
  absl::MutexLock lock(&mu_);
  FinishLocked(ToGrpcStatus(ShuttingDown()));
}

bool FeedSubscription::CancelIfSendingSealedFacts() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || !writing_ || service_.options_.seals == nullptr ||
        !CarriesFactsSealedSince(*service_.options_.seals, current_generation_, current_)) {
      return false;
    }
  }
  // Outside mu_: gRPC runs OnCancel and OnWriteDone(false) on its own
  // threads, which then finish the stream.
  context_->TryCancel();
  return true;
}

void FeedSubscription::OnFeedGrew(uint64_t head) {
  absl::MutexLock lock(&mu_);
  ++wakes_;
  announced_head_ = std::max(announced_head_, head);
  caught_up_ = false;
  WriteNextLocked(/*from_hub=*/true);
}

void FeedSubscription::OnHeartbeatTick() {
  absl::MutexLock lock(&mu_);
  if (finished_ || writing_ || wrote_since_tick_) {
    wrote_since_tick_ = false;
    return;
  }
  current_.Clear();
  current_.set_sequence(position_);
  *current_.mutable_sent_at() = ToProtoTime(service_.clock_.Now());
  current_.mutable_heartbeat();
  writing_ = true;
  StartWrite(&current_);
}

void FeedSubscription::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  wrote_since_tick_ = true;
  if (!ok) {
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
    return;
  }
  if (finish_pending_) {
    FinishLocked(pending_status_);
    return;
  }
  WriteNextLocked();
}

void FeedSubscription::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the subscriber"));
}

void FeedSubscription::OnDone() {
  // After these three calls no hub, drain or ticker callback reaches this object.
  service_.hub_.Unlisten(token_);
  service_.authorizer_.drain_signal().Forget(drain_token_);
  service_.RemoveSubscription(this);
  service_.authorizer_.CloseStream(identity_);
  Unref();  // a page read still in flight deletes it when it returns
}

void FeedSubscription::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void FeedSubscription::FinishLocked(grpc::Status status) {
  if (finished_) return;
  if (writing_) {
    finish_pending_ = true;
    pending_status_ = std::move(status);
    return;
  }
  finished_ = true;
  Finish(std::move(status));
}

void FeedSubscription::WriteNextLocked(bool from_hub) {
  if (finished_ || finish_pending_ || writing_) return;
  if (buffer_.empty()) {
    if (!caught_up_) ReadPageLocked(from_hub);  // caught up: wait for the hub or a heartbeat
    return;
  }
  // Built before a seal: its facts must not go out after it. Rare (a court
  // order), so the partner subscribes again and reads the sealed referral
  // from the store.
  if (service_.options_.seals != nullptr &&
      CarriesFactsSealedSince(*service_.options_.seals, buffer_generation_, buffer_)) {
    buffer_.clear();
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "a referral on this feed was sealed by court order while its event "
                              "waited to be sent; subscribe again from the last sequence you "
                              "processed"));
    return;
  }
  current_ = std::move(buffer_.front());
  current_generation_ = buffer_generation_;
  buffer_.pop_front();
  writing_ = true;
  StartWrite(&current_);
}

void FeedSubscription::ReadPageLocked(bool from_hub) {
  if (reading_) return;
  // Before the read: a seal noted after this, or under way now, may not
  // show in what it reads.
  read_generation_ = service_.options_.seals ? service_.options_.seals->ReadFloor() : 0;
  // The events this broker just committed are in memory: taken on this
  // thread, without a hop to the store executor. Not on the hub's: it
  // wakes every subscriber of a grown feed, one after the other, on the
  // writer queue's answering thread under the hub's lock, and building
  // each one's message there would hold up every answer behind them.
  if (!from_hub) {
    if (auto kept = cursor_.NextPageFromTail()) return TakePageLocked(std::move(*kept), wakes_);
  }
  reading_ = true;
  refs_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t wakes = wakes_;
  absl::Status queued = service_.executor_.Submit([this, wakes] {
    auto page = cursor_.NextPage();
    OnPage(std::move(page), wakes);
  });
  if (!queued.ok()) {
    reading_ = false;
    refs_.fetch_sub(1, std::memory_order_relaxed);  // OnDone's reference remains
    FinishLocked(CannotRead(queued));
  }
}

void FeedSubscription::OnPage(absl::StatusOr<std::vector<CursorEvent>> page,
                              uint64_t wakes_before) {
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    // Finished: the service may be gone; touch nothing but this object.
    if (!finished_ && !finish_pending_) {
      if (absl::IsOutOfRange(page.status())) {
        // The cursor's own answer: past the head. Numbers only in the log.
        Logger("feed")->warn("event=cursor_past_head agency={} resume_after={}", agency_id_,
                             cursor_.resume_after());
        FinishLocked(ToGrpcStatus(page.status()));
      } else if (!page.ok()) {
        FinishLocked(CannotRead(page.status()));
      } else {
        TakePageLocked(*std::move(page), wakes_before);
      }
    }
  }
  Unref();
}

void FeedSubscription::TakePageLocked(std::vector<CursorEvent> page, uint64_t wakes_before) {
  position_ = cursor_.position();
  buffer_generation_ = read_generation_;
  for (const CursorEvent& event : page) buffer_.push_back(ToEvent(event));
  // Every event up to an announced head is committed, and a later one is
  // announced after it commits: a page that reaches the highest head
  // announced needs no empty read after it. Not caught up if the hub
  // announced more while this page was read.
  const bool at_announced_head =
      !cursor_.redelivering() && announced_head_ != 0 && position_ >= announced_head_;
  caught_up_ = (page.empty() || at_announced_head) && wakes_ == wakes_before;
  WriteNextLocked();
}

grpc::Status FeedSubscription::CannotRead(const absl::Status& why) {
  return ToGrpcStatus(
      absl::UnavailableError(absl::StrCat("cannot read the feed: ", why.message())));
}

v1::FeedEvent FeedSubscription::ToEvent(const CursorEvent& cursor_event) const {
  const FeedEntry& entry = cursor_event.entry;
  v1::FeedEvent event;
  event.set_sequence(entry.sequence);
  *event.mutable_sent_at() = ToProtoTime(service_.clock_.Now());
  auto* delivery = event.mutable_delivery();
  const bool without_facts = entry.sealed || entry.unreadable;
  *delivery = BuildDeliveryMessage(service_.views_, entry.delivery,
                                   without_facts ? nullptr : &cursor_event.intake(), entry.priority,
                                   entry.sealed);
  delivery->mutable_referral()->set_unreadable(entry.unreadable);
  delivery->set_redelivery(cursor_event.redelivery);
  delivery->set_audit_index(entry.audit_index);
  return event;
}

}  // namespace hart::feed
