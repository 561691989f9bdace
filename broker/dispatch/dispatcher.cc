#include "broker/dispatch/dispatcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"

namespace hart {
namespace {

AttemptResult ResultOf(const DeliveryOutcome& outcome) {
  switch (outcome.new_state) {
    case v1::DELIVERED:
      return AttemptResult::kDelivered;
    case v1::DEAD:
      return AttemptResult::kDead;
    default:
      return outcome.attempted ? AttemptResult::kRetry : AttemptResult::kDeferred;
  }
}

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("dispatch");
  return log;
}

// The batch of the RunOnce running on this thread (set only while it hands
// deliveries out): answers on other threads, or after the pass, record at once.
struct PassBatch {
  const void* dispatcher = nullptr;
  std::vector<std::pair<DeliveryRecord, DeliveryOutcome>>* answers = nullptr;
};
thread_local PassBatch t_pass;

}  // namespace

Dispatcher::Dispatcher(Store& store, std::map<std::string, Adapter*> adapters_by_agency,
                       const Clock& clock, RandomSource& random, DispatchPolicy policy,
                       const Ladders& ladders,
                       std::map<std::string, RetryBudget> budgets_by_agency,
                       DispatchObserver* observer)
    : store_(store),
      adapters_(std::move(adapters_by_agency)),
      clock_(clock),
      random_(random),
      policy_(policy),
      ladders_(ladders),
      budgets_(std::move(budgets_by_agency)),
      observer_(observer) {}

Dispatcher::~Dispatcher() {
  absl::WriterMutexLock lock(&lifeline_->mu);
  lifeline_->alive = false;
}

absl::StatusOr<size_t> Dispatcher::RunOnce() {
  const std::vector<AgencyHold> holds = Holds();
  const absl::Time now = clock_.Now();
  auto claimed = store_.ClaimDueDeliveries(now, now + policy_.claim_lease,
                                           policy_.claim_batch, holds);
  if (!claimed.ok()) return claimed.status();
  std::vector<std::pair<DeliveryRecord, DeliveryOutcome>> answered;
  t_pass = {this, &answered};
  for (const DeliveryRecord& delivery : *claimed) {
    auto it = adapters_.find(delivery.agency_id);
    if (it == adapters_.end()) {
      // The agency left the config while deliveries were pending.
      OnResult(delivery, DeliveryResult::Failed(absl::FailedPreconditionError(absl::StrCat(
                             "agency ", delivery.agency_id,
                             " has no adapter in the current config"))));
      continue;
    }
    it->second->Deliver(delivery, [this, lifeline = lifeline_, delivery](DeliveryResult result) {
      absl::ReaderMutexLock lock(&lifeline->mu);
      if (!lifeline->alive) return;  // shutting down: the lease brings it back
      OnResult(delivery, std::move(result));
    });
  }
  t_pass = {};
  std::vector<Answer> answers;
  answers.reserve(answered.size());
  for (auto& [delivery, outcome] : answered) {
    answers.push_back({std::move(delivery), std::move(outcome)});
  }
  Record(answers);
  return claimed->size();
}

void Dispatcher::NoteHold(const std::string& agency_id, absl::Time until) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&holds_mu_);
  auto [it, added] = holds_.try_emplace(agency_id, until);
  // Every refusal of a pass notes the hold: the first one of a period says so.
  if (added || it->second <= now) {
    Log()->info("event=backlog_held agency={} for_ms={}", agency_id,
                absl::ToInt64Milliseconds(until - now));
  }
  it->second = std::max(it->second, until);
}

std::vector<AgencyHold> Dispatcher::Holds() {
  const absl::Time now = clock_.Now();
  std::vector<AgencyHold> holds;
  absl::MutexLock lock(&holds_mu_);
  for (auto it = holds_.begin(); it != holds_.end();) {
    if (it->second <= now) {
      it = holds_.erase(it);
      continue;
    }
    holds.push_back({it->first, it->second});
    ++it;
  }
  return holds;
}

void Dispatcher::OnResult(const DeliveryRecord& delivery, DeliveryResult result) {
  std::optional<DeliveryOutcome> outcome = OutcomeOf(delivery, std::move(result));
  if (!outcome) return;
  if (t_pass.dispatcher == this) {
    t_pass.answers->emplace_back(delivery, std::move(*outcome));
    return;
  }
  const Answer answer{delivery, std::move(*outcome)};
  Record({&answer, 1});
}

