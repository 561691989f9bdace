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
// Thread safety: Submit may be called from any thread. Callbacks run on the
// writer thread, in submission order within a lane, and must not block for
// long.
#pragma once

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
  using AfterCommitFn = std::function<void(std::span<const Result>)>;

  enum class Lane { kInteractive, kBackground };

  // `write` returns one result per request, in order. `after_commit` (may
  // be empty) runs after each successful batch, before the callbacks.
  BatchWriter(WriteFn write, size_t max_batch, AfterCommitFn after_commit = {},
              size_t max_background = std::numeric_limits<size_t>::max())
      : write_(std::move(write)),
        after_commit_(std::move(after_commit)),
        max_batch_(max_batch == 0 ? 1 : max_batch),
        max_background_(max_background == 0 ? 1 : max_background),
        thread_([this] { Run(); }) {}

  // Answers everything queued, then stops the writer thread.
  ~BatchWriter() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
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

  void Run() {
    std::vector<Request> requests;
    std::vector<Done> callbacks;
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &BatchWriter::Ready));
        if (queue_.empty() && background_.empty()) return;  // stopping and drained
        TakeLocked(queue_, max_batch_, requests, callbacks);
        const size_t background = requests.empty() ? max_background_ : 1;
        TakeLocked(background_, std::min(max_batch_, requests.size() + background), requests,
                   callbacks);
      }
      absl::StatusOr<std::vector<Result>> results = write_(requests);
      if (results.ok() && results->size() != requests.size()) {
        results = absl::InternalError("batch write returned the wrong number of results");
      }
      if (results.ok() && after_commit_) after_commit_(*results);
      for (size_t i = 0; i < callbacks.size(); ++i) {
        if (results.ok()) {
          callbacks[i](std::move((*results)[i]));
        } else {
          callbacks[i](results.status());
        }
      }
      requests.clear();
      callbacks.clear();
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
  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace hart
