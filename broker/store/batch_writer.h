// Group commit: concurrent requests queue here and one writer thread hands
// them to `write` in batches, one transaction (and one fsync) per batch.
// Each submitter is answered only after its batch committed; if the batch
// fails, every member gets the error (and the store, by its contract,
// stored nothing of it). The batch is whatever queued while the previous
// one was committing, so batches grow with load and add no delay when idle.
// Background requests (work nobody waits on at a screen or a socket: an
// escalation storm's ladder steps and notices, fired timers) queue behind
// every interactive one. A batch takes at most `max_background` of them, and
// only one beside interactive requests (so that background work still moves
// under a steady interactive load): the batch being written when an intake,
// an ack or an audited read arrives is a short one, and so is its own
// (measured on a million referrals during an escalation storm: batches of
// 16 to 64 background items held a GetReferral 7-12 ms at the median).
//
// The members of a written batch are answered on a thread of their own
// ("hart-answer"), which also frees the batch, while the writer goes on to
// the next one (answering a gRPC call sends its response on the calling
// thread).
//
// Thread safety: Submit may be called from any thread. Callbacks run on the
// answering thread, in submission order within a lane, and must not block
// for long.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <span>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace hart {

template <typename Request, typename Result>
class BatchWriter {
 public:
  using Done = std::function<void(absl::StatusOr<Result>)>;
  using WriteFn =
      std::function<absl::StatusOr<std::vector<Result>>(std::span<Request>)>;
  using AfterCommitFn = std::function<void(std::span<const Request>, std::span<const Result>)>;

  enum class Lane { kInteractive, kBackground };

  // `write` returns one result per request, in order. `after_commit` (may
  // be empty) runs after each successful batch, before its callbacks, on
  // the answering thread, with the batch's requests (as `write` left them)
  // and results.
  BatchWriter(WriteFn write, size_t max_batch, AfterCommitFn after_commit = {},
              size_t max_background = std::numeric_limits<size_t>::max())
      : write_(std::move(write)),
        after_commit_(std::move(after_commit)),
        max_batch_(max_batch == 0 ? 1 : max_batch),
        max_background_(max_background == 0 ? 1 : max_background),
        answerer_([this] { Answer(); }),
        thread_([this] { Run(); }) {}

  // Answers everything queued, then stops the writer thread (and the
  // answering one after it).
  ~BatchWriter() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
    {
      absl::MutexLock lock(&answers_mu_);
      writer_done_ = true;
    }
    answerer_.join();
  }

  void Submit(Request request, Done done, Lane lane = Lane::kInteractive) {
    absl::MutexLock lock(&mu_);
    (lane == Lane::kInteractive ? queue_ : background_)
        .push_back({std::move(request), std::move(done)});
  }

 private:
  struct Pending {
    Request request;
    Done done;
  };

  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty() || !background_.empty();
  }

  void TakeLocked(std::deque<Pending>& from, size_t up_to, std::vector<Request>& requests,
                  std::vector<Done>& callbacks) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!from.empty() && requests.size() < up_to) {
      requests.push_back(std::move(from.front().request));
      callbacks.push_back(std::move(from.front().done));
      from.pop_front();
    }
  }

  // A committed (or failed) batch waiting for its callbacks.
  struct Answered {
    std::vector<Request> requests;  // freed after the callbacks
    std::vector<Done> callbacks;
    absl::StatusOr<std::vector<Result>> results;
  };

  void Run() {
    // Named for `top -H` and stack dumps: the thread that limits throughput.
    pthread_setname_np(pthread_self(), "hart-writer");
    for (;;) {
      Answered batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &BatchWriter::Ready));
        if (queue_.empty() && background_.empty()) return;  // stopping and drained
        TakeLocked(queue_, max_batch_, batch.requests, batch.callbacks);
        const size_t background = batch.requests.empty() ? max_background_ : 1;
        TakeLocked(background_, std::min(max_batch_, batch.requests.size() + background),
                   batch.requests, batch.callbacks);
      }
      batch.results = write_(batch.requests);
      if (batch.results.ok() && batch.results->size() != batch.requests.size()) {
        batch.results = absl::InternalError("batch write returned the wrong number of results");
      }
      absl::MutexLock lock(&answers_mu_);
      answers_.push_back(std::move(batch));
    }
  }

  bool AnswersReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(answers_mu_) {
    return writer_done_ || !answers_.empty();
  }

  void Answer() {
    pthread_setname_np(pthread_self(), "hart-answer");
    std::deque<Answered> taken;
    for (;;) {
      {
        absl::MutexLock lock(&answers_mu_);
        answers_mu_.Await(absl::Condition(this, &BatchWriter::AnswersReady));
        if (answers_.empty()) return;  // the writer stopped and everything is answered
        taken.swap(answers_);
      }
      for (Answered& batch : taken) {
        if (batch.results.ok() && after_commit_) after_commit_(batch.requests, *batch.results);
        for (size_t i = 0; i < batch.callbacks.size(); ++i) {
          if (batch.results.ok()) {
            batch.callbacks[i](std::move((*batch.results)[i]));
          } else {
            batch.callbacks[i](batch.results.status());
          }
        }
      }
      taken.clear();  // the requests are freed here, not on the writer
    }
  }

  const WriteFn write_;
  const AfterCommitFn after_commit_;
  const size_t max_batch_;
  const size_t max_background_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);  // interactive
  std::deque<Pending> background_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex answers_mu_;
  std::deque<Answered> answers_ ABSL_GUARDED_BY(answers_mu_);
  bool writer_done_ ABSL_GUARDED_BY(answers_mu_) = false;
  // Last: they start after everything above is initialised.
  std::thread answerer_;
  std::thread thread_;
};

}  // namespace hart
