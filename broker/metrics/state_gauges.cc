#include "broker/metrics/state_gauges.h"

#include <algorithm>

#include "broker/metrics/label_values.h"

namespace hart::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

prometheus::Family<prometheus::Gauge>& Gauges(prometheus::Registry& registry, const char* name,
                                              const char* help) {
  return BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Gauge& Gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return Gauges(registry, name, help).Add({});
}

// By agency kind, every kind present (0 when it has none): alerts on
// "> 0" need the series to exist before the first one.
std::map<prometheus::Labels, double> ByAgencyKind(const std::map<v1::AgencyKind, uint64_t>& counts) {
  std::map<prometheus::Labels, double> values;
  for (int k = v1::AgencyKind_MIN; k <= v1::AgencyKind_MAX; ++k) {
    if (k == v1::AGENCY_KIND_UNSPECIFIED || !v1::AgencyKind_IsValid(k)) continue;
    const auto kind = static_cast<v1::AgencyKind>(k);
    auto it = counts.find(kind);
    values[{{"agency_kind", AgencyKindLabel(kind)}}] =
        it == counts.end() ? 0.0 : static_cast<double>(it->second);
  }
  return values;
}

double UnixSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

// Moves a counter up to `total`, a count kept elsewhere since start.
void CatchUp(prometheus::Counter& counter, double total) {
  if (total > counter.Value()) counter.Increment(total - counter.Value());
}

}  // namespace

void StateGauges::Tracked::SetAll(const std::map<prometheus::Labels, double>& values) {
  for (const auto& labels : seen) {
    if (!values.contains(labels)) family.Add(labels).Set(0);
  }
  for (const auto& [labels, value] : values) {
    family.Add(labels).Set(value);
    seen.insert(labels);
  }
}

StateGauges::StateGauges(prometheus::Registry& r)
    : deliveries_{Gauges(r, "hart_deliveries",
                         "Deliveries stored, by state, agency kind and message kind.")},
      outbox_depth_(Gauge(r, "hart_outbox_depth",
                          "Deliveries not yet at their partner (PENDING or IN_FLIGHT).")),
      outbox_oldest_age_(Gauge(r, "hart_outbox_oldest_age_seconds",
                               "Age of the oldest delivery not yet at its partner; 0 when "
                               "there is none.")),
      overdue_{Gauges(r, "hart_deliveries_overdue",
                      "REFERRAL deliveries overdue now (ack deadline passed without ACCEPTED, "
                      "or delivery deadline passed undelivered), by agency kind.")},
      dead_letters_{Gauges(r, "hart_dead_letters",
                           "Dead letters awaiting a supervisor (DEAD, not redelivered), by "
                           "agency kind.")},
      audit_tree_size_(Gauge(r, "hart_audit_tree_size", "Events in the audit log (leaves).")),
      checkpoint_time_(Gauges(r, "hart_audit_last_checkpoint_timestamp_seconds",
                              "When the latest signed audit checkpoint was made (Unix time); "
                              "absent before the first.")),
      checkpoint_age_(Gauges(r, "hart_audit_last_checkpoint_age_seconds",
                             "Age of the latest signed audit checkpoint; absent before the "
                             "first.")),
      snapshot_time_(Gauge(r, "hart_ops_snapshot_timestamp_seconds",
                           "When the store-derived gauges were last read (Unix time).")),
      snapshot_failures_(BuildCounter()
                             .Name("hart_ops_snapshot_failures_total")
                             .Help("Reads of the store-derived gauges that failed; the gauges "
                                   "then keep their last values.")
                             .Register(r)
                             .Add({})),
      executor_queue_length_(Gauge(r, "hart_store_executor_queue_length",
                                   "Store calls waiting for a store executor worker.")),
      executor_capacity_(Gauge(r, "hart_store_executor_queue_capacity",
                               "The most store calls that may wait; beyond, calls are refused "
                               "with UNAVAILABLE.")),
      executor_refused_(BuildCounter()
                            .Name("hart_store_executor_rejected_total")
                            .Help("Store calls refused because the store executor's queue was "
                                  "full (or it was shutting down).")
                            .Register(r)
                            .Add({})),
      circuit_state_{Gauges(r, "hart_push_circuit_state",
                            "State of each push destination's circuit breaker: 1 for its "
                            "current state (up, degraded, circuit_open), 0 for the others.")},
      push_in_flight_{Gauges(r, "hart_push_in_flight", "Calls to the push destination in flight.")},
      push_queued_{Gauges(r, "hart_push_queued",
                          "Deliveries waiting for a free call slot of the push destination.")},
      push_call_seconds_{Gauges(r, "hart_push_call_seconds",
                                "A call to the push destination, a moving average over about "
                                "the last eight (0 before the first answer): deliveries that "
                                "would not be answered within their claim's lease at this pace "
                                "wait in the store, not in its queue.")},
      push_failures_{Gauges(r, "hart_push_consecutive_failures",
                            "Transport failures in a row of the push destination.")},
      feed_subscribers_{Gauges(r, "hart_feed_subscribers",
                               "Open FeedService.Subscribe streams, by agency.")} {
  absl::MutexLock lock(&mu_);
  overdue_.SetAll(ByAgencyKind({}));
  dead_letters_.SetAll(ByAgencyKind({}));
}

