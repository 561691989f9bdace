#include "broker/routing/geography.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hart {

namespace v1 = ::hart::referral::v1;

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  absl::AsciiStrToLower(&out);
  return out;
}
}  // namespace

Geography Geography::Build(const cfg::BrokerConfig& config,
                           std::vector<std::string>* problems) {
  Geography g;
  for (const auto& agency : config.agencies()) {
    if (!g.agencies_.emplace(agency.id(), &agency).second) {
      problems->push_back(absl::StrCat("agency id '", agency.id(), "' is defined twice"));
    }
    if (agency.statewide()) {
      auto [it, inserted] = g.statewide_.emplace(agency.kind(), &agency);
      if (!inserted) {
        problems->push_back(absl::StrCat(
            "agencies '", it->second->id(), "' and '", agency.id(),
            "' are both statewide for kind ", v1::AgencyKind_Name(agency.kind()),
            "; keep one"));
      }
    }
  }
  for (const auto& region : config.regions()) {
    if (!g.regions_.emplace(region.number(), &region).second) {
      problems->push_back(absl::StrCat("region ", region.number(), " is defined twice"));
    }
    const auto* lead = g.FindAgency(region.hart_lead());
    if (lead == nullptr) {
      problems->push_back(absl::StrCat("region ", region.number(), ": hart_lead '",
                                       region.hart_lead(), "' is not an agency"));
    } else if (lead->kind() != v1::HART_REGIONAL_LEAD) {
      problems->push_back(absl::StrCat("region ", region.number(), ": hart_lead '",
                                       region.hart_lead(),
                                       "' is not of kind HART_REGIONAL_LEAD"));
    }
  }
  auto check_agency = [&](const cfg::Town& town, const char* role,
                          const std::string& id, v1::AgencyKind kind) {
    const auto* agency = g.FindAgency(id);
    if (id.empty()) {
      problems->push_back(absl::StrCat("town '", town.name(), "' has no ", role));
    } else if (agency == nullptr) {
      problems->push_back(absl::StrCat("town '", town.name(), "': ", role, " '", id,
                                       "' is not an agency"));
    } else if (agency->kind() != kind) {
      problems->push_back(absl::StrCat("town '", town.name(), "': ", role, " '", id,
                                       "' is not of kind ", v1::AgencyKind_Name(kind)));
    }
  };
  for (const auto& town : config.towns()) {
    g.towns_.push_back(&town);
    std::vector<std::string> names = {town.name()};
    names.insert(names.end(), town.aliases().begin(), town.aliases().end());
    for (const auto& name : names) {
      if (!g.towns_by_name_.emplace(Lower(name), &town).second) {
        problems->push_back(absl::StrCat("town or alias '", name, "' is listed twice"));
      }
    }
    if (g.FindRegion(town.region()) == nullptr) {
      problems->push_back(absl::StrCat("town '", town.name(), "': region ",
                                       town.region(), " is not defined"));
    }
    if (town.area_office().empty()) {
      problems->push_back(absl::StrCat("town '", town.name(), "' has no area_office"));
    }
    check_agency(town, "police", town.police(), v1::LOCAL_LAW_ENFORCEMENT);
    check_agency(town, "mdt", town.mdt(), v1::MDT);
    check_agency(town, "cac", town.cac(), v1::CAC);
  }
  return g;
}

const cfg::Town* Geography::ResolveTown(std::string_view name) const {
  std::string key = Lower(name);
  absl::StripAsciiWhitespace(&key);
  auto it = towns_by_name_.find(key);
  return it == towns_by_name_.end() ? nullptr : it->second;
}

const cfg::Agency* Geography::FindAgency(std::string_view id) const {
  auto it = agencies_.find(id);
  return it == agencies_.end() ? nullptr : it->second;
}

const cfg::Region* Geography::FindRegion(uint32_t number) const {
  auto it = regions_.find(number);
  return it == regions_.end() ? nullptr : it->second;
}

absl::StatusOr<const cfg::Agency*> Geography::AgencyFor(
    v1::AgencyKind kind, const cfg::Town& town) const {
  std::string id;
  switch (kind) {
    case v1::LOCAL_LAW_ENFORCEMENT: id = town.police(); break;
    case v1::MDT: id = town.mdt(); break;
    case v1::CAC: id = town.cac(); break;
    case v1::HART_REGIONAL_LEAD:
      if (const auto* region = FindRegion(town.region())) id = region->hart_lead();
      break;
    default: {
      auto it = statewide_.find(kind);
      if (it != statewide_.end()) return it->second;
    }
  }
  if (const auto* agency = FindAgency(id)) return agency;
  return absl::NotFoundError(absl::StrCat("no agency of kind ",
                                          v1::AgencyKind_Name(kind),
                                          " serves town '", town.name(), "'"));
}

}  // namespace hart
