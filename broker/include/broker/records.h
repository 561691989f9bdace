// Plain records the core passes to and from the Store. Backend-neutral: no
// SQL types, no row ids. Times are absl::Time; optional times are unset
// until the event happens.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "hart/referral/v1/common.pb.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

namespace v1 = ::hart::referral::v1;

// The actor of the events the broker records on its own (deliveries sent,
// retries, escalations). The SQLite schema's audit_by_actor leaves them out
// by this value (schema 14).
inline constexpr char kBrokerActor[] = "broker";

// One audit event. Never carries PII: `payload_sha256` is a digest of the
// payload involved, `detail` is machine-made (ids, counts, rule ids, codes).
struct AuditEvent {
  absl::Time at;
  std::string actor;   // mTLS identity, e.g. "careline/careline-intake"
  std::string action;  // e.g. "intake.accepted", "delivery.acknowledged"
  std::string referral_id;
  // An event that names a delivery names that delivery's referral, or no
  // referral at all (a denied acknowledgement): SQLite lists a delivery's
  // events under those two (sqlite_audit.cc).
  std::string delivery_id;
  std::string payload_sha256;  // 32 raw bytes, or empty
  std::string detail;
  // Set on events read back from the store: the 0-based position in the
  // log and the stored leaf hash.
  uint64_t index = 0;
  std::string leaf_hash;
};

// Which audit events to list; every set filter must match.
struct AuditQuery {
  std::string referral_id;
  std::string delivery_id;
  std::string actor;
  std::optional<absl::Time> from;  // inclusive
  std::optional<absl::Time> to;    // exclusive
  uint64_t start_index = 0;
  size_t limit = 100;
};

// The live head of the audit tree (unsigned).
struct AuditTreeHead {
  uint64_t size = 0;
  std::string root_hash;
}; 

// next_attempt_at of a delivery to try as soon as possible: its creation
// time moved 50 years back. Due whatever the wall clock says (a clock
// stepped back must not hold a new delivery until it catches up with its
// creation), and still claimed oldest first among its kind. Retries keep a
// real time (a backoff is "not before").
inline constexpr absl::Duration kAsapShift = absl::Hours(24 * 365 * 50);
inline absl::Time AsapAttempt(absl::Time created_at) { return created_at - kAsapShift; }
// When it is due as a person reads it: an ASAP delivery since its creation.
inline absl::Time ShownNextAttempt(absl::Time next_attempt_at, absl::Time created_at) {
  return next_attempt_at < created_at - kAsapShift / 2 ? created_at : next_attempt_at;
}

// One destination of one referral and its delivery state machine.
struct DeliveryRecord {
  std::string delivery_id;
  std::string referral_id;
  std::string agency_id;
  v1::AgencyKind agency_kind = v1::AGENCY_KIND_UNSPECIFIED;
  std::vector<std::string> rule_ids;
  std::string adapter_type;
  v1::DeliveryState state = v1::PENDING;
  uint32_t attempts = 0;
  absl::Time created_at;
  absl::Time next_attempt_at;
  absl::Time ack_deadline;
  std::optional<absl::Time> delivery_deadline;
  std::optional<absl::Time> last_attempt_at;
  std::optional<absl::Time> lease_until;
  std::optional<absl::Time> delivered_at;
  std::optional<absl::Time> acknowledged_at;
  std::string last_error;
  // Where the adapter put it (e.g. "feed:hartford-pd#17"); empty until handed off.
  std::string transport_ref;
  // REFERRAL the first time an agency is told; UPDATE for new facts.
  v1::MessageKind kind = v1::REFERRAL;
  // For UPDATE: changed intake field paths (within the agency's view) and
  // "rule:<id>" for rules that newly apply. Never values, so never PII.
  std::vector<std::string> changes;
  // For ESCALATION: what it is about.
  std::optional<v1::EscalationNotice> escalation;
  // For ERASURE: the order.
  std::optional<v1::ErasureNotice> erasure;
  // Set when a supervisor sent it again as another delivery.
  std::string redelivered_as;
  // The broker that holds (or last held) the claim; `attempts` is the
  // claim's fencing value.
  std::string claim_owner;
  // Its referral's priority, kept so by every change of the referral. Due
  // URGENT deliveries are claimed before due NORMAL ones, and a held
  // agency's URGENT ones too (AgencyHold keeps back its NORMAL backlog
  // only).
  v1::Priority priority = v1::NORMAL;
};

// A durable timer. Survives restarts; fires once.
struct TimerRecord {
  enum class Kind {
    // Evaluate the referral's routing again (time-driven rules such as
    // missing-72h).
    kReroute,
    // Run step `step` of the escalation ladder of `delivery_id`.
    kLadder,
  };
  std::string timer_id;
  std::string referral_id;
  absl::Time due_at;
  // kReroute: the rules expected to fire then (evaluation decides).
  std::vector<std::string> rule_ids;
  Kind kind = Kind::kReroute;
  // kLadder only:
  std::string delivery_id;
  uint32_t step = 0;      // 1-based
  absl::Time base_at;     // the ladder's start; step i runs at base_at + after_i
  v1::EscalationReason reason = v1::ESCALATION_REASON_UNSPECIFIED;
  // Set by ClaimDueTimers: how many times the timer was claimed (the
  // claim's fencing value) and by which broker.
  uint64_t lease = 0;
  std::string claim_owner;
};

