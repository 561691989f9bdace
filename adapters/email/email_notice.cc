#include "adapters/email/email_notice.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hart::adapters::email {
namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxUrlLength = 800;
constexpr size_t kMaxLine = 998;
constexpr size_t kMaxCourtOrderReference = 200;
constexpr char kLocalZone[] = "America/New_York";  // Connecticut

std::optional<absl::Time> TimeOf(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return std::nullopt;
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Ids, change paths, tokens: letters, digits and a few `extra` marks only,
// which rules out CR, LF, spaces and anything a header could split on.
constexpr absl::string_view kIdMarks = "._-";      // also valid in a Message-ID
constexpr absl::string_view kTokenMarks = "._-=";  // base64url
constexpr absl::string_view kPathMarks = "._:-";   // "rule:missing-72h"

absl::Status CheckToken(absl::string_view what, absl::string_view value, bool required,
                        absl::string_view extra) {
  if (value.empty()) {
    return required ? absl::InvalidArgumentError(absl::StrCat("email notice: ", what, " is empty"))
                    : absl::OkStatus();
  }
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("email notice: ", what, " is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        extra.find(c) == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "email notice: ", what, " may hold only letters, digits and ", extra));
    }
  }
  return absl::OkStatus();
}

// URLs: printable ASCII without spaces, quotes, backslashes or angle
// brackets, so it can sit in a shell command line and a mail body.
absl::Status CheckUrl(absl::string_view url) {
  if (url.size() > kMaxUrlLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("email notice: ack_url is longer than ", kMaxUrlLength, " characters"));
  }
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || absl::string_view("'\"\\<>`").find(c) != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "email notice: ack_url holds a space, control character, quote or bracket");
    }
  }
  return absl::OkStatus();
}

// Free text from an operator (court order reference): printable ASCII,
// anything else replaced, cut to a bound.
std::string Printable(absl::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

std::string Utc(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone()); }

// "2026-11-21 14:00 UTC (2026-11-21 09:00 EST)": UTC is unambiguous, the
// local time is what a Connecticut reader acts on.
std::string UtcAndLocal(absl::Time t) {
  absl::TimeZone local;
  if (!absl::LoadTimeZone(kLocalZone, &local)) return Utc(t);
  return absl::StrCat(Utc(t), " (", absl::FormatTime("%Y-%m-%d %H:%M %Z", t, local), ")");
}

absl::string_view KindTitle(referral::v1::MessageKind kind) {
  switch (kind) {
    case referral::v1::UPDATE: return "Update to a referral";
    case referral::v1::ESCALATION: return "Escalation";
    case referral::v1::ERASURE: return "Erasure order";
    default: return "New referral";
  }
}

absl::string_view ReasonText(referral::v1::EscalationReason reason) {
  switch (reason) {
    case referral::v1::ACK_DEADLINE_MISSED: return "not acknowledged by its deadline";
    case referral::v1::DELIVERY_DEADLINE_MISSED: return "not delivered by its deadline";
    case referral::v1::DECLINED_BY_AGENCY: return "declined by the agency";
    case referral::v1::UNDELIVERABLE: return "could not be delivered";
    default: return "needs attention";
  }
}

absl::string_view TargetText(referral::v1::EscalationTarget target) {
  switch (target) {
    case referral::v1::RENOTIFY_AGENCY: return "the agency, again";
    case referral::v1::AGENCY_BACKUP_CONTACT: return "the agency's backup contact";
    case referral::v1::REGIONAL_HART_LEAD: return "the regional HART lead";
    case referral::v1::STATEWIDE_COORDINATOR: return "the statewide HART coordinator";
    default: return "";
  }
}

std::string Subject(const NoticeFacts& f) {
  const bool urgent = f.priority == referral::v1::URGENT;
  const std::string deadline =
      f.ack_deadline ? absl::StrCat(" - acknowledge by ", Utc(*f.ack_deadline)) : "";
  switch (f.kind) {
    case referral::v1::UPDATE:
      return absl::StrCat("[HART] ", urgent ? "URGENT update" : "Update", " to referral ",
                          f.referral_id, " for ", f.agency_id, deadline);
    case referral::v1::ESCALATION:
      return absl::StrCat("[HART] ", urgent ? "URGENT " : "", "ESCALATION step ",
                          f.escalation_step, ": referral ", f.referral_id, " ",
                          ReasonText(f.escalation_reason),
                          f.escalated_agency_id.empty()
                              ? std::string()
                              : absl::StrCat(" (agency ", f.escalated_agency_id, ")"));
    case referral::v1::ERASURE:
      return absl::StrCat("[HART] ERASE referral ", f.referral_id, " for ", f.agency_id,
                          " (sealed by court order)");
    default:
      return absl::StrCat("[HART] ", urgent ? "URGENT referral" : "Referral", " ", f.referral_id,
                          " for ", f.agency_id, deadline);
  }
}

