#include "adapters/file_drop/ack_file.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace hart::adapters::file_drop {
namespace {

using Kind = ::hart::v1::Acknowledgement::Kind;

absl::StatusOr<Kind> KindFromWord(std::string_view word) {
  const std::string upper = absl::AsciiStrToUpper(absl::string_view(word.data(), word.size()));
  if (upper == "RECEIVED") return ::hart::v1::Acknowledgement::RECEIVED;
  if (upper == "ACCEPTED") return ::hart::v1::Acknowledgement::ACCEPTED;
  if (upper == "DECLINED") return ::hart::v1::Acknowledgement::DECLINED;
  return absl::InvalidArgumentError("kind must be RECEIVED, ACCEPTED or DECLINED");
}

std::string_view Trim(std::string_view s) {
  const absl::string_view trimmed =
      absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size()));
  return std::string_view(trimmed.data(), trimmed.size());
}

absl::StatusOr<FileAck> ParseJsonAck(std::string_view json) {
  google::protobuf::Struct object;
  // The parser's own message quotes the input: say only that it is not JSON.
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &object).ok()) {
    return absl::InvalidArgumentError(
        "the ack file starts with '{' but is not a valid JSON object");
  }
  FileAck ack;
  bool has_kind = false;
  for (const auto& [key, value] : object.fields()) {
    if (key == "kind") {
      if (value.kind_case() != google::protobuf::Value::kStringValue) {
        return absl::InvalidArgumentError("\"kind\" must be a string");
      }
      auto kind = KindFromWord(value.string_value());
      if (!kind.ok()) return kind.status();
      ack.kind = *kind;
      has_kind = true;
    } else if (key == "note") {
      if (value.kind_case() != google::protobuf::Value::kStringValue) {
        return absl::InvalidArgumentError("\"note\" must be a string");
      }
      ack.note = value.string_value();
    } else {
      return absl::InvalidArgumentError(
          "unknown field in the ack file (only \"kind\" and \"note\" are allowed; "
          "names are case-sensitive)");
    }
  }
  if (!has_kind) return absl::InvalidArgumentError("the ack file has no \"kind\"");
  return ack;
}

absl::StatusOr<FileAck> ParseWordAck(std::string_view text) {
  const size_t eol = text.find('\n');
  FileAck ack;
  auto kind = KindFromWord(Trim(text.substr(0, eol)));
  if (!kind.ok()) return kind.status();
  ack.kind = *kind;
  if (eol != std::string_view::npos) ack.note = std::string(Trim(text.substr(eol + 1)));
  return ack;
}

}  // namespace

bool IsValidDeliveryId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDeliveryIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

AckFileName ClassifyAckFileName(std::string_view file_name) {
  AckFileName result;
  // Dotfiles are the partner's (or our) files being written.
  if (file_name.empty() || file_name.front() == '.') return result;
  const std::string_view suffix = kAckSuffix;
  if (file_name.size() <= suffix.size() || !file_name.ends_with(suffix)) return result;
  const std::string_view id = file_name.substr(0, file_name.size() - suffix.size());
  if (!IsValidDeliveryId(id)) {
    result.what = AckFileName::kInvalidId;
    return result;
  }
  result.what = AckFileName::kAck;
  result.delivery_id = std::string(id);
  return result;
}

absl::StatusOr<FileAck> ParseAckFile(std::string_view content) {
  if (content.size() > kMaxAckFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ack file is ", content.size(), " bytes; at most ", kMaxAckFileBytes, " are allowed"));
  }
  // Editors on Windows may start the file with a byte order mark.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (content.starts_with(kBom)) content.remove_prefix(kBom.size());
  content = Trim(content);
  if (content.empty()) return absl::InvalidArgumentError("the ack file is empty");
  auto ack = content.front() == '{' ? ParseJsonAck(content) : ParseWordAck(content);
  if (!ack.ok()) return ack.status();
  if (ack->kind == ::hart::v1::Acknowledgement::DECLINED && Trim(ack->note).empty()) {
    return absl::InvalidArgumentError("a DECLINED acknowledgement needs a note giving the reason");
  }
  return ack;
}

}  // namespace hart::adapters::file_drop
