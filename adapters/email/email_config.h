// The email adapter's settings, parsed strictly and checked: every error
// names the setting and says what is wrong. Defaults are applied (port 587,
// EHLO name "hart-broker").
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/email/email_settings.pb.h"
#include "google/protobuf/struct.pb.h"

namespace hart::adapters::email {

inline constexpr char kAdapterType[] = "email";
inline constexpr char kDefaultHeloName[] = "hart-broker";
inline constexpr uint32_t kDefaultSmtpPort = 587;

using EmailSettings = ::hart::adapters::email::v1::EmailSettings;

// INVALID_ARGUMENT naming the setting on any problem.
absl::StatusOr<EmailSettings> ParseEmailSettings(const google::protobuf::Struct& raw);

// A minimal check of a bare address ("local@domain", no display name):
// printable ASCII, no spaces or brackets, a non-empty local part of at most
// 64 characters, a domain of letters, digits, '-' and dots. The message
// says what is wrong.
absl::Status CheckMailbox(std::string_view address);

// The part after '@' of an address CheckMailbox accepts.
std::string_view MailboxDomain(std::string_view address);

}  // namespace hart::adapters::email