void Field(std::string& body, absl::string_view label, absl::string_view value) {
  absl::StrAppend(&body, label, ":", std::string(std::max<size_t>(1, 17 - label.size()), ' '),
                  value, "\r\n");
}

std::string Body(const NoticeFacts& f, const EmailSettings& settings) {
  std::string body;
  absl::StrAppend(&body,
                  "This is a notification from the HART referral broker. On purpose it carries\r\n"
                  "no case details: read them where this message says.\r\n\r\n");
  Field(body, "Message", KindTitle(f.kind));
  Field(body, "Referral", f.referral_id);
  Field(body, "Delivery", f.delivery_id);
  Field(body, "Agency", f.agency_id);
  Field(body, "Priority", f.priority == referral::v1::URGENT ? "URGENT" : "NORMAL");
  if (f.ack_deadline) Field(body, "Acknowledge by", UtcAndLocal(*f.ack_deadline));
  if (f.delivery_deadline) Field(body, "Deliver by", UtcAndLocal(*f.delivery_deadline));
  if (f.kind == referral::v1::UPDATE && !f.changes.empty()) {
    Field(body, "What changed", absl::StrJoin(f.changes, ", "));
  }
  if (f.kind == referral::v1::ESCALATION) {
    Field(body, "Escalation", absl::StrCat("step ", f.escalation_step, ": the referral was ",
                                           ReasonText(f.escalation_reason)));
    if (!f.escalated_agency_id.empty()) Field(body, "Agency concerned", f.escalated_agency_id);
    if (!f.escalated_delivery_id.empty()) Field(body, "Its delivery", f.escalated_delivery_id);
    if (!TargetText(f.escalation_target).empty()) {
      Field(body, "This step tells", TargetText(f.escalation_target));
    }
  }
  if (f.kind == referral::v1::ERASURE) {
    absl::StrAppend(&body, "\r\nThis referral was sealed by court order: erase every copy of\r\n",
                    "referral ", f.referral_id, " your agency holds (records, e-mails, exports).\r\n");
    if (!f.court_order_reference.empty()) {
      Field(body, "Court order", Printable(f.court_order_reference, kMaxCourtOrderReference));
    }
  }
  if (!settings.where_to_look().empty()) {
    absl::StrAppend(&body, "\r\nWhere to look:\r\n");
    for (absl::string_view line : absl::StrSplit(settings.where_to_look(), '\n')) {
      absl::StrAppend(&body, "  ", absl::StripTrailingAsciiWhitespace(line), "\r\n");
    }
  }
  if (!f.ack_url.empty() && !f.ack_token.empty()) {
    absl::StrAppend(
        &body, "\r\nTo acknowledge (ACCEPTED once a person takes responsibility; DECLINED\r\n",
        "needs a \"note\" with the reason), POST to the broker:\r\n\r\n",
        "  curl -X POST '", f.ack_url, "' -H 'Content-Type: application/json' \\\r\n",
        "    -d '{\"deliveryId\":\"", f.delivery_id, "\",\"ackToken\":\"", f.ack_token,
        "\",\"kind\":\"ACCEPTED\"}'\r\n\r\n");
    Field(body, "Ack URL", f.ack_url);
    Field(body, "Ack token", f.ack_token);
  }
  absl::StrAppend(&body, "\r\nThis message was sent automatically; replies are not read.\r\n");
  return body;
}

std::string Headers(const NoticeFacts& f, const EmailSettings& settings, const EmailNotice& notice,
                    absl::Time now) {
  std::string h;
  absl::StrAppend(&h, "Date: ",
                  absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", now, absl::UTCTimeZone()), "\r\n");
  absl::StrAppend(&h, "From: HART referral broker <", settings.from(), ">\r\n");
  // One address per line: no header line grows with the recipient list.
  absl::StrAppend(&h, "To: ", absl::StrJoin(notice.recipients, ",\r\n "), "\r\n");
  absl::StrAppend(&h, "Subject: ", notice.subject, "\r\n");
  absl::StrAppend(&h, "Message-ID: ", notice.message_id, "\r\n");
  absl::StrAppend(&h, "MIME-Version: 1.0\r\n");
  absl::StrAppend(&h, "Content-Type: text/plain; charset=utf-8\r\n");
  absl::StrAppend(&h, "Content-Transfer-Encoding: 7bit\r\n");
  // RFC 3834: no vacation auto-replies to a robot.
  absl::StrAppend(&h, "Auto-Submitted: auto-generated\r\n");
  absl::StrAppend(&h, "X-HART-Referral-Id: ", f.referral_id, "\r\n");
  absl::StrAppend(&h, "X-HART-Delivery-Id: ", f.delivery_id, "\r\n");
  absl::StrAppend(&h, "X-HART-Agency-Id: ", f.agency_id, "\r\n");
  absl::StrAppend(&h, "X-HART-Kind: ", referral::v1::MessageKind_Name(f.kind), "\r\n");
  absl::StrAppend(&h, "X-HART-Priority: ", f.priority == referral::v1::URGENT ? "URGENT" : "NORMAL", "\r\n");
  return h;
}

}  // namespace

