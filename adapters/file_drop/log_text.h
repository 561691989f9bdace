// Log lines are JSON with the message inside a string (broker/common/
// logging.h) and the message is "event=... key=value": free text that goes
// into one (error messages we wrote, never content) must not break either.
//
// Thread safety: a pure function.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace hart::adapters::file_drop {

// `text` with quotes and backslashes as ' and / and control characters as
// spaces, in single quotes.
inline std::string ForLog(absl::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '"') c = '\'';
    if (c == '\\') c = '/';
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace hart::adapters::file_drop
