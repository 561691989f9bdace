// The transport reference of a delivery put on an agency's feed, as stored
// in DeliveryRecord::transport_ref and shown to supervisors:
// "feed:<agency id>#<sequence>". Made in one place, for every backend.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace hart::feed {

inline std::string FormatReference(const std::string& agency_id, uint64_t sequence) {
  return absl::StrCat("feed:", agency_id, "#", sequence);
}

}  // namespace hart::feed
