#include "tests/bench/load_driver.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace hart::bench {
namespace {

using std::chrono::nanoseconds;

constexpr auto kPoll = std::chrono::milliseconds(100);

bool Interrupted(const LoadOptions& options) {
  return options.interrupted != nullptr && options.interrupted->load();
}

// Sleeps until `when`, waking every kPoll to check for an interrupt. False
// if interrupted.
bool SleepUntil(const LoadOptions& options, BenchClock::time_point when) {
  for (;;) {
    if (Interrupted(options)) return false;
    const auto now = BenchClock::now();
    if (now >= when) return true;
    std::this_thread::sleep_until(std::min(when, now + kPoll));
  }
}

// Shared with every completion callback, so a callback that fires after a
// drain timeout still finds it alive.
struct LoadState {
  LoadOptions options;
  IssueFn issue;
  LatencyRecorder* recorder = nullptr;
  BenchClock::time_point started, measure_start, end;

  std::mutex mu;
  std::condition_variable cv;
  // Closed loop: live slots (each has at most one request in flight);
  // open loop: requests in flight.
  int in_flight = 0;
  uint64_t sent = 0;
  uint64_t measured_sent = 0;
  uint64_t measured_done = 0;
  bool stop = false;
  // Closed loop: slots whose next send was handed to the controller thread.
  int deferred = 0;
  BenchClock::time_point last_completion{};

  // Records a finished request.
  void Record(const grpc::Status& status, BenchClock::time_point start, bool measured) {
    if (!measured) return;
    const auto now = BenchClock::now();
    recorder->Record(status, start, nanoseconds(now - start).count());
    std::lock_guard<std::mutex> lock(mu);
    ++measured_done;
    last_completion = std::max(last_completion, now);
  }
};

// Depth of SendNext calls on this thread: gRPC may run a completion inline
// (a call that fails at once), and a chain of those must not grow the stack.
thread_local int send_depth = 0;
constexpr int kMaxSendDepth = 8;

// Closed loop: a slot sends one request; its completion sends the next one,
// until the time or the request budget runs out, when the slot retires.
void SendNext(const std::shared_ptr<LoadState>& state) {
  const auto start = BenchClock::now();
  uint64_t index = 0;
  const bool measured = start >= state->measure_start;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    if (state->stop || start >= state->end || state->sent >= state->options.max_requests) {
      state->stop = true;
      --state->in_flight;
      state->cv.notify_all();
      return;
    }
    index = state->sent++;
    if (measured) ++state->measured_sent;
  }
  state->issue(index, start, measured, [state, start, measured](const grpc::Status& status) {
    state->Record(status, start, measured);
    if (send_depth >= kMaxSendDepth) {
      std::lock_guard<std::mutex> lock(state->mu);
      ++state->deferred;
      state->cv.notify_all();
      return;
    }
    ++send_depth;
    SendNext(state);
    --send_depth;
  });
}

// Waits until `done()` or `deadline`, sending for deferred slots meanwhile.
// Called with `lock` held.
// With `interruptible`, an interrupt ends the wait (and sets stop).
template <typename Pred>
void WaitServingDeferred(const std::shared_ptr<LoadState>& state,
                         std::unique_lock<std::mutex>& lock, BenchClock::time_point deadline,
                         bool interruptible, Pred done) {
  while (!done()) {
    if (interruptible && Interrupted(state->options)) {
      state->stop = true;
      return;
    }
    if (state->deferred > 0) {
      const int n = state->deferred;
      state->deferred = 0;
      lock.unlock();
      for (int i = 0; i < n; ++i) SendNext(state);
      lock.lock();
      continue;
    }
    if (BenchClock::now() >= deadline) {
      if (state->deferred == 0) return;
      continue;
    }
    state->cv.wait_until(lock, std::min(deadline, BenchClock::now() + kPoll));
  }
}

