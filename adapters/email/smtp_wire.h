// The SMTP wire format (RFC 5321): replies, which may span lines
// ("250-first", "250 last"), and the DATA content's dot-stuffing.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace hart::adapters::email {

struct SmtpReply {
  int code = 0;
  // The text after the code on each line, in order.
  std::vector<std::string> lines;

  // 2 (done), 3 (go on), 4 (try again later), 5 (refused).
  int code_class() const { return code / 100; }
  // "550 5.1.1 no such user": the code and the first line, control
  // characters dropped and cut to a length fit for an error message.
  std::string Summary() const;
  // For an EHLO reply: whether a line (after the first) starts with
  // `keyword` (case-insensitive), and that line's parameters, upper-cased.
  bool HasExtension(std::string_view keyword) const;
  std::vector<std::string> ExtensionParams(std::string_view keyword) const;
};

// Collects one reply line by line.
class SmtpReplyParser {
 public:
  // `line` without its line break. Returns true when the reply is complete,
  // false when more lines follow; INVALID_ARGUMENT for a line that is not
  // "NNN", "NNN text" or "NNN-text", or whose code differs from the first.
  absl::StatusOr<bool> AddLine(std::string_view line);
  // The complete reply; resets the parser.
  SmtpReply Take();

 private:
  SmtpReply reply_;
};

// The DATA content as sent: every line break becomes CRLF, a line starting
// with '.' gets another '.', and the terminating ".\r\n" is appended (after
// a CRLF if the content does not end with one).
std::string DotStuff(std::string_view content);

}  // namespace hart::adapters::email
