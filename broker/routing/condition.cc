#include "broker/routing/condition.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/time_util.h"
#include "broker/routing/child_age.h"

namespace hart {
namespace {

namespace v1 = ::hart::referral::v1;
namespace cfg = ::hart::config::v1;

std::string JoinNames(const google::protobuf::RepeatedField<int>& values,
                      const google::protobuf::EnumDescriptor* descriptor) {
  std::vector<std::string> names;
  for (int v : values) {
    const auto* value = descriptor->FindValueByNumber(v);
    names.push_back(value ? value->name() : absl::StrCat(v));
  }
  return absl::StrJoin(names, ", ");
}

bool Contains(const google::protobuf::RepeatedField<int>& values, int v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// A verdict keeps the clauses that held or those that failed, never both:
// only the text that applies is built (routing runs for every intake), and
// none when the reasons go unsaid.
class Evaluation {
 public:
  explicit Evaluation(Reasons reasons) : said_(reasons == Reasons::kSaid) {}

  bool said() const { return said_; }
  void Clause(bool held, std::string_view held_text, std::string_view failed_text) {
    failed_any_ |= !held;
    if (said_) (held ? held_ : failed_).emplace_back(held ? held_text : failed_text);
  }
  // The texts as callables returning std::string, called only if they apply.
  template <typename HeldText, typename FailedText>
    requires std::is_invocable_r_v<std::string, HeldText> &&
             std::is_invocable_r_v<std::string, FailedText>
  void Clause(bool held, HeldText&& held_text, FailedText&& failed_text) {
    failed_any_ |= !held;
    if (!said_) return;
    if (held) {
      held_.push_back(held_text());
    } else {
      failed_.push_back(failed_text());
    }
  }
  ConditionResult Result() && {
    if (!failed_any_) return {true, std::move(held_)};
    return {false, std::move(failed_)};
  }

 private:
  bool said_;
  bool failed_any_ = false;
  std::vector<std::string> held_;
  std::vector<std::string> failed_;
};

// The names of `flags`, those in `of` (`in_of`) or those not in it.
std::string FlagNames(const google::protobuf::RepeatedField<int>& flags,
                      const google::protobuf::RepeatedField<int>& of, bool in_of) {
  std::vector<std::string> names;
  for (int flag : flags) {
    if (Contains(of, flag) == in_of) {
      names.push_back(v1::RedFlag::Value_Name(static_cast<v1::RedFlag::Value>(flag)));
    }
  }
  return absl::StrJoin(names, ", ");
}

void EvaluateAge(const cfg::Condition& c, const v1::Intake& intake,
                 Evaluation* e) {
  if (!c.has_child_age_under() && !c.has_child_age_at_least()) return;
  const auto age = ChildAgeYears(intake.child(), FromProtoTime(intake.received_at()));
  if (c.has_child_age_under()) {
    if (!age) {
      e->Clause(false, "", "child's age is unknown");
    } else {
      e->Clause(
          *age < static_cast<int>(c.child_age_under()),
          [&] { return absl::StrCat("child is ", *age, ", under ", c.child_age_under()); },
          [&] {
            return absl::StrCat("child is ", *age, ", rule needs under ", c.child_age_under());
          });
    }
  }
  if (c.has_child_age_at_least()) {
    if (!age) {
      e->Clause(false, "", "child's age is unknown");
    } else {
      e->Clause(
          *age >= static_cast<int>(c.child_age_at_least()),
          [&] { return absl::StrCat("child is ", *age, ", at least ", c.child_age_at_least()); },
          [&] {
            return absl::StrCat("child is ", *age, ", rule needs at least ",
                                c.child_age_at_least());
          });
    }
  }
}

void EvaluateMissingFor(const cfg::Condition& c, const v1::Intake& intake,
                        absl::Time now, Evaluation* e) {
  if (!c.has_missing_for_at_least_hours()) return;
  const absl::Duration needed = absl::Hours(c.missing_for_at_least_hours());
  const uint32_t hours = c.missing_for_at_least_hours();
  if (!intake.missing().is_missing() || !intake.missing().has_missing_since()) {
    e->Clause(false, "", absl::StrCat("no missing-since time, rule needs ", hours, " h"));
    return;
  }
  const absl::Duration missing_for =
      now - FromProtoTime(intake.missing().missing_since());
  e->Clause(
      missing_for >= needed,
      [&] {
        return absl::StrCat("missing ", HumanDuration(missing_for), ", at least ", hours, " h");
      },
      [&] {
        return absl::StrCat("missing ", HumanDuration(missing_for), ", rule needs ", hours, " h");
      });
}

}  // namespace

ConditionResult EvaluateCondition(const cfg::Condition& c, const v1::Intake& intake,
                                  absl::Time now, Reasons reasons) {
  Evaluation e(reasons);
  const auto& concern = intake.concern();
  if (!c.trafficking_type_in().empty()) {
    const auto type = concern.trafficking_type();
    const std::string& type_name = v1::TraffickingType::Value_Name(type);
    e.Clause(Contains(c.trafficking_type_in(), type),
             [&] { return absl::StrCat("trafficking type is ", type_name); },
             [&] {
               return absl::StrCat(
                   "trafficking type is ", type_name, ", rule needs one of ",
                   JoinNames(c.trafficking_type_in(), v1::TraffickingType::Value_descriptor()));
             });
  }
  if (c.has_dcf_involved()) {
    const bool involved = intake.child().dcf_involved();
    e.Clause(involved == c.dcf_involved(),
             involved ? "child is DCF-involved" : "child is not DCF-involved",
             involved ? "child is DCF-involved" : "child is not DCF-involved");
  }
  if (c.has_is_missing()) {
    const bool missing = intake.missing().is_missing();
    const char* text = missing ? "child is reported missing" : "child is not reported missing";
    e.Clause(missing == c.is_missing(), text, text);
  }
  if (c.has_immediate_danger()) {
    const bool danger = intake.immediate_danger();
    const char* text = danger ? "immediate danger reported" : "no immediate danger reported";
    e.Clause(danger == c.immediate_danger(), text, text);
  }
  EvaluateMissingFor(c, intake, now, &e);
  EvaluateAge(c, intake, &e);
  if (!c.any_red_flag_in().empty()) {
    const auto& reported = concern.red_flags();
    const bool any = std::any_of(reported.begin(), reported.end(),
                                 [&](int flag) { return Contains(c.any_red_flag_in(), flag); });
    e.Clause(
        any,
        [&] {
          return absl::StrCat("red flags reported: ",
                              FlagNames(reported, c.any_red_flag_in(), true));
        },
        [&] {
          return absl::StrCat("none of the red flags ",
                              JoinNames(c.any_red_flag_in(), v1::RedFlag::Value_descriptor()),
                              " reported");
        });
  }
  if (!c.all_red_flags_in().empty()) {
    const auto& needed = c.all_red_flags_in();
    const bool all = std::all_of(needed.begin(), needed.end(), [&](int flag) {
      return Contains(concern.red_flags(), flag);
    });
    e.Clause(
        all,
        [&] {
          return absl::StrCat("red flags reported: ",
                              JoinNames(needed, v1::RedFlag::Value_descriptor()));
        },
        [&] {
          return absl::StrCat("red flags not reported: ",
                              FlagNames(needed, concern.red_flags(), false));
        });
  }
  if (c.has_has_red_flag()) {
    const bool any = !concern.red_flags().empty();
    e.Clause(
        any == c.has_red_flag(),
        [&] {
          return any ? absl::StrCat("red flags reported: ",
                                    JoinNames(concern.red_flags(), v1::RedFlag::Value_descriptor()))
                     : std::string("no red flags reported");
        },
        [&] { return std::string(any ? "red flags reported" : "no red flags reported"); });
  }
  if (!c.placement_in().empty()) {
    const auto placement = intake.child().placement();
    const std::string& name = v1::Placement::Value_Name(placement);
    e.Clause(Contains(c.placement_in(), placement),
             [&] { return absl::StrCat("placement is ", name); },
             [&] {
               return absl::StrCat("placement is ", name, ", rule needs one of ",
                                   JoinNames(c.placement_in(), v1::Placement::Value_descriptor()));
             });
  }
  if (!c.reporter_role_in().empty()) {
    const auto role = intake.reporter().role();
    const std::string& name = v1::Reporter::Role_Name(role);
    e.Clause(Contains(c.reporter_role_in(), role),
             [&] { return absl::StrCat("reporter role is ", name); },
             [&] {
               return absl::StrCat(
                   "reporter role is ", name, ", rule needs one of ",
                   JoinNames(c.reporter_role_in(), v1::Reporter::Role_descriptor()));
             });
  }
  if (!c.any_of().empty() && !e.said()) {
    e.Clause(std::any_of(c.any_of().begin(), c.any_of().end(),
                         [&](const cfg::Condition& alternative) {
                           return EvaluateCondition(alternative, intake, now, Reasons::kUnsaid)
                               .holds;
                         }),
             "", "");
  } else if (!c.any_of().empty()) {
    std::vector<std::string> alternatives;
    bool any_held = false;
    std::vector<std::string> first_held;
    for (const auto& alternative : c.any_of()) {
      ConditionResult r = EvaluateCondition(alternative, intake, now);
      if (r.holds && !any_held) {
        any_held = true;
        first_held = r.reasons;
      }
      alternatives.push_back(absl::StrJoin(r.reasons, " and "));
    }
    e.Clause(
        any_held, [&] { return absl::StrJoin(first_held, " and "); },
        [&] {
          return absl::StrCat("none of the alternatives holds: ",
                              absl::StrJoin(alternatives, "; "));
        });
  }
  return std::move(e).Result();
}

}  // namespace hart
