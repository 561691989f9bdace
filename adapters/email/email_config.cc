#include "adapters/email/email_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/common/typed_settings.h"

namespace hart::adapters::email {
namespace {

constexpr size_t kMaxWhereToLookLine = 900;  // stays under SMTP's 998 with room
constexpr size_t kMaxWhereToLook = 4096;

absl::Status Invalid(std::string_view setting, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("email settings: ", std::string(setting), " ", std::string(problem)));
}

bool IsAtext(char c) {
  // RFC 5322 atext plus '.', which dot-atom allows between atoms.
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

// A host name (labels of letters, digits, '-'), an IPv4 address or (with
// `allow_ipv6`) an IPv6 address; nothing that could break a command line.
bool IsHostName(std::string_view host, bool allow_ipv6) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                    (allow_ipv6 && c == ':');
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckWhereToLook(std::string_view text) {
  if (text.size() > kMaxWhereToLook) {
    return Invalid("where_to_look", absl::StrCat("is longer than ", kMaxWhereToLook, " characters"));
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return Invalid("where_to_look", "must be ASCII");
    if (u < 0x20 && c != '\n' && c != '\t') {
      return Invalid("where_to_look", "contains a control character (only line breaks and tabs)");
    }
    if (u == 0x7f) return Invalid("where_to_look", "contains a control character");
  }
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    if (line.size() > kMaxWhereToLookLine) {
      return Invalid("where_to_look",
                     absl::StrCat("has a line longer than ", kMaxWhereToLookLine, " characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMailbox(std::string_view address) {
  if (address.empty()) return absl::InvalidArgumentError("is empty");
  if (address.size() > 254) return absl::InvalidArgumentError("is longer than 254 characters");
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return absl::InvalidArgumentError("has no '@'");
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty()) return absl::InvalidArgumentError("has nothing before '@'");
  if (local.size() > 64) return absl::InvalidArgumentError("has a local part longer than 64");
  for (char c : local) {
    if (!IsAtext(c)) {
      return absl::InvalidArgumentError(
          "may use only letters, digits and !#$%&'*+-/=?^_`{|}~. before '@' (no spaces, "
          "brackets or display names)");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return absl::InvalidArgumentError("has a misplaced '.' before '@'");
  }
  if (domain.empty()) return absl::InvalidArgumentError("has no domain after '@'");
  for (absl::string_view label : absl::StrSplit(absl::string_view(domain.data(), domain.size()), '.')) {
    if (label.empty() || label.size() > 63) {
      return absl::InvalidArgumentError("has an empty or over-long label in its domain");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return absl::InvalidArgumentError(
            "may use only letters, digits, '-' and '.' in its domain");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return absl::InvalidArgumentError("has a domain label starting or ending with '-'");
    }
  }
  return absl::OkStatus();
}

std::string_view MailboxDomain(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

absl::StatusOr<EmailSettings> ParseEmailSettings(const google::protobuf::Struct& raw) {
  auto parsed = ParseSettings<EmailSettings>(kAdapterType, raw);
  if (!parsed.ok()) return parsed.status();
  EmailSettings settings = *std::move(parsed);

  if (settings.smtp_host().empty()) return Invalid("smtp_host", "is required");
  if (!IsHostName(settings.smtp_host(), /*allow_ipv6=*/true)) {
    return Invalid("smtp_host", absl::StrCat("'", settings.smtp_host(),
                                             "' is not a host name or IP address"));
  }
  if (settings.smtp_port() == 0) settings.set_smtp_port(kDefaultSmtpPort);
  if (settings.smtp_port() > 65535) {
    return Invalid("smtp_port", absl::StrCat(settings.smtp_port(), " is not a TCP port"));
  }
  if (settings.username().empty() != settings.password_file().empty()) {
    return Invalid(settings.username().empty() ? "password_file" : "username",
                   "is set without the other: give both username and password_file, or neither");
  }
  for (char c : settings.username()) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid("username", "contains a control character");
    }
  }
  if (settings.from().empty()) return Invalid("from", "is required");
  if (auto s = CheckMailbox(settings.from()); !s.ok()) {
    return Invalid("from", absl::StrCat("'", settings.from(), "' ", s.message()));
  }
  if (settings.to().empty()) return Invalid("to", "needs at least one address");
  for (int i = 0; i < settings.to_size(); ++i) {
    if (auto s = CheckMailbox(settings.to(i)); !s.ok()) {
      return Invalid(absl::StrCat("to[", i, "]"),
                     absl::StrCat("'", settings.to(i), "' ", s.message()));
    }
  }
  if (auto s = CheckWhereToLook(settings.where_to_look()); !s.ok()) return s;
  if (settings.helo_name().empty()) settings.set_helo_name(kDefaultHeloName);
  if (!IsHostName(settings.helo_name(), /*allow_ipv6=*/false)) {
    return Invalid("helo_name", absl::StrCat("'", settings.helo_name(),
                                             "' is not a host name"));
  }
  return settings;
}

}  // namespace hart::adapters::email