NoticeFacts FactsOf(const DeliveryRecord& delivery, const referral::v1::ReferralDelivery& message) {
  // Only ids, times and codes are copied; message.referral().intake() is
  // never read.
  NoticeFacts f;
  const referral::v1::ReferralView& view = message.referral();
  f.delivery_id = !message.delivery_id().empty() ? message.delivery_id() : delivery.delivery_id;
  f.referral_id = !message.referral_id().empty() ? message.referral_id() : delivery.referral_id;
  f.agency_id = !view.agency_id().empty() ? view.agency_id() : delivery.agency_id;
  f.kind = message.kind() != referral::v1::MESSAGE_KIND_UNSPECIFIED ? message.kind() : delivery.kind;
  f.priority = view.priority();
  f.ack_deadline = TimeOf(view.ack_deadline());
  if (!f.ack_deadline && delivery.ack_deadline != absl::UnixEpoch()) {
    f.ack_deadline = delivery.ack_deadline;
  }
  f.delivery_deadline = TimeOf(view.delivery_deadline());
  if (!f.delivery_deadline) f.delivery_deadline = delivery.delivery_deadline;
  if (message.changes_size() > 0) {
    f.changes.assign(message.changes().begin(), message.changes().end());
  } else {
    f.changes = delivery.changes;
  }
  const referral::v1::EscalationNotice* escalation =
      message.has_escalation() ? &message.escalation()
                               : (delivery.escalation ? &*delivery.escalation : nullptr);
  if (escalation != nullptr) {
    f.escalation_step = escalation->step();
    f.escalation_reason = escalation->reason();
    f.escalation_target = escalation->target();
    f.escalated_delivery_id = escalation->escalated_delivery_id();
    f.escalated_agency_id = escalation->escalated_agency_id();
    if (escalation->target() == referral::v1::AGENCY_BACKUP_CONTACT) {
      f.backup_contact_email = escalation->contact_email();
    }
  }
  const referral::v1::ErasureNotice* erasure =
      message.has_erasure() ? &message.erasure() : (delivery.erasure ? &*delivery.erasure : nullptr);
  if (erasure != nullptr) f.court_order_reference = erasure->court_order_reference();
  f.ack_url = message.ack_url();
  f.ack_token = message.ack_token();
  return f;
}

absl::StatusOr<EmailNotice> BuildEmailNotice(const NoticeFacts& facts,
                                             const EmailSettings& settings, absl::Time now) {
  using Check = std::tuple<absl::string_view, absl::string_view, bool, absl::string_view>;
  for (const auto& [what, value, required, marks] :
       {Check{"referral id", facts.referral_id, true, kIdMarks},
        Check{"delivery id", facts.delivery_id, true, kIdMarks},
        Check{"agency id", facts.agency_id, true, kIdMarks},
        Check{"escalated delivery id", facts.escalated_delivery_id, false, kIdMarks},
        Check{"escalated agency id", facts.escalated_agency_id, false, kIdMarks},
        Check{"ack token", facts.ack_token, false, kTokenMarks}}) {
    if (auto s = CheckToken(what, value, required, marks); !s.ok()) return s;
  }
  for (const auto& change : facts.changes) {
    if (auto s = CheckToken("a change path", change, true, kPathMarks); !s.ok()) return s;
  }
  if (auto s = CheckUrl(facts.ack_url); !s.ok()) return s;

  EmailNotice notice;
  notice.message_id = absl::StrCat("<", facts.delivery_id, "@", std::string(MailboxDomain(settings.from())), ">");
  notice.recipients.assign(settings.to().begin(), settings.to().end());
  if (!facts.backup_contact_email.empty() && CheckMailbox(facts.backup_contact_email).ok() &&
      std::find(notice.recipients.begin(), notice.recipients.end(), facts.backup_contact_email) ==
          notice.recipients.end()) {
    notice.recipients.push_back(facts.backup_contact_email);
  }
  notice.subject = Subject(facts);
  notice.content = absl::StrCat(Headers(facts, settings, notice, now), "\r\n", Body(facts, settings));
  for (absl::string_view line : absl::StrSplit(notice.content, "\r\n")) {
    if (line.size() > kMaxLine) {
      return absl::InvalidArgumentError(absl::StrCat(
          "email notice: a line would be longer than ", kMaxLine, " characters (SMTP's limit)"));
    }
  }
  return notice;
}

}  // namespace hart::adapters::email
