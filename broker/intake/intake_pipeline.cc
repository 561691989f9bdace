#include "broker/intake/intake_pipeline.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/client_facing_status.h"
#include "broker/common/field_violations.h"
#include "broker/common/logging.h"
#include "broker/common/sha256.h"
#include "broker/common/time_util.h"
#include "broker/intake/intake_validator.h"
#include "broker/intake/referral_updater.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace hart {

std::string IntakeDigest(const v1::Intake& intake) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    intake.SerializeToCodedStream(&coded);
  }
  return Sha256(bytes);
}

IntakePipeline::IntakePipeline(const Geography& geography, const Router& router,
                               WriteQueue& writes,
                               const Clock& clock, IdGenerator& ids,
                               const Ladders& ladders,
                               feed::FeedPlacement feed_placement,
                               IntakeObserver* observer)
    : geography_(geography),
      router_(router),
      writes_(writes),
      clock_(clock),
      ids_(ids),
      ladders_(ladders),
      feed_placement_(std::move(feed_placement)),
      observer_(observer) {}

absl::Status IntakePipeline::Validate(const v1::Intake& intake, absl::Time now,
                                      const char* consequence) const {
  const auto violations = ValidateIntake(intake, geography_, now);
  if (violations.empty()) return absl::OkStatus();
  return InvalidArgumentWithViolations(
      absl::StrCat("the intake has ", violations.size(),
                   violations.size() == 1 ? " problem" : " problems", "; ", consequence),
      violations);
}

absl::StatusOr<RoutingDecision> IntakePipeline::Explain(const v1::Intake& intake) const {
  const absl::Time now = clock_.Now();
  if (auto status = Validate(intake, now, "it cannot be routed"); !status.ok()) {
    return status;
  }
  return router_.Route(intake, now);
}

