// Builders for the records the conformance tests hand to a Store, in one
// place: when a record gains a field (e.g. a claim's owner and fencing
// value), only these builders change.
//
// Ids derive from a short key so tests read naturally: Referral("a") is
// "ref_a" with report "CL-a" and deliveries "dlv_a_<agency>".
// Times are absl::Time values around the fixed kT0; no builder reads a clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/records.h"
#include "hart/referral/v1/audit.pb.h"

namespace hart::conformance {

// 2026-11-21T14:00:00Z: "now" for every conformance test.
inline const absl::Time kT0 = absl::FromUnixSeconds(1795269600);

// The PII of ExampleIntake and of PiiAckNote: strings that occur nowhere
// else, so finding one in a backend's raw bytes can only be plaintext PII.
inline constexpr char kChildGivenName[] = "Zephyrine";
inline constexpr char kChildFamilyName[] = "Quillbrook";
inline constexpr char kChildDateOfBirth[] = "2011-07-23";
inline constexpr char kDcfCaseId[] = "DCF-NHV-77310";
inline constexpr char kReporterName[] = "Marisol Vantongeren";
inline constexpr char kReporterPhone[] = "860-555-0187";
inline constexpr char kNarrative[] =
    "Counselor heard the child describe a motel on Route 5 where a man called Castellan "
    "keeps her earnings.";
inline constexpr char kAckNote[] = "Known to Detective Ormsby since March; family reached";
// Every string above.
std::vector<std::string> AllPii();

std::string ReferralId(const std::string& key);
std::string ReportId(const std::string& key);
std::string DeliveryId(const std::string& key, const std::string& agency_id);
// The ids of `deliveries`, in order.
std::vector<std::string> IdsOf(const std::vector<DeliveryRecord>& deliveries);

// An intake carrying every PII string above.
v1::Intake ExampleIntake(const std::string& careline_report_id);

// An audit event at `at` (no PII: the digest and detail are fixed strings).
AuditEvent Event(const std::string& action, const std::string& referral_id,
                 const std::string& delivery_id = "", absl::Time at = kT0);

// A PENDING REFERRAL delivery, first attempt due at `due`.
DeliveryRecord Delivery(const std::string& referral_id, const std::string& delivery_id,
                        const std::string& agency_id, absl::Time due = kT0);

// Referral `key` accepted at kT0 with ExampleIntake, content digest
// `digest`, one PENDING delivery per agency due at `due`, and its audit:
// "intake.accepted" first, then one "delivery.created" per delivery.
NewReferral Referral(const std::string& key,
                     const std::vector<std::string>& agencies = {"hartford-pd"},
                     absl::Time due = kT0, const std::string& digest = "digest-1");

TimerRecord RerouteTimer(const std::string& referral_id, const std::string& timer_id,
                         absl::Time due);
// Step `step` of the ladder of `delivery`, counting from kT0.
TimerRecord LadderTimer(const DeliveryRecord& delivery, const std::string& timer_id, uint32_t step,
                        absl::Time due);

// --- Built from a claimed delivery: the claim's identity travels with it ---
FeedAppend FeedAppendFor(const DeliveryRecord& claimed);
DeliveryOutcome RetryLater(const DeliveryRecord& claimed, absl::Time at,
                           absl::Time next_attempt_at);
DeliveryOutcome Delivered(const DeliveryRecord& claimed, absl::Time at,
                          const std::string& transport_ref);
DeliveryOutcome Dead(const DeliveryRecord& claimed, absl::Time at);

// An acknowledgement moving `delivery_id` from `expected` to `new_state`.
AckWrite Ack(const std::string& delivery_id, v1::Acknowledgement::Kind kind,
             v1::DeliveryState expected, v1::DeliveryState new_state, absl::Time at,
             const std::string& note = "");
// RECEIVED of a delivery on a feed: IN_FLIGHT -> DELIVERED.
AckWrite Received(const std::string& delivery_id, absl::Time at);
// ACCEPTED from `expected`: -> ACKNOWLEDGED, stopping the ladder.
AckWrite Accepted(const std::string& delivery_id, v1::DeliveryState expected, absl::Time at);

// The fired ladder timer `fired` as an escalation event with one notice
// delivery `notice_id` (none if empty) and the next step's timer, if given.
EscalationWrite EscalationStep(const TimerRecord& fired, const DeliveryRecord& escalated,
                               absl::Time at, const std::string& notice_id,
                               std::optional<TimerRecord> next);

// A supervisor's redelivery of `old` (in state `expected`) as a new PENDING
// delivery `new_id` due at `at`, with step 1 of its ladder and the audit.
RedeliveryWrite Redelivery(const DeliveryRecord& old, v1::DeliveryState expected,
                           const std::string& new_id, absl::Time at);

// A change of `stored` (the referral as read back) made at `at`, with an
// audit event; the caller adds deliveries, timers, a supplement.
ReferralChange ChangeOf(const ReferralRecord& stored, absl::Time at);

// Sealing `referral_id` at `at`, with its audit event and no notices.
SealWrite Seal(const std::string& referral_id, absl::Time at);

// A checkpoint of `size` leaves with `root` (the signature is a stand-in:
// stores keep checkpoints, they do not verify them).
v1::Checkpoint Checkpoint(uint64_t size, const std::string& root, absl::Time at);

}  // namespace hart::conformance