void RunClosedLoop(const std::shared_ptr<LoadState>& state,
                   const std::function<void()>& on_measure_start, LoadResult& result) {
  {
    std::lock_guard<std::mutex> lock(state->mu);
    state->in_flight = state->options.concurrency;  // one per slot
  }
  for (int i = 0; i < state->options.concurrency; ++i) SendNext(state);
  std::unique_lock<std::mutex> lock(state->mu);
  WaitServingDeferred(state, lock, state->measure_start, true, [&] { return state->stop; });
  lock.unlock();
  on_measure_start();
  lock.lock();
  WaitServingDeferred(state, lock, state->end, true, [&] { return state->stop; });
  state->stop = true;
  result.load_end = BenchClock::now();
  WaitServingDeferred(state, lock, result.load_end + state->options.drain_timeout, false,
                      [&] { return state->in_flight == 0; });
}

void RunOpenLoop(const std::shared_ptr<LoadState>& state,
                 const std::function<void()>& on_measure_start, LoadResult& result) {
  const auto interval = nanoseconds(static_cast<int64_t>(1e9 / state->options.rate));
  bool measure_started = false;
  nanoseconds max_lag{0};
  result.stopped_by = "duration";
  for (uint64_t k = 0;; ++k) {
    const auto intended = state->started + interval * static_cast<int64_t>(k);
    if (intended >= state->end) break;
    if (k >= state->options.max_requests) {
      result.stopped_by = "max_requests";
      break;
    }
    const bool measured = intended >= state->measure_start;
    if (measured && !measure_started) {
      if (!SleepUntil(state->options, state->measure_start)) break;
      on_measure_start();
      measure_started = true;
    }
    if (!SleepUntil(state->options, intended)) break;
    if (measured) max_lag = std::max(max_lag, nanoseconds(BenchClock::now() - intended));
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (state->in_flight >= state->options.max_in_flight) {
        if (measured) ++result.dropped;
        continue;
      }
      ++state->in_flight;
      ++state->sent;
      if (measured) ++state->measured_sent;
    }
    state->issue(k, intended, measured, [state, intended, measured](const grpc::Status& status) {
      state->Record(status, intended, measured);
      std::lock_guard<std::mutex> lock(state->mu);
      --state->in_flight;
      state->cv.notify_all();
    });
  }
  if (Interrupted(state->options)) result.stopped_by = "interrupt";
  if (!measure_started) on_measure_start();
  result.schedule_lag_max_ms = static_cast<double>(max_lag.count()) / 1e6;
  std::unique_lock<std::mutex> lock(state->mu);
  state->stop = true;
  result.load_end = BenchClock::now();
  state->cv.wait_until(lock, result.load_end + state->options.drain_timeout,
                       [&] { return state->in_flight == 0; });
}

}  // namespace

LoadResult RunLoad(const LoadOptions& options, const IssueFn& issue, LatencyRecorder& recorder,
                   const std::function<void()>& on_measure_start) {
  auto state = std::make_shared<LoadState>();
  state->options = options;
  state->issue = issue;
  state->recorder = &recorder;
  state->started = BenchClock::now();
  state->measure_start = state->started + options.warmup;
  state->end = state->measure_start + options.duration;

  LoadResult result;
  result.started = state->started;
  result.measure_start = state->measure_start;
  if (options.rate > 0) {
    RunOpenLoop(state, on_measure_start, result);
  } else {
    RunClosedLoop(state, on_measure_start, result);
  }
  // The lock of the wait above is released; read the totals under a new one.
  std::lock_guard<std::mutex> lock(state->mu);
  if (options.rate <= 0) {
    result.stopped_by = Interrupted(options)                  ? "interrupt"
                        : state->sent >= options.max_requests ? "max_requests"
                                                              : "duration";
  }
  result.sent = state->sent;
  result.measured_sent = state->measured_sent;
  result.unfinished = state->in_flight > 0 ? static_cast<uint64_t>(state->in_flight) : 0;
  if (state->measured_done > 0) {
    result.measured_seconds =
        std::chrono::duration<double>(state->last_completion - state->measure_start).count();
  }
  return result;
}

}  // namespace hart::bench