void IntakePipeline::Submit(const v1::Intake& intake, const std::string& actor,
                            Done answer) {
  static const auto log = Logger("intake");
  // Every answer goes through here, so the observer hears of each one.
  auto done = [observer = observer_, answer = std::move(answer)](
                  absl::StatusOr<v1::Receipt> receipt, IntakeOutcome outcome) {
    if (observer != nullptr) observer->OnIntake(outcome);
    answer(std::move(receipt));
  };
  const absl::Time now = clock_.Now();
  const std::string digest = IntakeDigest(intake);
  if (absl::Status invalid = Validate(intake, now, "nothing was stored"); !invalid.ok()) {
    std::vector<std::string> fields;
    if (auto bad = BadRequestOf(invalid)) {
      for (const auto& v : bad->field_violations()) fields.push_back(v.field());
    }
    // Only field names and a digest are recorded: the values may be PII.
    AuditEvent rejected{now, actor, "intake.rejected", "", "", digest,
                        absl::StrCat("fields=", absl::StrJoin(fields, ","))};
    // Answered once the rejection is recorded: a refusal is never unaudited.
    writes_.AppendAudit(
        {std::move(rejected)},
        [done, invalid = std::move(invalid), violations = fields.size()](
            absl::StatusOr<AuditAppended> recorded) {
          if (!recorded.ok()) {
            log->error("event=audit_write_failed action=intake.rejected code={}",
                       absl::StatusCodeToString(recorded.status().code()));
            done(absl::UnavailableError("the broker could not record the rejection; retry"),
                 IntakeOutcome::kUnavailable);
            return;
          }
          log->info("event=intake_rejected violations={}", violations);
          done(invalid, IntakeOutcome::kInvalid);
        });
    return;
  }
  auto decision = router_.Route(intake, now, Reasons::kUnsaid);  // the receipt names rules only
  if (!decision.ok()) {
    done(absl::InternalError(absl::StrCat("routing failed: ", decision.status().message())),
         IntakeOutcome::kFailed);
    return;
  }

  NewReferral item;
  ReferralRecord& r = item.referral;
  r.referral_id = ids_.NewReferralId();
  r.careline_report_id = intake.careline_report_id();
  r.content_sha256 = digest;
  r.intake = intake;
  r.priority = decision->priority;
  r.resolved_town = decision->town->name();
  r.received_at = FromProtoTime(intake.received_at());
  r.accepted_at = now;
  r.receipt.set_referral_id(r.referral_id);
  r.receipt.set_priority(r.priority);
  r.receipt.set_resolved_town(r.resolved_town);
  r.receipt.set_careline_report_id(r.careline_report_id);
  *r.receipt.mutable_accepted_at() = ToProtoTime(now);

  std::vector<std::string> fired;
  for (const auto& verdict : decision->verdicts) {
    if (verdict.fired) fired.push_back(verdict.rule_id);
  }
  // The Careline's report id is a case id. The audit log is append-only and
  // leaves the store's custody (proofs, exports), so it names the referral
  // only; the store maps one to the other.
  item.audit.push_back({now, actor, "intake.accepted", r.referral_id, "", digest,
                        absl::StrCat("priority=", v1::Priority_Name(r.priority))});
  item.audit.push_back({now, actor, "referral.routed", r.referral_id, "", digest,
                        absl::StrCat("rules=", absl::StrJoin(fired, ","),
                                     " destinations=", decision->destinations.size())});
  for (const auto& dest : decision->destinations) {
    DeliveryRecord d;
    d.delivery_id = ids_.NewDeliveryId();
    d.referral_id = r.referral_id;
    d.agency_id = dest.agency->id();
    d.agency_kind = dest.agency->kind();
    d.rule_ids = dest.rule_ids;
    d.adapter_type = dest.agency->adapter().type();
    d.state = v1::PENDING;
    d.created_at = now;
    d.next_attempt_at = AsapAttempt(now);
    d.ack_deadline = dest.ack_deadline;
    d.delivery_deadline = dest.delivery_deadline;
    d.priority = r.priority;
    auto* out = r.receipt.add_destinations();
    out->set_agency_id(d.agency_id);
    out->set_agency_kind(d.agency_kind);
    for (const auto& rule : d.rule_ids) out->add_rule_ids(rule);
    out->set_delivery_id(d.delivery_id);
    *out->mutable_ack_deadline() = ToProtoTime(d.ack_deadline);
    if (d.delivery_deadline) {
      *out->mutable_delivery_deadline() = ToProtoTime(*d.delivery_deadline);
    }
    const std::string kind_and_rules =
        absl::StrCat("kind=REFERRAL rules=", absl::StrJoin(d.rule_ids, ","));
    if (auto append = feed_placement_.Place(d, now)) {
      // Created already on its feed, in the intake's transaction: one state
      // change, so one event (issue 15: an audit leaf is four index writes).
      // Its "delivery.sent" says what "delivery.created" would have.
      absl::StrAppend(&append->audit.detail, " ", kind_and_rules);
      item.feed_appends.push_back(std::move(*append));
    } else {
      item.audit.push_back({now, actor, "delivery.created", r.referral_id, d.delivery_id, "",
                            absl::StrCat("agency=", d.agency_id, " ", kind_and_rules)});
    }
    item.deliveries.push_back(std::move(d));
  }

  item.timers = TimersFor(*decision, r.referral_id, ids_);
  for (const auto& d : item.deliveries) {
    if (auto ladder = ladders_.FirstStep(d)) item.timers.push_back(std::move(*ladder));
  }
  for (const auto& t : item.timers) {
    if (t.kind != TimerRecord::Kind::kReroute) continue;
    item.audit.push_back({now, actor, "timer.scheduled", r.referral_id, "", "",
                          absl::StrCat("timer=", t.timer_id, " due=", FormatRfc3339(t.due_at),
                                       " rules=", absl::StrJoin(t.rule_ids, ","))});
  }

  writes_.CreateReferral(std::move(item), [done = std::move(done)](
                                            absl::StatusOr<CreateReferralResult> result) {
    if (!result.ok()) {
      log->error("event=commit_failed code={}",
                 absl::StatusCodeToString(result.status().code()));
      // A storage failure already says what happened, for the client.
      done(IsWrittenForClient(result.status())
               ? result.status()
               : absl::UnavailableError(absl::StrCat("the broker could not store the intake (",
                                                     result.status().message(),
                                                     "); nothing was stored, retry")),
           IntakeOutcome::kUnavailable);
      return;
    }
    switch (result->outcome) {
      case CreateReferralResult::Outcome::kCreated:
        log->info("event=intake_accepted referral_id={} destinations={}",
                  result->receipt.referral_id(), result->receipt.destinations_size());
        done(std::move(result->receipt), IntakeOutcome::kCreated);
        return;
      case CreateReferralResult::Outcome::kDuplicate:
        log->info("event=intake_duplicate referral_id={}", result->receipt.referral_id());
        done(std::move(result->receipt), IntakeOutcome::kDuplicate);
        return;
      case CreateReferralResult::Outcome::kConflict:
        done(absl::AlreadyExistsError(absl::StrCat(
            "this carelineReportId was already submitted (referral ",
            result->receipt.referral_id(),
            ") with different content; to add or correct facts, send a supplement "
            "for that referral instead of resubmitting")),
             IntakeOutcome::kConflict);
        return;
      case CreateReferralResult::Outcome::kSealed:
        // Neither its receipt nor whether the content matches: the facts
        // of a sealed referral are not to be confirmed, even to the careline.
        done(absl::FailedPreconditionError(absl::StrCat(
                 "this carelineReportId belongs to referral ", result->receipt.referral_id(),
                 ", which was sealed by court order: it takes no new submission or supplement; "
                 "report new facts under a new carelineReportId")),
             IntakeOutcome::kConflict);
        return;
    }
  });
}

}  // namespace hart
