#include "adapters/ncmec/report_xml.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/ncmec/xml_text.h"
#include "broker/common/time_util.h"

namespace hart::adapters::ncmec {
namespace {

namespace rv1 = ::hart::referral::v1;

// Appends <tag>escaped text</tag> at `indent`, or nothing for empty text.
void Element(std::string& xml, int indent, absl::string_view tag, absl::string_view text) {
  if (text.empty()) return;
  absl::StrAppend(&xml, std::string(indent, ' '), "<", tag, ">", EscapeXml(text), "</", tag,
                  ">\n");
}

void Open(std::string& xml, int indent, absl::string_view tag) {
  absl::StrAppend(&xml, std::string(indent, ' '), "<", tag, ">\n");
}

void Close(std::string& xml, int indent, absl::string_view tag) {
  absl::StrAppend(&xml, std::string(indent, ' '), "</", tag, ">\n");
}

template <class NameOf>
std::string EnumList(const google::protobuf::RepeatedField<int>& values, NameOf name_of) {
  std::vector<std::string> names;
  for (int v : values) names.push_back(name_of(v));
  return absl::StrJoin(names, ", ");
}

std::string YesNo(bool b) { return b ? "yes" : "no"; }

void AppendReporter(std::string& xml, const rv1::ReferralDelivery& message,
                    const v1::NcmecSettings& settings) {
  const v1::ReportingOrganization& org = settings.reporter();
  Open(xml, 2, "reporter");
  Open(xml, 4, "reportingPerson");
  Element(xml, 6, "firstName", org.first_name().empty() ? "Careline" : org.first_name());
  Element(xml, 6, "lastName", org.last_name().empty() ? "Desk" : org.last_name());
  Element(xml, 6, "email", org.email());
  Element(xml, 6, "phone", org.phone());
  Close(xml, 4, "reportingPerson");
  Element(xml, 4, "organizationName", org.organization_name());
  Element(xml, 4, "reporterReference", message.delivery_id());
  Close(xml, 2, "reporter");
}

void AppendVictim(std::string& xml, const rv1::Intake& intake, const v1::NcmecSettings& settings) {
  if (!intake.has_child()) return;
  const rv1::Child& child = intake.child();
  Open(xml, 2, "victim");
  Open(xml, 4, "victimPerson");
  Element(xml, 6, "firstName", child.given_name());
  Element(xml, 6, "lastName", child.family_name());
  if (child.has_age_years()) Element(xml, 6, "age", absl::StrCat(child.age_years()));
  Element(xml, 6, "dateOfBirth", child.date_of_birth());
  if (!child.town().empty()) {
    Open(xml, 6, "address");
    Element(xml, 8, "city", child.town());
    Element(xml, 8, "state", settings.state().empty() ? "CT" : settings.state());
    Element(xml, 8, "country", "US");
    Close(xml, 6, "address");
  }
  Close(xml, 4, "victimPerson");
  Close(xml, 2, "victim");
}

// Facts without a place in the schema, one per line, so an analyst reads
// them in one glance.
std::string AdditionalInfo(const rv1::ReferralDelivery& message) {
  const rv1::ReferralView& view = message.referral();
  const rv1::Intake& intake = view.intake();
  std::vector<std::string> lines;
  lines.push_back(absl::StrCat("Connecticut HART referral ", message.referral_id(),
                               "; delivery ", message.delivery_id(),
                               intake.careline_report_id().empty()
                                   ? std::string()
                                   : absl::StrCat("; Careline report ",
                                                  intake.careline_report_id())));
  if (message.kind() == rv1::UPDATE) {
    lines.push_back(absl::StrCat("Update to an earlier report about this referral; changed: ",
                                 absl::StrJoin(message.changes(), ", ")));
  }
  if (view.priority() == rv1::URGENT || intake.immediate_danger()) {
    lines.push_back("URGENT: immediate danger reported");
  }
  if (view.has_delivery_deadline()) {
    lines.push_back(absl::StrCat("Report due by ",
                                 FormatRfc3339(FromProtoTime(view.delivery_deadline()))));
  }
  if (intake.missing().is_missing()) {
    lines.push_back(absl::StrCat(
        "Missing from care: yes",
        intake.missing().has_missing_since()
            ? absl::StrCat(", since ", FormatRfc3339(FromProtoTime(intake.missing().missing_since())))
            : std::string()));
  }
  const rv1::Concern& concern = intake.concern();
  if (concern.trafficking_type() != rv1::TraffickingType::TRAFFICKING_TYPE_UNSPECIFIED) {
    lines.push_back(absl::StrCat("Suspected trafficking type: ",
                                 rv1::TraffickingType::Value_Name(concern.trafficking_type())));
  }
  if (!concern.red_flags().empty()) {
    lines.push_back(absl::StrCat("Red flags: ", EnumList(concern.red_flags(), [](int v) {
                                   return rv1::RedFlag::Value_Name(v);
                                 })));
  }
  if (!concern.venues().empty()) {
    lines.push_back(absl::StrCat("Venues: ", EnumList(concern.venues(), [](int v) {
                                   return rv1::Venue::Value_Name(v);
                                 })));
  }
  if (intake.has_child()) {
    const rv1::Child& child = intake.child();
    std::vector<std::string> about;
    if (child.gender() != rv1::Gender::GENDER_UNSPECIFIED) {
      about.push_back(absl::StrCat("gender ", rv1::Gender::Value_Name(child.gender())));
    }
    if (!child.race().empty()) {
      about.push_back(absl::StrCat("race ", EnumList(child.race(), [](int v) {
                                     return rv1::Race::Value_Name(v);
                                   })));
    }
    if (child.ethnicity() != rv1::Ethnicity::ETHNICITY_UNSPECIFIED) {
      about.push_back(absl::StrCat("ethnicity ", rv1::Ethnicity::Value_Name(child.ethnicity())));
    }
    if (child.has_dcf_involved()) about.push_back(absl::StrCat("DCF involved ", YesNo(child.dcf_involved())));
    if (child.placement() != rv1::Placement::PLACEMENT_UNSPECIFIED) {
      about.push_back(absl::StrCat("placement ", rv1::Placement::Value_Name(child.placement())));
    }
    if (!child.dcf_case_id().empty()) about.push_back(absl::StrCat("DCF case ", child.dcf_case_id()));
    if (!about.empty()) lines.push_back(absl::StrCat("Child: ", absl::StrJoin(about, "; ")));
  }
  if (!concern.narrative().empty()) {
    lines.push_back(absl::StrCat("Narrative: ", concern.narrative()));
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace

std::string IncidentType(const rv1::Intake& intake) {
  const auto type = intake.concern().trafficking_type();
  if (type == rv1::TraffickingType::SEX || type == rv1::TraffickingType::SEX_AND_LABOR) {
    return "Child Sex Trafficking";
  }
  if (intake.missing().is_missing()) return "Child Missing From Care";
  if (type == rv1::TraffickingType::LABOR) return "Child Labor Trafficking";
  return "Suspected Child Trafficking";
}

absl::StatusOr<std::string> BuildReportXml(const rv1::ReferralDelivery& message,
                                           const v1::NcmecSettings& settings) {
  const rv1::ReferralView& view = message.referral();
  if (!view.has_intake()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "delivery ", message.delivery_id(),
        " carries no intake (sealed referral or a view without fields): nothing to report"));
  }
  const rv1::Intake& intake = view.intake();
  if (!intake.has_received_at()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "delivery ", message.delivery_id(),
        " lacks received_at, which every NCMEC report needs: add received_at to the NCMEC "
        "field view in the config"));
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  Open(xml, 0, "report");
  Open(xml, 2, "incidentSummary");
  Element(xml, 4, "incidentType", IncidentType(intake));
  Element(xml, 4, "incidentDateTime", FormatRfc3339(FromProtoTime(intake.received_at())));
  Element(xml, 4, "incidentDateTimeDescription",
          absl::StrCat("When ", settings.reporter().organization_name(),
                       " received the report"));
  Close(xml, 2, "incidentSummary");
  AppendReporter(xml, message, settings);
  AppendVictim(xml, intake, settings);
  Element(xml, 2, "additionalInfo", AdditionalInfo(message));
  Close(xml, 0, "report");
  return xml;
}

}  // namespace hart::adapters::ncmec