// Pulls a delivery's escalation ladder forward when something happens
// before its deadline (declined, dead): if step 1 has not run yet, it runs
// at `due_at`, later steps counting from `base_at`.
struct LadderTrigger {
  absl::Time due_at;
  absl::Time base_at;
  v1::EscalationReason reason = v1::ESCALATION_REASON_UNSPECIFIED;
};

// One executed step of an escalation ladder.
struct EscalationRecord {
  uint64_t sequence = 0;  // assigned by the store
  absl::Time at;
  std::string referral_id;
  std::string delivery_id;
  std::string agency_id;
  v1::EscalationReason reason = v1::ESCALATION_REASON_UNSPECIFIED;
  uint32_t step = 0;
  std::vector<v1::EscalationTarget> targets;
  std::vector<std::string> notice_delivery_ids;
  std::vector<std::string> notified_agency_ids;
};

// Everything a fired ladder timer writes, in one transaction.
struct EscalationWrite {
  std::string fired_timer_id;
  uint64_t fired_timer_lease = 0;  // the claim's fencing value
  std::optional<EscalationRecord> event;  // unset: the ladder ended quietly
  std::vector<DeliveryRecord> notices;
  std::optional<TimerRecord> next;
  std::vector<AuditEvent> audit;
};

// A supervisor's redelivery of a DEAD or DECLINED delivery.
struct RedeliveryWrite {
  std::string old_delivery_id;
  v1::DeliveryState expected_state = v1::DELIVERY_STATE_UNSPECIFIED;
  DeliveryRecord new_delivery;
  std::optional<TimerRecord> ladder;
  std::vector<AuditEvent> audit;
};

// Sealing a referral by court order, in one transaction.
struct SealWrite {
  std::string referral_id;
  absl::Time at;
  // ERASURE notices, one per agency that received the referral.
  std::vector<DeliveryRecord> notices;
  std::vector<AuditEvent> audit;
};

struct SealResult {
  uint32_t stopped_deliveries = 0;
};

// Which referrals to list (every set filter must match).
struct ReferralQuery {
  std::vector<v1::DeliveryState> states;
  std::optional<absl::Time> overdue_at;  // overdue at this time
  std::vector<std::string> towns;        // resolved town in this set
  std::string rule_id;
  std::string agency_id;
  std::optional<absl::Time> received_from;
  std::optional<absl::Time> received_to;
  size_t limit = 50;
  // Paging: strictly older than this (accepted_at, referral_id).
  std::optional<std::pair<absl::Time, std::string>> before;
};

struct ReferralSummaryRecord {
  std::string referral_id;
  std::string careline_report_id;
  v1::Priority priority = v1::NORMAL;
  std::string resolved_town;
  absl::Time received_at;
  absl::Time accepted_at;
  uint32_t deliveries = 0;
  uint32_t acknowledged = 0;
  uint32_t overdue = 0;
  uint32_t dead = 0;
  uint32_t declined = 0;
  std::optional<absl::Time> next_deadline;
};

struct ReferralRecord {
  std::string referral_id;
  std::string careline_report_id;
  // SHA-256 of the intake's deterministic serialization: identical content
  // means identical digest.
  std::string content_sha256;
  v1::Intake intake;
  v1::Receipt receipt;
  v1::Priority priority = v1::NORMAL;
  std::string resolved_town;
  absl::Time received_at;
  absl::Time accepted_at;
  // Bumped by every change; changes are compare-and-set on it.
  int64_t version = 1;
  // Set once sealed by court order: `intake` is then empty for good.
  std::optional<absl::Time> sealed_at;
  // Below the envelope layer only (what backends store and return instead
  // of `intake`): the intake sealed under the referral's data key.
  std::string sealed_intake;
};

// A claimed delivery being put on its agency's feed.
struct FeedAppend {
  std::string delivery_id;
  std::string agency_id;
  AuditEvent audit;
};

struct FeedAppendResult {
  std::string delivery_id;
  std::string agency_id;
  uint64_t sequence = 0;
  // The audit index of its "delivery.sent" event when this write put it on
  // the feed; unset when it was on the feed already.
  std::optional<uint64_t> audit_index;
};

// A referral's data key as backends store it: wrapped by a key-encryption
// key; `wrapped` is empty once the referral is sealed (the key destroyed).
struct WrappedDataKey {
  std::string referral_id;
  std::string key_id;
  std::string wrapped;
  bool destroyed = false;
};

