#include "tests/bench/agency_adapters.h"

#include "absl/strings/str_cat.h"
#include "broker/config/config_loader.h"

namespace hart::bench {

absl::StatusOr<std::vector<AgencyAdapter>> ReadAgencyAdapters(const std::string& config_path) {
  auto config = hart::ParseConfigFile(config_path);
  if (!config.ok()) return config.status();
  std::vector<AgencyAdapter> agencies;
  for (const auto& agency : config->agencies()) {
    if (agency.adapter().type().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          config_path, ": agency '", agency.id(), "' has no adapter.type (e.g. grpc_feed)"));
    }
    agencies.push_back({agency.id(), agency.adapter().type()});
  }
  if (agencies.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(config_path, " lists no agencies"));
  }
  return agencies;
}

namespace {

std::vector<std::string> IdsWhereFeedIs(const std::vector<AgencyAdapter>& agencies, bool feed) {
  std::vector<std::string> ids;
  for (const auto& agency : agencies) {
    if ((agency.adapter_type == kFeedAdapterType) == feed) ids.push_back(agency.agency_id);
  }
  return ids;
}

}  // namespace

std::vector<std::string> FeedAgencyIds(const std::vector<AgencyAdapter>& agencies) {
  return IdsWhereFeedIs(agencies, true);
}

std::vector<std::string> PushAgencyIds(const std::vector<AgencyAdapter>& agencies) {
  return IdsWhereFeedIs(agencies, false);
}

}  // namespace hart::bench
