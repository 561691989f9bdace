// Conversions between absl::Time and protobuf timestamps/durations, and the
// human wording of durations used in explanations.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace hart {

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& ts);
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);
google::protobuf::Duration ToProtoDuration(absl::Duration d);

// "71 h 59 m", "45 m", "3 d 4 h": how explanations word a duration.
std::string HumanDuration(absl::Duration d);

// RFC 3339 in UTC with seconds, e.g. "2026-11-20T14:03:00Z".
std::string FormatRfc3339(absl::Time t);

}  // namespace hart
