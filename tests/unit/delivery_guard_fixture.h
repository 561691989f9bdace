// The delivery guard's test fixture: a manual clock and scheduler, an inner
// adapter that holds its callbacks until the test answers, and a record of
// what each delivery's `done` received. Shared by the guard's test files.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/dispatch/delivery_guard.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/test_support.h"

namespace hart::testing {

// Holds every call until the test answers it.
class HeldAdapter final : public Adapter {
 public:
  // `answer_on_destroy`: the destructor answers what is unanswered, as real
  // adapters do when they shut down.
  explicit HeldAdapter(bool answer_on_destroy = true) : answer_on_destroy_(answer_on_destroy) {}
  ~HeldAdapter() override {
    if (!answer_on_destroy_) return;
    for (size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_[i].done) continue;
      Answer(i, DeliveryResult::Failed(absl::UnavailableError("adapter stopped")));
    }
  }
  std::string_view type() const override { return "held"; }
  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    std::optional<DeliveryResult> now;
    size_t index = 0;
    {
      absl::MutexLock lock(&mu_);
      index = calls_.size();
      calls_.push_back({delivery.delivery_id, std::move(done)});
      now = answer_at_once;
    }
    if (now) Answer(index, *now);
  }
  // Answers the i-th call (0-based).
  void Answer(size_t i, DeliveryResult result) {
    DoneCallback done;
    {
      absl::MutexLock lock(&mu_);
      done = calls_.at(i).done;
      calls_.at(i).done = nullptr;
    }
    ASSERT_TRUE(done) << "call " << i << " answered twice";
    done(std::move(result));
  }
  std::vector<std::string> CallIds() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> ids;
    for (const auto& c : calls_) ids.push_back(c.delivery_id);
    return ids;
  }
  size_t call_count() const {
    absl::MutexLock lock(&mu_);
    return calls_.size();
  }
  // When set, every call is answered inside Deliver.
  std::optional<DeliveryResult> answer_at_once;

 private:
  struct HeldCall {
    std::string delivery_id;
    DoneCallback done;
  };
  const bool answer_on_destroy_;
  mutable absl::Mutex mu_;
  std::vector<HeldCall> calls_;
};

// What each delivery's `done` received; a second call fails the test.
class Outcomes {
 public:
  Adapter::DoneCallback For(const std::string& id) {
    return [this, id](DeliveryResult result) {
      absl::MutexLock lock(&mu_);
      if (results_.count(id)) ADD_FAILURE() << "done called twice for " << id;
      results_.emplace(id, std::move(result));
      order_.push_back(id);
    };
  }
  bool Has(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    return results_.count(id) > 0;
  }
  DeliveryResult Of(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    auto it = results_.find(id);
    if (it == results_.end()) {
      ADD_FAILURE() << "no result for " << id;
      return DeliveryResult::Failed(absl::InternalError("missing"));
    }
    return it->second;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return results_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, DeliveryResult> results_;
  std::vector<std::string> order_;
};

inline DeliveryRecord Record(const std::string& id) {
  DeliveryRecord d;
  d.delivery_id = id;
  d.agency_id = "agency-a";
  return d;
}

inline DeliveryResult Unavailable() {
  return DeliveryResult::Failed(absl::UnavailableError("connection refused"));
}

class DeliveryGuardTest : public ::testing::Test {
 protected:
  DeliveryGuardTest() : clock_(TestNow()), scheduler_(clock_) {
    policy_.timeout = absl::Seconds(10);
    policy_.watchdog_grace = absl::Seconds(2);
    policy_.max_concurrency = 2;
    policy_.failure_threshold = 3;
    policy_.open_for = absl::Seconds(60);
  }
  void MakeGuard(bool inner_answers_on_destroy = true) {
    auto inner = std::make_unique<HeldAdapter>(inner_answers_on_destroy);
    inner_ = inner.get();
    guard_ = std::make_unique<GuardedAdapter>("agency-a", std::move(inner), policy_, clock_,
                                              scheduler_);
  }
  void Deliver(const std::string& id) { guard_->Deliver(Record(id), outcomes_.For(id)); }
  // A delivery claimed now for `lease`.
  void DeliverClaimed(const std::string& id, v1::Priority priority,
                      absl::Duration lease = absl::Seconds(60)) {
    DeliveryRecord record = Record(id);
    record.priority = priority;
    record.lease_until = clock_.Now() + lease;
    guard_->Deliver(record, outcomes_.For(id));
  }
  void DeliverClaimed(const std::string& id, absl::Duration lease = absl::Seconds(60)) {
    DeliverClaimed(id, v1::NORMAL, lease);
  }
  // Opens the circuit: `threshold` deliveries, each failing in turn.
  void OpenCircuit() {
    for (uint32_t i = 0; i < policy_.failure_threshold; ++i) {
      const std::string id = "fail-" + std::to_string(i);
      const size_t call = inner_->call_count();
      Deliver(id);
      ASSERT_EQ(inner_->call_count(), call + 1);
      inner_->Answer(call, Unavailable());
      ASSERT_TRUE(outcomes_.Has(id));
    }
  }
  AdapterHealth::State StateNow() const { return guard_->Health().state; }

  ManualClock clock_;
  ManualScheduler scheduler_;
  DeliveryGuardPolicy policy_;
  Outcomes outcomes_;
  HeldAdapter* inner_ = nullptr;
  std::unique_ptr<GuardedAdapter> guard_;
};

}  // namespace hart::testing