void StateGauges::ApplySnapshot(const OpsSnapshot& snapshot, absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::map<prometheus::Labels, double> deliveries;
  double undelivered = 0;
  for (const auto& [group, count] : snapshot.deliveries) {
    const auto& [state, agency_kind, message_kind] = group;
    deliveries[{{"state", DeliveryStateLabel(state)},
                {"agency_kind", AgencyKindLabel(agency_kind)},
                {"message_kind", MessageKindLabel(message_kind)}}] = static_cast<double>(count);
    if (state == v1::PENDING || state == v1::IN_FLIGHT) undelivered += static_cast<double>(count);
  }
  deliveries_.SetAll(deliveries);
  outbox_depth_.Set(undelivered);
  outbox_oldest_age_.Set(
      snapshot.oldest_undelivered_created_at
          ? std::max(0.0, absl::ToDoubleSeconds(now - *snapshot.oldest_undelivered_created_at))
          : 0.0);
  overdue_.SetAll(ByAgencyKind(snapshot.overdue));
  dead_letters_.SetAll(ByAgencyKind(snapshot.dead_letters));
  audit_tree_size_.Set(static_cast<double>(snapshot.audit_tree_size));
  if (snapshot.last_checkpoint_at) {
    checkpoint_time_.Add({}).Set(UnixSeconds(*snapshot.last_checkpoint_at));
    checkpoint_age_.Add({}).Set(
        std::max(0.0, absl::ToDoubleSeconds(now - *snapshot.last_checkpoint_at)));
  }
  snapshot_time_.Set(UnixSeconds(now));
}

void StateGauges::SnapshotFailed() { snapshot_failures_.Increment(); }

void StateGauges::ApplyRuntime(const RuntimeSample& sample) {
  absl::MutexLock lock(&mu_);
  executor_queue_length_.Set(static_cast<double>(sample.executor_queue_length));
  executor_capacity_.Set(static_cast<double>(sample.executor_capacity));
  CatchUp(executor_refused_, static_cast<double>(sample.executor_refused));
  std::map<prometheus::Labels, double> circuit, in_flight, queued, call_seconds, failures;
  for (const AdapterHealth& health : sample.push_destinations) {
    const prometheus::Labels destination = {{"agency_id", health.agency_id},
                                            {"adapter_type", health.adapter_type}};
    for (auto state : {AdapterHealth::State::kUp, AdapterHealth::State::kDegraded,
                       AdapterHealth::State::kCircuitOpen}) {
      prometheus::Labels labels = destination;
      labels["state"] = AdapterHealthStateName(state);
      circuit[labels] = health.state == state ? 1.0 : 0.0;
    }
    in_flight[destination] = health.in_flight;
    queued[destination] = health.queued;
    call_seconds[destination] = absl::ToDoubleSeconds(health.call_time);
    failures[destination] = health.consecutive_failures;
  }
  circuit_state_.SetAll(circuit);
  push_in_flight_.SetAll(in_flight);
  push_queued_.SetAll(queued);
  push_call_seconds_.SetAll(call_seconds);
  push_failures_.SetAll(failures);
  std::map<prometheus::Labels, double> subscribers;
  for (const auto& [agency_id, count] : sample.feed_subscribers) {
    subscribers[{{"agency_id", agency_id}}] = static_cast<double>(count);
  }
  feed_subscribers_.SetAll(subscribers);
}

}  // namespace hart::metrics
