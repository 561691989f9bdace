#include "broker/common/time_util.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace hart {

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

std::string HumanDuration(absl::Duration d) {
  const bool negative = d < absl::ZeroDuration();
  if (negative) d = -d;
  const int64_t total_minutes = absl::ToInt64Minutes(d);
  const int64_t days = total_minutes / (24 * 60);
  const int64_t hours = (total_minutes / 60) % 24;
  const int64_t minutes = total_minutes % 60;
  std::string out = negative ? "-" : "";
  if (days > 0) {
    // Past a few days, hours read better than days for the 72 h rule.
    if (days < 7) {
      absl::StrAppend(&out, days * 24 + hours, " h");
    } else {
      absl::StrAppend(&out, days, " d ", hours, " h");
    }
  } else if (hours > 0) {
    absl::StrAppend(&out, hours, " h");
  }
  if (minutes > 0 || out.empty() || out == "-") {
    if (!out.empty() && out != "-") out += " ";
    absl::StrAppend(&out, minutes, " m");
  }
  return out;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace hart
