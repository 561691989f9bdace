// The metrics of what happens, counted as it happens: intakes by outcome,
// acknowledgement latency, delivery attempts and dead letters, escalation
// steps, group commits. One object implements the observer interface of
// each component (handed to it at construction in broker/server/), so the
// components know nothing of Prometheus.
//
// Thread safety: every method may be called from any thread (prometheus-cpp
// metrics are thread-safe). Labels come from label_values.h and the
// deliveries' agency ids and adapter types (the config's), never an id.
#pragma once

#include <array>
#include <atomic>
#include <vector>

#include "broker/acks/ack_observer.h"
#include "broker/dispatch/dispatch_observer.h"
#include "broker/intake/intake_observer.h"
#include "broker/store/write_queue_observer.h"
#include "broker/timers/timer_observer.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace hart::metrics {

class EventMetrics final : public IntakeObserver,
                           public AckObserver,
                           public DispatchObserver,
                           public TimerObserver,
                           public WriteQueueObserver {
 public:
  // Registers the families in `registry`, which must outlive this object.
  // `ack_latency_buckets`: AckLatencyBuckets(config).
  EventMetrics(prometheus::Registry& registry, std::vector<double> ack_latency_buckets);

  // hart_intakes_total{outcome}.
  void OnIntake(IntakeOutcome outcome) override;
  // hart_ack_latency_seconds{agency_kind, ack_kind}: from the delivery's
  // creation (when its ack deadline starts) to `at`; REFERRAL messages only
  // (the ones with deadlines).
  void OnAcknowledged(const DeliveryRecord& delivery, v1::Acknowledgement::Kind kind,
                      absl::Time at) override;
  // hart_delivery_attempts_total, hart_dead_letters_total; a transport
  // acknowledgement also counts as a RECEIVED ack.
  void OnAttempt(const DeliveryRecord& delivery, AttemptResult result, absl::Time at) override;
  // hart_escalation_steps_total{agency_kind, reason, step}.
  void OnEscalationStep(const DeliveryRecord& escalated, uint32_t step,
                        v1::EscalationReason reason) override;
  // hart_group_commit_batch_size, hart_group_commit_duration_seconds,
  // hart_group_commit_failures_total.
  void OnBatchWritten(size_t items, absl::Duration took, bool committed) override;

 private:
  // The series of hart_ack_latency_seconds for one (agency kind, ack kind).
  prometheus::Histogram& AckLatencySeries(v1::AgencyKind agency_kind,
                                          v1::Acknowledgement::Kind kind);

  const std::vector<double> ack_latency_buckets_;
  prometheus::Family<prometheus::Counter>& intakes_;
  // hart_intakes_total's series by IntakeOutcome, all added at construction.
  std::array<prometheus::Counter*, static_cast<size_t>(IntakeOutcome::kFailed) + 1>
      intake_series_{};
  prometheus::Family<prometheus::Histogram>& ack_latency_;
  // Each found once: Family::Add builds and hashes its labels on every call,
  // 8 % of the answering thread at 10,000 acknowledgements a second.
  std::array<std::atomic<prometheus::Histogram*>,
             v1::AgencyKind_ARRAYSIZE * v1::Acknowledgement::Kind_ARRAYSIZE>
      ack_latency_series_{};
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& dead_letters_;
  prometheus::Family<prometheus::Counter>& escalation_steps_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& commit_duration_;
  prometheus::Counter& commit_failures_;
};

}  // namespace hart::metrics
