// The little XML the ncmec adapter needs: escaping text it writes, and
// reading element text out of NCMEC's small, flat response documents
// (<reportResponse>, <reportDoneResponse>, <reportsResponse>). Not a general
// XML parser: no namespaces, no CDATA, no DTDs — NCMEC's responses use none.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hart::adapters::ncmec {

// `text` with &, <, >, " and ' replaced by entities, and characters XML 1.0
// forbids (control characters other than tab, LF, CR) dropped.
std::string EscapeXml(absl::string_view text);

// The inner content of each <tag>…</tag> (or empty for <tag/>) directly or
// deeply inside `xml`, in document order. Elements of the same name nested
// in each other are not supported (NCMEC's responses have none).
std::vector<absl::string_view> ElementContents(absl::string_view xml, absl::string_view tag);

// The text of the first <tag> in `xml` with entities decoded and
// surrounding whitespace trimmed; nullopt if there is none.
std::optional<std::string> ElementText(absl::string_view xml, absl::string_view tag);

}  // namespace hart::adapters::ncmec
