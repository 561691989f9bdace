// The intake flow: validate (SPEC §3) -> route (SPEC §4) -> one durable
// transaction holding the referral, its deliveries and audit events (via
// the writer queue's group commit) -> the receipt. Idempotent on
// careline_report_id.
//
// Thread safety: Submit and Explain may be called concurrently. Neither
// waits on the store (a rejection's audit event goes through the writer
// queue too), so both may run on a gRPC thread. Every reference passed to
// the constructor must outlive the pipeline.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/acks/ladders.h"
#include "broker/routing/geography.h"
#include "broker/clock.h"
#include "broker/common/ids.h"
#include "broker/feed/feed_placement.h"
#include "broker/intake/intake_observer.h"
#include "broker/routing/router.h"
#include "broker/store.h"
#include "broker/store/write_queue.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

class IntakePipeline {
 public:
  using Done = std::function<void(absl::StatusOr<v1::Receipt>)>;

  // NoLadders schedules no escalation ladders. Deliveries `feed_placement`
  // puts on their agency's feed go there in the intake's transaction (the
  // default places none). `observer` (may be null) hears how each
  // submission ended.
  IntakePipeline(const Geography& geography, const Router& router,
                 WriteQueue& writes, const Clock& clock, IdGenerator& ids,
                 const Ladders& ladders, feed::FeedPlacement feed_placement = {},
                 IntakeObserver* observer = nullptr);

  // Answers through `done` on the writer queue's answering thread once the write committed
  // (inline only if routing fails): the receipt; INVALID_ARGUMENT with every field
  // violation; ALREADY_EXISTS for a known careline_report_id with different
  // content. `actor` is the caller's identity for the audit log.
  void Submit(const v1::Intake& intake, const std::string& actor, Done done);

  // Validation and routing only; stores nothing.
  absl::StatusOr<RoutingDecision> Explain(const v1::Intake& intake) const;

 private:
  absl::Status Validate(const v1::Intake& intake, absl::Time now,
                        const char* consequence) const;

  const Geography& geography_;
  const Router& router_;
  WriteQueue& writes_;
  const Clock& clock_;
  IdGenerator& ids_;
  const Ladders& ladders_;
  const feed::FeedPlacement feed_placement_;
  IntakeObserver* const observer_;
};

// SHA-256 of the deterministic serialization of `intake`.
std::string IntakeDigest(const v1::Intake& intake);

}  // namespace hart
