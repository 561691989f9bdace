#include "broker/ops/readiness.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"

namespace hart::ops {
namespace {

auto Log() { return Logger("readiness"); }

std::string Seconds(absl::Duration d) { return absl::StrCat(absl::ToInt64Seconds(d), " s"); }

}  // namespace

std::string ReadinessReport::ToText() const {
  std::string text;
  for (const auto& check : checks) {
    absl::StrAppend(&text, check.ok ? "[+]" : "[-]", check.name, check.ok ? " ok: " : " failed: ",
                    check.detail, "\n");
  }
  absl::StrAppend(&text, ready ? "readyz check passed\n" : "readyz check failed\n");
  return text;
}

ReadinessMonitor::ReadinessMonitor(const Clock& clock, ReadinessOptions options,
                                   ReadinessInputs inputs)
    : clock_(clock), options_(options), inputs_(std::move(inputs)) {}

ReadinessMonitor::~ReadinessMonitor() { StopTicking(); }

void ReadinessMonitor::StartTicking(Scheduler& scheduler) {
  absl::MutexLock lock(&ticker_->mu);
  ticker_->monitor = this;
  ticker_->scheduler = &scheduler;
  ScheduleLocked(ticker_);
}

void ReadinessMonitor::StopTicking() {
  absl::MutexLock lock(&ticker_->mu);
  if (ticker_->scheduler == nullptr) return;
  ticker_->scheduler->Cancel(ticker_->id);
  ticker_->scheduler = nullptr;
  ticker_->monitor = nullptr;
  ticker_->mu.Await(absl::Condition(
      +[](bool* running) { return !*running; }, &ticker_->running));
}

void ReadinessMonitor::ScheduleLocked(const std::shared_ptr<Ticker>& ticker) {
  const absl::Time next = ticker->monitor->clock_.Now() + ticker->monitor->options_.interval;
  ticker->id = ticker->scheduler->RunAt(next, [ticker] { RunTick(ticker); });
}

void ReadinessMonitor::RunTick(const std::shared_ptr<Ticker>& ticker) {
  ReadinessMonitor* monitor = nullptr;
  {
    absl::MutexLock lock(&ticker->mu);
    if (ticker->monitor == nullptr) return;  // stopped meanwhile
    monitor = ticker->monitor;
    ticker->running = true;
  }
  monitor->Tick();
  absl::MutexLock lock(&ticker->mu);
  ticker->running = false;
  if (ticker->monitor != nullptr) ScheduleLocked(ticker);
}

void ReadinessMonitor::Tick() {
  bool probe = false;
  {
    absl::MutexLock lock(&mu_);
    const bool idle = commits_ended_ == commits_at_last_tick_;
    commits_at_last_tick_ = commits_ended_;
    if (inputs_.probe && !probe_sent_at_ && (idle || !last_commit_ok_)) {
      probe_sent_at_ = clock_.Now();
      probe = true;
    }
  }
  if (probe) inputs_.probe([this](absl::Status outcome) { OnProbeDone(outcome); });
  Evaluate();
}

void ReadinessMonitor::OnProbeDone(const absl::Status& outcome) {
  {
    absl::MutexLock lock(&mu_);
    probe_sent_at_.reset();
    // The probe's own commit was reported by the CommitWatch too; an error
    // it did not see (the queue refused it) counts the same.
    if (!outcome.ok()) {
      last_commit_ok_ = false;
      last_commit_error_ = outcome.code();
    }
  }
  Evaluate();
}

void ReadinessMonitor::CommitStarted() {
  absl::MutexLock lock(&mu_);
  commit_started_at_ = clock_.Now();
}

void ReadinessMonitor::CommitEnded(const absl::Status& outcome) {
  {
    absl::MutexLock lock(&mu_);
    commit_started_at_.reset();
    ++commits_ended_;
    if (outcome.ok() != last_commit_ok_) {
      // Logged on the transitions only (the code, never the message).
      if (outcome.ok()) {
        Log()->info("event=store_writable_again");
      } else {
        Log()->error("event=store_commit_failed code={}", absl::StatusCodeToString(outcome.code()));
      }
    }
    last_commit_ok_ = outcome.ok();
    last_commit_error_ = outcome.code();
  }
  Evaluate();
}

void ReadinessMonitor::BeginDrain() {
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  Evaluate();
}

ReadinessReport ReadinessMonitor::Evaluate() {
  // The inputs take locks of their own: asked before this one's.
  const size_t queued = inputs_.executor_queue_length ? inputs_.executor_queue_length() : 0;
  const size_t calls = inputs_.calls_in_flight ? inputs_.calls_in_flight() : 0;
  absl::MutexLock publish(&publish_mu_);
  ReadinessReport report;
  {
    absl::MutexLock lock(&mu_);
    report = EvaluateLocked(clock_.Now(), queued, calls);
  }
  PublishLocked(report);
  return report;
}

ReadinessReport ReadinessMonitor::EvaluateLocked(absl::Time now, size_t queued,
                                                 size_t calls) const {
  ReadinessReport report;
  const std::string in_flight =
      inputs_.calls_in_flight ? absl::StrCat(" (", calls, " gRPC calls in flight)") : "";
  report.checks.push_back(
      {"draining", !draining_,
       absl::StrCat(draining_ ? "the broker is shutting down" : "accepting calls", in_flight)});

  ReadinessCheck store{"store", true, "writable"};
  if (!last_commit_ok_) {
    store = {"store", false,
             absl::StrCat("the last commit failed (", absl::StatusCodeToString(last_commit_error_),
                          "); waiting for one to succeed")};
  } else if (commit_started_at_ && now - *commit_started_at_ >= options_.store_write_timeout) {
    store = {"store", false,
             absl::StrCat("a commit has been running for ", Seconds(now - *commit_started_at_))};
  } else if (probe_sent_at_ && now - *probe_sent_at_ >= options_.store_write_timeout) {
    store = {"store", false,
             absl::StrCat("a probe write has waited ", Seconds(now - *probe_sent_at_),
                          " for its commit")};
  }
  report.checks.push_back(std::move(store));

  ReadinessCheck executor{"store_executor", true, "not watched"};
  if (inputs_.executor_capacity > 0) {
    const double share =
        static_cast<double>(queued) / static_cast<double>(inputs_.executor_capacity);
    executor.ok = share < options_.executor_saturation;
    executor.detail = absl::StrCat(queued, " of ", inputs_.executor_capacity,
                                   " queue slots taken");
  }
  report.checks.push_back(std::move(executor));

  for (const auto& check : report.checks) report.ready = report.ready && check.ok;
  return report;
}

void ReadinessMonitor::PublishLocked(const ReadinessReport& report) {
  const bool ready = report.ready;
  if (published_ == ready) return;
  if (published_.has_value() || !ready) {
    std::string failed;
    for (const auto& check : report.checks) {
      if (!check.ok) absl::StrAppend(&failed, failed.empty() ? "" : ",", check.name);
    }
    Log()->info("event=readiness_changed ready={} failed={}", ready, failed.empty() ? "none" : failed);
  }
  published_ = ready;
  for (const auto& listener : listeners_) listener(ready);
}

void ReadinessMonitor::Subscribe(std::function<void(bool ready)> listener) {
  Evaluate();  // something published
  absl::MutexLock publish(&publish_mu_);
  listener(*published_);
  listeners_.push_back(std::move(listener));
}

}  // namespace hart::ops
