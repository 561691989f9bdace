#include "adapters/email/smtp_wire.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hart::adapters::email {
namespace {

constexpr size_t kMaxSummary = 160;

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) out.push_back(c);
    if (out.size() >= kMaxSummary) break;
  }
  return out;
}

// The keyword of an EHLO line ("AUTH PLAIN LOGIN" -> "AUTH"; the obsolete
// "AUTH=PLAIN" form counts as AUTH too).
absl::string_view Keyword(absl::string_view line) {
  const size_t end = line.find_first_of(" =");
  return line.substr(0, end);
}

}  // namespace

std::string SmtpReply::Summary() const {
  std::string text = lines.empty() ? std::string() : Printable(lines.front());
  return text.empty() ? absl::StrCat(code) : absl::StrCat(code, " ", text);
}

bool SmtpReply::HasExtension(std::string_view keyword) const {
  for (size_t i = 1; i < lines.size(); ++i) {
    if (absl::EqualsIgnoreCase(Keyword(lines[i]), Absl(keyword))) return true;
  }
  return false;
}

std::vector<std::string> SmtpReply::ExtensionParams(std::string_view keyword) const {
  std::vector<std::string> params;
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view line = lines[i];
    const absl::string_view key = Keyword(line);
    if (!absl::EqualsIgnoreCase(key, Absl(keyword))) continue;
    for (absl::string_view p : absl::StrSplit(line.substr(key.size()), absl::ByAnyChar(" ="),
                                              absl::SkipEmpty())) {
      params.push_back(absl::AsciiStrToUpper(p));
    }
  }
  return params;
}

absl::StatusOr<bool> SmtpReplyParser::AddLine(std::string_view line) {
  if (line.size() < 3 || !absl::ascii_isdigit(line[0]) || !absl::ascii_isdigit(line[1]) ||
      !absl::ascii_isdigit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    return absl::InvalidArgumentError("malformed SMTP reply line");
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) {
    return absl::InvalidArgumentError("SMTP reply lines with different codes");
  }
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return line.size() == 3 || line[3] == ' ';
}

SmtpReply SmtpReplyParser::Take() {
  SmtpReply out = std::move(reply_);
  reply_ = SmtpReply();
  return out;
}

std::string DotStuff(std::string_view content) {
  std::string out;
  out.reserve(content.size() + content.size() / 32 + 8);
  bool line_start = true;
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') continue;  // CRLF: the LF ends it
    if (c == '\n' || c == '\r') {
      out.append("\r\n");
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = false;
  }
  if (!line_start) out.append("\r\n");
  out.append(".\r\n");
  return out;
}

}  // namespace hart::adapters::email
