#include "adapters/ncmec/xml_text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hart::adapters::ncmec {
namespace {

bool AllowedInXml(unsigned char c) { return c >= 0x20 || c == '\t' || c == '\n' || c == '\r'; }

// Decodes the five predefined entities and numeric character references
// below 128 (all NCMEC's responses use); anything else is kept as is.
std::string DecodeEntities(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const size_t end = text.find(';', i);
    if (end == absl::string_view::npos) {
      out.push_back('&');
      continue;
    }
    const absl::string_view name = text.substr(i + 1, end - i - 1);
    char decoded = 0;
    if (name == "amp") decoded = '&';
    else if (name == "lt") decoded = '<';
    else if (name == "gt") decoded = '>';
    else if (name == "quot") decoded = '"';
    else if (name == "apos") decoded = '\'';
    else if (name.size() > 1 && name[0] == '#' && name.size() < 6) {
      int value = 0;
      bool ok = true;
      for (char c : name.substr(1)) {
        if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) ok = false;
        else value = value * 10 + (c - '0');
      }
      if (ok && value > 0 && value < 128) decoded = static_cast<char>(value);
    }
    if (decoded == 0) {
      out.push_back('&');
      continue;
    }
    out.push_back(decoded);
    i = end;
  }
  return out;
}

// Position just after "<tag" when it is followed by '>', '/' or whitespace
// (so <report> does not match <reportId>), from `from`; npos if none.
size_t FindOpenTag(absl::string_view xml, absl::string_view tag, size_t from) {
  const std::string open = absl::StrCat("<", tag);
  for (size_t pos = xml.find(open, from); pos != absl::string_view::npos;
       pos = xml.find(open, pos + 1)) {
    const size_t after = pos + open.size();
    if (after >= xml.size()) return absl::string_view::npos;
    const char c = xml[after];
    if (c == '>' || c == '/' || absl::ascii_isspace(static_cast<unsigned char>(c))) return after;
  }
  return absl::string_view::npos;
}

}  // namespace

std::string EscapeXml(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (AllowedInXml(static_cast<unsigned char>(c))) out.push_back(c);
    }
  }
  return out;
}

std::vector<absl::string_view> ElementContents(absl::string_view xml, absl::string_view tag) {
  std::vector<absl::string_view> contents;
  const std::string close = absl::StrCat("</", tag, ">");
  size_t from = 0;
  for (;;) {
    const size_t after_name = FindOpenTag(xml, tag, from);
    if (after_name == absl::string_view::npos) break;
    const size_t tag_end = xml.find('>', after_name);
    if (tag_end == absl::string_view::npos) break;
    if (xml[tag_end - 1] == '/') {  // <tag/>
      contents.push_back(absl::string_view());
      from = tag_end + 1;
      continue;
    }
    const size_t end = xml.find(close, tag_end + 1);
    if (end == absl::string_view::npos) break;
    contents.push_back(xml.substr(tag_end + 1, end - tag_end - 1));
    from = end + close.size();
  }
  return contents;
}

std::optional<std::string> ElementText(absl::string_view xml, absl::string_view tag) {
  const auto contents = ElementContents(xml, tag);
  if (contents.empty()) return std::nullopt;
  return DecodeEntities(absl::StripAsciiWhitespace(contents.front()));
}

}  // namespace hart::adapters::ncmec
