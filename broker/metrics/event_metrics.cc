#include "broker/metrics/event_metrics.h"

#include <algorithm>
#include <string>

#include "broker/metrics/label_values.h"

namespace hart::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries kBatchSizeBuckets = {1,  2,   4,   8,   16,  32,
                                                                   64, 128, 256, 512, 1024};
// Seconds; an fsync takes from well under a millisecond to tens of them.
const prometheus::Histogram::BucketBoundaries kCommitBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

}  // namespace

EventMetrics::EventMetrics(prometheus::Registry& registry,
                           std::vector<double> ack_latency_buckets)
    : ack_latency_buckets_(std::move(ack_latency_buckets)),
      intakes_(BuildCounter()
                   .Name("hart_intakes_total")
                   .Help("Intake submissions answered, by outcome: created, duplicate (same "
                         "report and content), conflict (same report, other content), invalid, "
                         "unavailable (retry), failed.")
                   .Register(registry)),
      ack_latency_(BuildHistogram()
                       .Name("hart_ack_latency_seconds")
                       .Help("Time from a REFERRAL delivery's creation (when its ack deadline "
                             "starts) to its acknowledgement, by agency kind and ack kind "
                             "(received, accepted, declined). Every ack deadline of the policy "
                             "is a bucket bound.")
                       .Register(registry)),
      attempts_(BuildCounter()
                    .Name("hart_delivery_attempts_total")
                    .Help("Delivery attempts the dispatcher made, by destination, message "
                          "kind and how the attempt ended: handed_off (to a feed), delivered, "
                          "retry, deferred (not tried), dead. Deliveries put on a feed with "
                          "their intake are not attempts.")
                    .Register(registry)),
      dead_letters_(BuildCounter()
                        .Name("hart_dead_letters_total")
                        .Help("Deliveries that went DEAD: their attempt or time budget ran out.")
                        .Register(registry)),
      escalation_steps_(BuildCounter()
                            .Name("hart_escalation_steps_total")
                            .Help("Escalation ladder steps run, by the escalated delivery's "
                                  "agency kind, the reason and the step number.")
                            .Register(registry)),
      batch_size_(BuildHistogram()
                      .Name("hart_group_commit_batch_size")
                      .Help("Writes per group commit of the writer queue.")
                      .Register(registry)
                      .Add({}, kBatchSizeBuckets)),
      commit_duration_(BuildHistogram()
                           .Name("hart_group_commit_duration_seconds")
                           .Help("Time the store took to commit one group commit, fsync "
                                 "included.")
                           .Register(registry)
                           .Add({}, kCommitBuckets)),
      commit_failures_(BuildCounter()
                           .Name("hart_group_commit_failures_total")
                           .Help("Group commits that failed as a whole (every write in them "
                                 "was answered with the error).")
                           .Register(registry)
                           .Add({})) {
  // Every outcome from the start, so that rates and ratios exist at once.
  for (IntakeOutcome outcome :
       {IntakeOutcome::kCreated, IntakeOutcome::kDuplicate, IntakeOutcome::kConflict,
        IntakeOutcome::kInvalid, IntakeOutcome::kUnavailable, IntakeOutcome::kFailed}) {
    intake_series_[static_cast<size_t>(outcome)] =
        &intakes_.Add({{"outcome", IntakeOutcomeLabel(outcome)}});
  }
}

void EventMetrics::OnIntake(IntakeOutcome outcome) {
  intake_series_[static_cast<size_t>(outcome)]->Increment();
}

void EventMetrics::OnAcknowledged(const DeliveryRecord& delivery,
                                  v1::Acknowledgement::Kind kind, absl::Time at) {
  if (delivery.kind != v1::REFERRAL) return;
  const double seconds = std::max(0.0, absl::ToDoubleSeconds(at - delivery.created_at));
  AckLatencySeries(delivery.agency_kind, kind).Observe(seconds);
}

prometheus::Histogram& EventMetrics::AckLatencySeries(v1::AgencyKind agency_kind,
                                                      v1::Acknowledgement::Kind kind) {
  auto add = [&]() -> prometheus::Histogram& {
    return ack_latency_.Add(
        {{"agency_kind", AgencyKindLabel(agency_kind)}, {"ack_kind", AckKindLabel(kind)}},
        ack_latency_buckets_);
  };
  if (agency_kind < 0 || agency_kind >= v1::AgencyKind_ARRAYSIZE || kind < 0 ||
      kind >= v1::Acknowledgement::Kind_ARRAYSIZE) {
    return add();
  }
  // Two threads may both find it first: Add returns the same series to each.
  std::atomic<prometheus::Histogram*>& slot =
      ack_latency_series_[static_cast<size_t>(agency_kind) * v1::Acknowledgement::Kind_ARRAYSIZE +
                          static_cast<size_t>(kind)];
  prometheus::Histogram* series = slot.load(std::memory_order_acquire);
  if (series == nullptr) {
    series = &add();
    slot.store(series, std::memory_order_release);
  }
  return *series;
}

void EventMetrics::OnAttempt(const DeliveryRecord& delivery, AttemptResult result,
                             absl::Time at) {
  prometheus::Labels labels = {{"agency_kind", AgencyKindLabel(delivery.agency_kind)},
                                {"agency_id", delivery.agency_id},
                                {"adapter_type", delivery.adapter_type},
                                {"message_kind", MessageKindLabel(delivery.kind)}};
  if (result == AttemptResult::kDead) dead_letters_.Add(labels).Increment();
  labels["result"] = AttemptResultLabel(result);
  attempts_.Add(labels).Increment();
  // A push partner's transport acknowledgement is its RECEIVED.
  if (result == AttemptResult::kDelivered) {
    OnAcknowledged(delivery, v1::Acknowledgement::RECEIVED, at);
  }
}

void EventMetrics::OnEscalationStep(const DeliveryRecord& escalated, uint32_t step,
                                    v1::EscalationReason reason) {
  escalation_steps_
      .Add({{"agency_kind", AgencyKindLabel(escalated.agency_kind)},
            {"reason", EscalationReasonLabel(reason)},
            {"step", std::to_string(step)}})
      .Increment();
}

void EventMetrics::OnBatchWritten(size_t items, absl::Duration took, bool committed) {
  batch_size_.Observe(static_cast<double>(items));
  commit_duration_.Observe(absl::ToDoubleSeconds(took));
  if (!committed) commit_failures_.Increment();
}

}  // namespace hart::metrics
