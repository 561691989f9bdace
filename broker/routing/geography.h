// Who serves which Connecticut town: the geography and agency tables of the
// config, indexed for routing. Town names and aliases match
// case-insensitively; agencies of statewide kinds (task force, CSAO, NCMEC,
// coordinator) serve every town.
//
// Immutable after Build(); safe to share between threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

namespace cfg = ::hart::config::v1;

class Geography {
 public:
  // Indexes `config` (which must outlive the Geography). Every problem found
  // (unknown agency ids, wrong agency kinds, duplicate names) is appended to
  // `problems`; the result is usable only if none was.
  static Geography Build(const cfg::BrokerConfig& config,
                         std::vector<std::string>* problems);

  // The town `name` (or a village of it) denotes, or nullptr.
  const cfg::Town* ResolveTown(std::string_view name) const;
  const cfg::Agency* FindAgency(std::string_view id) const;
  const cfg::Region* FindRegion(uint32_t number) const;

  // The agency of `kind` serving `town`: police, MDT and CAC from the town,
  // the HART lead from its region, otherwise the statewide agency of that
  // kind. NOT_FOUND with a message naming town and kind if none.
  absl::StatusOr<const cfg::Agency*> AgencyFor(
      hart::referral::v1::AgencyKind kind, const cfg::Town& town) const;

  const std::vector<const cfg::Town*>& towns() const { return towns_; }

 private:
  std::map<std::string, const cfg::Town*, std::less<>> towns_by_name_;  // lower-case
  std::map<std::string, const cfg::Agency*, std::less<>> agencies_;
  std::map<uint32_t, const cfg::Region*> regions_;
  std::map<int, const cfg::Agency*> statewide_;  // by AgencyKind
  std::vector<const cfg::Town*> towns_;
};

}  // namespace hart
