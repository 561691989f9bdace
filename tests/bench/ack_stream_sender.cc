#include "tests/bench/ack_stream_sender.h"

#include <algorithm>
#include <utility>

#include "tests/bench/latency_recorder.h"

namespace hart::bench {

namespace v1 = hart::referral::v1;

namespace {

// Adds no entry for 0, so the report's per-code counts hold only real errors.
void AddFailed(AckStreamProgress& progress, const std::string& code, uint64_t count) {
  if (count > 0) progress.acks_failed[code] += count;
}

std::string CodeName(int code) { return StatusCodeName(static_cast<grpc::StatusCode>(code)); }

bool IsEmpty(const AckStreamProgress& progress) {
  return progress.batches_sent == 0 && progress.batches_finished == 0 &&
         progress.acks_ok == 0 && progress.acks_failed.empty();
}

}  // namespace

AckStreamSender::AckStreamSender(v1::FeedService::Stub* stub, size_t max_batch,
                                 Callbacks callbacks)
    : stub_(stub), max_batch_(max_batch), callbacks_(std::move(callbacks)) {}

void AckStreamSender::Begin() {
  stub_->async()->AcknowledgeStream(&context_, this);
  // Writes are started from outside the reactions (the subscriber's reads,
  // FinishWrites): the hold keeps the stream from finishing under them. It
  // is removed after StartWritesDone, or once the stream has ended.
  AddHold();
  StartRead(&response_);
  StartCall();
}

void AckStreamSender::Add(const std::string& delivery_id, v1::Acknowledgement::Kind kind) {
  AckStreamProgress progress;
  Step step;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) {
      AddFailed(progress, end_code_, 1);
    } else {
      v1::AcknowledgeRequest& ack = pending_.emplace_back();
      ack.set_delivery_id(delivery_id);
      ack.set_kind(kind);
      step = NextStepLocked();
    }
  }
  Continue(step, progress);
}

void AckStreamSender::FinishWrites() {
  AckStreamProgress progress;
  Step step;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    step = NextStepLocked();
  }
  Continue(step, progress);
}

AckStreamSender::Step AckStreamSender::NextStepLocked() {
  if (!held_ || writing_ != nullptr) return {};
  if (ended_) {
    held_ = false;
    return {Step::kRelease};
  }
  if (!pending_.empty() && unanswered_.size() < kMaxBatchesInFlight) {
    auto request = std::make_shared<Request>();
    request->set_batch_id(next_batch_id_++);
    const size_t count = std::min(pending_.size(), max_batch_);
    for (size_t i = 0; i < count; ++i) {
      *request->add_acks() = std::move(pending_.front());
      pending_.pop_front();
    }
    unanswered_.push_back(request);
    writing_ = request;
    return {Step::kWrite, request.get()};
  }
  // Only with nothing unanswered: an answered RECEIVED still adds its ACCEPTED.
  if (closing_ && pending_.empty() && unanswered_.empty()) {
    held_ = false;
    return {Step::kWritesDoneAndRelease};
  }
  return {};
}

void AckStreamSender::Continue(const Step& step, AckStreamProgress& progress) {
  if (step.kind == Step::kWrite) ++progress.batches_sent;
  // Counted before the write starts, so its answer cannot be counted first.
  if (!IsEmpty(progress)) callbacks_.on_progress(progress);
  switch (step.kind) {
    case Step::kNone:
      break;
    case Step::kWrite:
      StartWrite(step.request);
      break;
    case Step::kWritesDoneAndRelease:
      StartWritesDone();
      RemoveHold();
      break;
    case Step::kRelease:
      RemoveHold();
      break;
  }
}

void AckStreamSender::OnWriteDone(bool ok) {
  AckStreamProgress progress;
  Step step;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_.reset();
    if (!ok) ended_ = true;  // OnDone fails what is unanswered
    step = NextStepLocked();
  }
  Continue(step, progress);
}

void AckStreamSender::OnReadDone(bool ok) {
  AckStreamProgress progress;
  Step step;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) {
      AnswerLocked(progress);
    } else {
      ended_ = true;  // the broker ended the stream; OnDone follows with why
    }
    step = NextStepLocked();
  }
  Continue(step, progress);
  if (ok) StartRead(&response_);
}

void AckStreamSender::AnswerLocked(AckStreamProgress& progress) {
  if (unanswered_.empty()) {
    AddFailed(progress, "UNEXPECTED_RESPONSE", 1);
    return;
  }
  const std::shared_ptr<const Request> batch = std::move(unanswered_.front());
  unanswered_.pop_front();
  ++progress.batches_finished;
  const uint64_t size = static_cast<uint64_t>(batch->acks_size());
  // Responses come in request order: one naming another batch is wrong.
  if (response_.batch_id() != batch->batch_id()) {
    AddFailed(progress, "BATCH_ID_MISMATCH", size);
    return;
  }
  if (response_.status().code() != 0) {
    AddFailed(progress, CodeName(response_.status().code()), size);
    return;
  }
  if (response_.results_size() != batch->acks_size()) {
    AddFailed(progress, "RESULT_COUNT_MISMATCH", size);
    return;
  }
  for (int i = 0; i < batch->acks_size(); ++i) {
    const int code = response_.results(i).status().code();
    if (code != 0) {
      AddFailed(progress, CodeName(code), 1);
      continue;
    }
    ++progress.acks_ok;
    // ACCEPTED follows even while closing: FinishWrites waits for it.
    const v1::AcknowledgeRequest& ack = batch->acks(i);
    if (ack.kind() == v1::Acknowledgement::RECEIVED) {
      v1::AcknowledgeRequest& accepted = pending_.emplace_back();
      accepted.set_delivery_id(ack.delivery_id());
      accepted.set_kind(v1::Acknowledgement::ACCEPTED);
    }
  }
}

void AckStreamSender::OnDone(const grpc::Status& status) {
  AckStreamProgress progress;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    // Ending OK with batches unanswered is the broker's error, not ours.
    end_code_ = status.ok() ? "UNANSWERED" : StatusCodeName(status.error_code());
    for (const auto& batch : unanswered_) {
      AddFailed(progress, end_code_, static_cast<uint64_t>(batch->acks_size()));
    }
    progress.batches_finished = unanswered_.size();
    AddFailed(progress, end_code_, pending_.size());
    unanswered_.clear();
    pending_.clear();
  }
  if (!IsEmpty(progress)) callbacks_.on_progress(progress);
  // Moved out first: the owner may destroy this sender once told.
  auto on_done = std::move(callbacks_.on_done);
  on_done(status);
}

}  // namespace hart::bench