void Dispatcher::Record(std::span<const Answer> answers) {
  if (answers.empty()) return;
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(answers.size());
  for (const Answer& a : answers) outcomes.push_back(a.outcome);
  absl::Status status = store_.RecordOutcomes(outcomes);
  // One outcome the store refused fails its batch: the others go on their
  // own. A store that cannot write now (UNAVAILABLE, disk full) would
  // refuse each of them too.
  if (!status.ok() && answers.size() > 1 && !IsRetryableDeliveryError(status.code())) {
    for (const Answer& a : answers) Record({&a, 1});
    return;
  }
  if (!status.ok()) {
    // The claims' leases expire and the deliveries are retried: nothing is lost.
    Log()->error("event=outcome_write_failed delivery_id={} outcomes={} code={}",
                 answers[0].delivery.delivery_id, answers.size(),
                 absl::StatusCodeToString(status.code()));
    return;
  }
  if (observer_ == nullptr) return;
  for (const Answer& a : answers) {
    observer_->OnAttempt(a.delivery, ResultOf(a.outcome), a.outcome.at);
  }
}

std::optional<DeliveryOutcome> Dispatcher::OutcomeOf(const DeliveryRecord& delivery,
                                                     DeliveryResult result) {
  const absl::Time now = clock_.Now();
  if (result.status.ok() && !result.transport_acknowledged) {
    // Handed off; the adapter recorded where (e.g. a feed sequence).
    if (observer_ != nullptr) observer_->OnAttempt(delivery, AttemptResult::kHandedOff, now);
    return std::nullopt;
  }
  DeliveryOutcome outcome;
  outcome.delivery_id = delivery.delivery_id;
  outcome.attempt = delivery.attempts;  // fencing: this claim only
  outcome.at = now;
  outcome.next_attempt_at = now;
  outcome.transport_ref = result.transport_ref;
  outcome.audit = {now, kBrokerActor, "", delivery.referral_id, delivery.delivery_id, "", ""};
  if (result.status.ok()) {
    outcome.new_state = v1::DELIVERED;
    outcome.audit.action = "delivery.delivered";
    outcome.audit.detail = absl::StrCat("agency=", delivery.agency_id,
                                        " attempt=", delivery.attempts);
  } else {
    outcome.error = absl::StrCat(absl::StatusCodeToString(result.status.code()), ": ",
                                 result.status.message());
    auto own = budgets_.find(delivery.agency_id);
    const RetryBudget& budget = own == budgets_.end() ? policy_.budget : own->second;
    absl::Duration delay = RetryDelay(policy_.backoff, delivery.attempts, random_);
    if (result.retry_after && *result.retry_after > delay) delay = *result.retry_after;
    // The next attempt must still fall inside the time budget.
    if (!result.attempted) {
      // Not tried (circuit open): wait as told; only the time budget counts.
      delay = result.retry_after.value_or(delay);
      outcome.attempted = false;
    }
    const bool within_attempts =
        !result.attempted || delivery.attempts < budget.max_attempts;
    const bool retry = (!result.attempted || IsRetryableDeliveryError(result.status.code())) &&
                       within_attempts &&
                       now + delay < delivery.created_at + budget.max_duration;
    if (retry) {
      outcome.new_state = v1::PENDING;
      outcome.next_attempt_at = now + delay;
      if (result.holds_destination) NoteHold(delivery.agency_id, outcome.next_attempt_at);
      outcome.audit.action =
          result.attempted ? "delivery.attempt_failed" : "delivery.deferred";
    } else {
      outcome.new_state = v1::DEAD;
      outcome.audit.action = "delivery.dead";
      outcome.ladder = ladders_.TriggerNow(delivery.agency_kind, now, v1::UNDELIVERABLE);
    }
    outcome.audit.detail =
        absl::StrCat("agency=", delivery.agency_id, " attempt=", delivery.attempts,
                     " code=", absl::StatusCodeToString(result.status.code()));
    // A deferral is routine while a circuit is open (the guard logs the
    // circuit's transitions): at warn, a long outage's backlog would write
    // one line per delivery per open period.
    const bool routine = outcome.new_state == v1::PENDING && !outcome.attempted;
    Log()->log(routine ? spdlog::level::debug : spdlog::level::warn,
               "event={} delivery_id={} agency={} attempt={} code={}", outcome.audit.action,
               delivery.delivery_id, delivery.agency_id, delivery.attempts,
               absl::StatusCodeToString(result.status.code()));
  }
  return outcome;
}

}  // namespace hart