// Everything one accepted intake writes, in one transaction.
struct NewReferral {
  ReferralRecord referral;
  std::vector<DeliveryRecord> deliveries;
  std::vector<TimerRecord> timers;
  std::vector<AuditEvent> audit;
  // Deliveries whose transport is the broker's own feed, put on it in the
  // same transaction (they are stored IN_FLIGHT, already attempted once):
  // no separate claim or append, and nothing lost between the two.
  std::vector<FeedAppend> feed_appends;
  // Below the envelope layer only: the referral's data key, wrapped.
  WrappedDataKey data_key;
  // Memory only, never stored: the intake in the clear, kept for the feeds'
  // tail (broker/feed/feed_tail.h), since the envelope seals
  // `referral.intake` before the write. The envelope moves the plaintext
  // here as it seals it; the writer queue copies it when nothing sealed.
  std::shared_ptr<const v1::Intake> opened_intake;
};

// A change to a stored referral (a supplement or a time-driven rule firing),
// applied in one transaction if the referral is still at `expected_version`.
struct ReferralChange {
  std::string referral_id;
  int64_t expected_version = 0;
  v1::Intake intake;    // the referral's facts after the change
  v1::Receipt receipt;  // the receipt after the change
  v1::Priority priority = v1::NORMAL;
  std::string resolved_town;
  std::vector<DeliveryRecord> new_deliveries;
  // Pending kReroute timers of the referral are replaced by the kReroute
  // timers here; kLadder timers here are added (new REFERRAL deliveries).
  std::vector<TimerRecord> new_timers;
  // The timer that fired, marked done (empty for supplements), and its
  // claim's fencing value.
  std::string fired_timer_id;
  uint64_t fired_timer_lease = 0;
  // For supplements: recorded so a retry gets the same answer.
  std::string supplement_id;
  std::string supplement_sha256;
  std::string supplement_response;  // serialized SupplementIntakeResponse
  absl::Time at;
  std::vector<AuditEvent> audit;
  // Below the envelope layer only: `intake` sealed under the data key.
  std::string sealed_intake;
};

struct StoredSupplement {
  std::string referral_id;
  std::string supplement_sha256;
  std::string response;  // serialized SupplementIntakeResponse
};

struct CreateReferralResult {
  enum class Outcome {
    kCreated,    // stored now
    kDuplicate,  // same careline_report_id and content: nothing stored
    kConflict,   // same careline_report_id, different content: nothing stored
    kSealed,     // same careline_report_id, its referral sealed: nothing stored
  };
  Outcome outcome = Outcome::kCreated;
  // The receipt of the stored referral (the original one for kDuplicate;
  // for kSealed, only its referral id is to be told).
  v1::Receipt receipt;
  // kCreated: where NewReferral::feed_appends landed.
  std::vector<FeedAppendResult> feed_appends;
};

// A failed or finished attempt, reported back by the dispatcher.
struct DeliveryOutcome {
  std::string delivery_id;
  v1::DeliveryState new_state = v1::PENDING;  // PENDING (retry), DELIVERED or DEAD
  absl::Time at;
  absl::Time next_attempt_at;  // for PENDING
  std::string error;           // no PII
  std::string transport_ref;
  AuditEvent audit;
  // For DEAD: start the delivery's ladder now.
  std::optional<LadderTrigger> ladder;
  // False when the partner was not contacted (circuit open): the claim's
  // attempt is given back.
  bool attempted = true;
  // The claim's fencing value (DeliveryRecord::attempts when claimed): the
  // outcome applies only if the delivery was not claimed again since.
  uint32_t attempt = 0;
};

// One event of an agency's durable feed, joined with what a view needs.
struct FeedEntry {
  bool sealed = false;  // the referral was sealed: `intake` is empty
  // Its intake is damaged at rest (DATA_LOSS): `intake` is empty. Served as
  // such so one damaged referral does not stop the rest of the feed.
  bool unreadable = false;
  uint64_t sequence = 0;
  uint64_t audit_index = 0;  // of the event that recorded sending it
  absl::Time appended_at;
  DeliveryRecord delivery;
  v1::Intake intake;
  v1::Priority priority = v1::NORMAL;
  // Below the envelope layer only: `intake` sealed under the data key.
  std::string sealed_intake;
};

// An acknowledgement to record, with the state change it causes. The store
// applies it only if the delivery is still in `expected_state`.
struct AckWrite {
  std::string delivery_id;
  v1::DeliveryState expected_state = v1::DELIVERY_STATE_UNSPECIFIED;
  v1::DeliveryState new_state = v1::DELIVERY_STATE_UNSPECIFIED;
  v1::Acknowledgement ack;
  AuditEvent audit;
  // ACCEPTED stops the delivery's ladder; DECLINED starts it now.
  bool stop_ladder = false;
  std::optional<LadderTrigger> ladder;
  // Below the envelope layer only: the ack's note sealed under the
  // referral's data key (empty when there is no note or it is sealed).
  std::string sealed_note;
};

struct DeliveryWithAcks {
  DeliveryRecord delivery;
  std::vector<v1::Acknowledgement> acks;
  // Below the envelope layer only: each ack's sealed note (acks[i]'s note
  // is then empty), in the same order.
  std::vector<std::string> sealed_notes;
};

}  // namespace hart
