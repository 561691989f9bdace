// The e-mail an agency gets: a notification that carries ids, kind,
// priority and deadlines, where to look and how to acknowledge, and no
// intake fact at all (SPEC §4: notification-only adapters get no PII).
// NoticeFacts is the only input of the builder and has no room for the
// intake, so no code path can put a child's name into a notice.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/email/email_config.h"
#include "broker/records.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart::adapters::email {

// What a notice may say: ids, times and codes.
struct NoticeFacts {
  std::string referral_id;
  std::string delivery_id;
  std::string agency_id;
  referral::v1::MessageKind kind = referral::v1::REFERRAL;
  referral::v1::Priority priority = referral::v1::PRIORITY_UNSPECIFIED;
  std::optional<absl::Time> ack_deadline;
  std::optional<absl::Time> delivery_deadline;
  // UPDATE: changed field paths and "rule:<id>" (never values).
  std::vector<std::string> changes;
  // ESCALATION.
  uint32_t escalation_step = 0;
  referral::v1::EscalationReason escalation_reason = referral::v1::ESCALATION_REASON_UNSPECIFIED;
  referral::v1::EscalationTarget escalation_target = referral::v1::ESCALATION_TARGET_UNSPECIFIED;
  std::string escalated_delivery_id;
  std::string escalated_agency_id;
  // AGENCY_BACKUP_CONTACT: also addressed to this (operator data).
  std::string backup_contact_email;
  // ERASURE: the court order's reference.
  std::string court_order_reference;
  // How the recipient acknowledges without a client certificate.
  std::string ack_url;
  std::string ack_token;
};

// The facts of `delivery` and the message the broker built for it (ids,
// deadlines, kind, escalation, erasure, priority, ack token). Reads no
// field of the referral's intake.
NoticeFacts FactsOf(const DeliveryRecord& delivery, const referral::v1::ReferralDelivery& message);

struct EmailNotice {
  // "<delivery id@from domain>": the same for every attempt of a delivery,
  // so mail systems and readers can drop repeats.
  std::string message_id;
  std::vector<std::string> recipients;
  std::string subject;
  // Headers, a blank line and the body, CRLF line breaks, lines at most
  // 998 characters, ASCII only.
  std::string content;
};

// INVALID_ARGUMENT when an id, a change path or the ack URL holds
// characters a header or a command line must not carry (CR, LF, spaces,
// quotes...): header injection is impossible by construction.
absl::StatusOr<EmailNotice> BuildEmailNotice(const NoticeFacts& facts,
                                             const EmailSettings& settings, absl::Time now);

}  // namespace hart::adapters::email
