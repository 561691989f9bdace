#include "broker/intake/supplement_merge.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"
#include "broker/intake/intake_validator.h"

namespace hart {

namespace v1 = ::hart::referral::v1;

std::vector<FieldViolation> ValidateSupplement(const v1::Supplement& s,
                                               const Geography& geography, absl::Time now) {
  std::vector<FieldViolation> v;
  if (s.supplement_id().empty()) {
    v.push_back({"supplement.supplementId", "is required: a unique id for this supplement"});
  } else if (s.supplement_id().size() > kMaxShortTextBytes) {
    v.push_back({"supplement.supplementId",
                 absl::StrCat("is longer than ", kMaxShortTextBytes, " bytes")});
  }
  if (!s.has_received_at()) {
    v.push_back({"supplement.receivedAt", "is required: when the Careline received the facts"});
  } else if (FromProtoTime(s.received_at()) > now + kAllowedClockSkew) {
    v.push_back({"supplement.receivedAt", "is in the future"});
  }
  if (s.has_missing_since()) {
    if (s.child_found()) {
      v.push_back({"supplement.missingSince",
                   "cannot be set together with childFound; send one or the other"});
    }
    if (FromProtoTime(s.missing_since()) > now + kAllowedClockSkew) {
      v.push_back({"supplement.missingSince", "is in the future"});
    }
  }
  if (!s.town().empty() && geography.ResolveTown(s.town()) == nullptr) {
    v.push_back({"supplement.town",
                 "is not a Connecticut town or village the broker knows; check the spelling"});
  }
  for (int i = 0; i < s.add_red_flags_size(); ++i) {
    if (s.add_red_flags(i) == v1::RedFlag::RED_FLAG_UNSPECIFIED) {
      v.push_back({absl::StrCat("supplement.addRedFlags[", i, "]"), "must name a red flag"});
    }
  }
  for (int i = 0; i < s.add_venues_size(); ++i) {
    if (s.add_venues(i) == v1::Venue::VENUE_UNSPECIFIED) {
      v.push_back({absl::StrCat("supplement.addVenues[", i, "]"), "must name a venue"});
    }
  }
  if (s.narrative_addendum().size() > kMaxNarrativeBytes) {
    v.push_back({"supplement.narrativeAddendum",
                 absl::StrCat("is longer than ", kMaxNarrativeBytes, " bytes")});
  }
  return v;
}

MergedIntake MergeSupplement(const v1::Intake& intake, const v1::Supplement& s) {
  MergedIntake out{intake, {}};
  v1::Intake& m = out.intake;
  auto changed = [&](const char* path) { out.changed_fields.push_back(path); };
  if (s.child_found() && m.missing().is_missing()) {
    m.mutable_missing()->set_is_missing(false);
    m.mutable_missing()->clear_missing_since();
    changed("missing.is_missing");
  }
  if (s.has_missing_since()) {
    if (!m.missing().is_missing()) changed("missing.is_missing");
    if (!m.missing().has_missing_since() ||
        m.missing().missing_since().SerializeAsString() != s.missing_since().SerializeAsString()) {
      changed("missing.missing_since");
    }
    m.mutable_missing()->set_is_missing(true);
    *m.mutable_missing()->mutable_missing_since() = s.missing_since();
  }
  if (s.trafficking_type() != v1::TraffickingType::TRAFFICKING_TYPE_UNSPECIFIED &&
      s.trafficking_type() != m.concern().trafficking_type()) {
    m.mutable_concern()->set_trafficking_type(s.trafficking_type());
    changed("concern.trafficking_type");
  }
  bool flags_added = false;
  for (int flag : s.add_red_flags()) {
    const auto& flags = m.concern().red_flags();
    if (std::find(flags.begin(), flags.end(), flag) == flags.end()) {
      m.mutable_concern()->add_red_flags(static_cast<v1::RedFlag::Value>(flag));
      flags_added = true;
    }
  }
  if (flags_added) changed("concern.red_flags");
  bool venues_added = false;
  for (int venue : s.add_venues()) {
    const auto& venues = m.concern().venues();
    if (std::find(venues.begin(), venues.end(), venue) == venues.end()) {
      m.mutable_concern()->add_venues(static_cast<v1::Venue::Value>(venue));
      venues_added = true;
    }
  }
  if (venues_added) changed("concern.venues");
  if (!s.town().empty() && s.town() != m.child().town()) {
    m.mutable_child()->set_town(s.town());
    changed("child.town");
  }
  if (s.immediate_danger() && !m.immediate_danger()) {
    m.set_immediate_danger(true);
    changed("immediate_danger");
  }
  if (s.has_dcf_involved() && s.dcf_involved() != m.child().dcf_involved()) {
    m.mutable_child()->set_dcf_involved(s.dcf_involved());
    changed("child.dcf_involved");
  }
  if (!s.narrative_addendum().empty()) {
    std::string narrative = m.concern().narrative();
    if (!narrative.empty()) narrative += "\n\n";
    absl::StrAppend(&narrative, "[supplement ", s.supplement_id(), ", ",
                    FormatRfc3339(FromProtoTime(s.received_at())), "] ", s.narrative_addendum());
    m.mutable_concern()->set_narrative(narrative);
    changed("concern.narrative");
  }
  return out;
}

}  // namespace hart
