// The names and content of the files a partner drops to acknowledge a
// delivery: `<deliveryId>.json.ack` holding either JSON
// {"kind": "RECEIVED"|"ACCEPTED"|"DECLINED", "note": "..."} or a bare kind
// word on the first line (any further lines are the note). DECLINED needs a
// note. Delivery ids in file names are checked before any path is built
// from them, so no name can reach outside the directory.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/records.h"

namespace hart::adapters::file_drop {

inline constexpr size_t kMaxDeliveryIdLength = 128;
// Far above a 4 KiB note; anything bigger is not an ack.
inline constexpr size_t kMaxAckFileBytes = 64 * 1024;

inline constexpr char kDeliverySuffix[] = ".json";
inline constexpr char kSignatureSuffix[] = ".json.sig";
inline constexpr char kAckSuffix[] = ".json.ack";
inline constexpr char kAckDoneSuffix[] = ".json.ack.done";
inline constexpr char kAckRejectedSuffix[] = ".json.ack.rejected";
inline constexpr char kAckErrorSuffix[] = ".json.ack.error";

// Only [A-Za-z0-9_-], 1 to kMaxDeliveryIdLength characters.
bool IsValidDeliveryId(std::string_view id);

struct AckFileName {
  enum Class {
    kNotAnAck,   // another file (a dotfile, a delivery, a .done ...): leave it
    kInvalidId,  // ends in .json.ack but the id is not a valid delivery id
    kAck,
  };
  Class what = kNotAnAck;
  std::string delivery_id;  // kAck only
};
AckFileName ClassifyAckFileName(std::string_view file_name);

struct FileAck {
  ::hart::v1::Acknowledgement::Kind kind = ::hart::v1::Acknowledgement::KIND_UNSPECIFIED;
  std::string note;
};

// INVALID_ARGUMENT saying what is wrong with the file; the message never
// quotes the content (the note may hold personal data).
absl::StatusOr<FileAck> ParseAckFile(std::string_view content);

}  // namespace hart::adapters::file_drop
