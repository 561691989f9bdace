// Group commit: concurrent requests queue here and one writer thread hands
// them to `write` in batches, one transaction (and one fsync) per batch.
// Each submitter is answered only after its batch committed; if the batch
// fails, every member gets the error (and the store, by its contract,
// stored nothing of it). The batch is whatever queued while the previous
// one was committing, so batches grow with load and add no delay when idle.
// Background requests (work nobody waits on at a screen or a socket: an
// escalation storm's ladder steps and notices, fired timers) queue behind
// every interactive one. A batch takes at most `max_background` of them, and
// one beside interactive requests, for which it keeps a place while any
// waits: background work still moves under a steady interactive load that
// fills every batch (a writer of batches of one alternates the lanes
// then). The batch being written when an intake,
// an ack or an audited read arrives is a short one, and so is its own
// (measured on a million referrals during an escalation storm: batches of
// 16 to 64 background items held a GetReferral 7-12 ms at the median).
//
// Lingering requests are interactive ones that may wait for company, as a
// Kafka producer's records wait `linger.ms`: when nothing but lingering (and
// background) requests is queued, the writer writes them once the oldest
// has waited `linger`, and any other interactive request, `max_batch`
// lingering ones or the destructor end the wait at once (background ones
// do not: nobody waits for them). On PostgreSQL every commit
// takes the cluster's one write lock (pg_write_lock.h), so acknowledgements
// that each started a transaction of their own held it from the intakes
// (WriteQueue). The wait is on the real clock (absl::Mutex's deadline);
// nothing but the batch's size depends on it.
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
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <span>
#include <thread>
#include <vector>

#include "absl/base/internal/raw_logging.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hart {

template <typename Request, typename Result>
class BatchWriter {
 public:
  using Done = std::function<void(absl::StatusOr<Result>)>;
  using WriteFn =
      std::function<absl::StatusOr<std::vector<Result>>(std::span<Request>)>;
  using AfterCommitFn = std::function<void(std::span<const Request>, std::span<const Result>)>;

  enum class Lane { kInteractive, kBackground, kLingering };

  // `write` returns one result per request, in order. `after_commit` (may
  // be empty) runs after each successful batch, before its callbacks, on
  // the answering thread, with the batch's requests (as `write` left them)
  // and results. `linger` zero: lingering requests are interactive ones.
  BatchWriter(WriteFn write, size_t max_batch, AfterCommitFn after_commit = {},
              size_t max_background = std::numeric_limits<size_t>::max(),
              absl::Duration linger = absl::ZeroDuration())
      : write_(std::move(write)),
        after_commit_(std::move(after_commit)),
        max_batch_(max_batch == 0 ? 1 : max_batch),
        max_background_(max_background == 0 ? 1 : max_background),
        linger_(linger),
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

  // Returns once every batch the writer took before the call has been
  // through `after_commit` (or failed): for a writer outside this queue
  // that must not run before the hook has seen what was already
  // committed. Waits for at most the batch being written and the answers
  // queued before it. Never call it from `write`, a callback or
  // `after_commit` (the queue's threads would wait for themselves: checked).
  void AwaitAfterCommits() {
    ABSL_RAW_CHECK(std::this_thread::get_id() != answerer_.get_id() &&
                       std::this_thread::get_id() != thread_.get_id(),
                   "AwaitAfterCommits called on the writer queue's own thread: it would wait "
                   "for itself");
    Hooked wait{&hooked_, 0};
    {
      absl::MutexLock lock(&mu_);
      wait.target = taken_;
    }
    absl::MutexLock lock(&answers_mu_);
    answers_mu_.Await(absl::Condition(&Hooked::Reached, &wait));
  }

  void Submit(Request request, Done done, Lane lane = Lane::kInteractive) {
    absl::MutexLock lock(&mu_);
    const bool lingering = lane == Lane::kLingering;
    if (lane == Lane::kInteractive) ++eager_;
    (lane == Lane::kBackground ? background_ : queue_)
        .push_back({std::move(request), std::move(done), lingering,
                    lingering && linger_ > absl::ZeroDuration() ? absl::Now() : absl::Time()});
  }

 private:
  struct Pending {
    Request request;
    Done done;
    bool lingering = false;
    absl::Time queued_at;  // lingering ones only, when a linger is set
  };

  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty() || !background_.empty();
  }

  // Only lingering requests (and background ones) queued: wait for company.
  bool ShouldLinger() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return linger_ > absl::ZeroDuration() && !stopping_ && !queue_.empty() && eager_ == 0 &&
           queue_.size() < max_batch_;
  }
  bool LingerOver() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !ShouldLinger(); }

  // How many interactive requests the next batch may take: all it holds,
  // less the place kept for background work waiting. With batches of one
  // the lanes take turns.
  size_t InteractiveRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (background_.empty()) return max_batch_;
    if (max_batch_ > 1) return max_batch_ - 1;
    return last_took_interactive_ ? 0 : 1;
  }

  void TakeLocked(std::deque<Pending>& from, size_t up_to, std::vector<Request>& requests,
                  std::vector<Done>& callbacks) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!from.empty() && requests.size() < up_to) {
      if (&from == &queue_ && !from.front().lingering) --eager_;
      requests.push_back(std::move(from.front().request));
      callbacks.push_back(std::move(from.front().done));
      from.pop_front();
    }
  }

  // AwaitAfterCommits' condition: `*hooked` read under answers_mu_.
  struct Hooked {
    const uint64_t* hooked;
    uint64_t target;
    static bool Reached(Hooked* w) { return *w->hooked >= w->target; }
  };

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
        if (ShouldLinger()) {
          // queue_ holds lingering requests only: its front is the oldest.
          mu_.AwaitWithDeadline(absl::Condition(this, &BatchWriter::LingerOver),
                                queue_.front().queued_at + linger_);
        }
        TakeLocked(queue_, InteractiveRoom(), batch.requests, batch.callbacks);
        const size_t interactive = batch.requests.size();
        const size_t background = interactive == 0 ? max_background_ : 1;
        TakeLocked(background_, std::min(max_batch_, interactive + background), batch.requests,
                   batch.callbacks);
        last_took_interactive_ = interactive > 0;
        ++taken_;
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
        {
          absl::MutexLock lock(&answers_mu_);
          ++hooked_;
        }
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
  const absl::Duration linger_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);  // interactive and lingering
  size_t eager_ ABSL_GUARDED_BY(mu_) = 0;          // of queue_, those not lingering
  std::deque<Pending> background_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool last_took_interactive_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t taken_ ABSL_GUARDED_BY(mu_) = 0;  // batches handed to `write`
  absl::Mutex answers_mu_;
  std::deque<Answered> answers_ ABSL_GUARDED_BY(answers_mu_);
  bool writer_done_ ABSL_GUARDED_BY(answers_mu_) = false;
  uint64_t hooked_ ABSL_GUARDED_BY(answers_mu_) = 0;  // batches past `after_commit`
  // Last: they start after everything above is initialised.
  std::thread answerer_;
  std::thread thread_;
};

}  // namespace hart
