// CompiledFieldMask gives byte for byte what FieldMaskUtil::MergeMessageTo
// gives (default options) for every field view of the Connecticut config on
// every example intake, and for masks that exercise each rule: a covered
// path inside another, a sub-path into a message the source lacks, repeated
// and scalar fields, a merge into a destination that already holds values.
#include "broker/views/compiled_field_mask.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "google/protobuf/util/field_mask_util.h"
#include "hart/referral/v1/intake.pb.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

namespace v1 = hart::referral::v1;
using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;
using hart::testing::ConnecticutConfig;
using hart::testing::LoadIntake;

const std::vector<std::string> &ExampleNames() {
  static const std::vector<std::string> names = {
      "invalid-adult-not-dcf", "labor-trafficking-waterbury", "missing-from-foster-care-new-haven",
      "school-sex-trafficking-hartford", "urgent-hotel-bridgeport"};
  return names;
}

FieldMask Mask(const std::vector<std::string> &paths) {
  FieldMask mask;
  for (const auto &path : paths) mask.add_paths(path);
  return mask;
}

// Both merges of `source` into a copy of `start`, serialized deterministically.
void ExpectSameMerge(const FieldMask &mask, const v1::Intake &source, const v1::Intake &start,
                     const std::string &what) {
  v1::Intake expected = start;
  FieldMaskUtil::MergeMessageTo(source, mask, FieldMaskUtil::MergeOptions(), &expected);
  v1::Intake actual = start;
  CompiledFieldMask::Compile(v1::Intake::descriptor(), mask).MergeMessageTo(source, &actual);
  std::string expected_bytes, actual_bytes;
  ASSERT_TRUE(expected.SerializePartialToString(&expected_bytes));
  ASSERT_TRUE(actual.SerializePartialToString(&actual_bytes));
  EXPECT_EQ(actual_bytes, expected_bytes) << what << "\nexpected: " << expected.ShortDebugString()
                                          << "\nactual:   " << actual.ShortDebugString();
}

TEST(CompiledFieldMaskTest, EveryConnecticutViewOnEveryExampleMergesAsFieldMaskUtil) {
  int views = 0;
  for (const auto &view : ConnecticutConfig().field_views()) {
    const FieldMask mask = Mask({view.include().begin(), view.include().end()});
    ASSERT_GT(mask.paths_size(), 0);
    ++views;
    for (const std::string &name : ExampleNames()) {
      ExpectSameMerge(mask, LoadIntake(name), v1::Intake(),
                      v1::AgencyKind_Name(view.kind()) + " on " + name);
    }
    ExpectSameMerge(mask, v1::Intake(), v1::Intake(), v1::AgencyKind_Name(view.kind()) + " on {}");
  }
  EXPECT_GE(views, 5) << "the Connecticut config has a view per agency kind";
}

TEST(CompiledFieldMaskTest, EachRuleOfTheMaskMergesAsFieldMaskUtil) {
  const v1::Intake full = LoadIntake("school-sex-trafficking-hartford");
  const v1::Intake other = LoadIntake("urgent-hotel-bridgeport");
  // Every top-level field, one at a time, onto an empty and onto a full one.
  const auto *type = v1::Intake::descriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldMask mask = Mask({type->field(i)->name()});
    ExpectSameMerge(mask, full, v1::Intake(), "field " + type->field(i)->name());
    ExpectSameMerge(mask, full, other, "field " + type->field(i)->name() + " onto another");
    ExpectSameMerge(mask, v1::Intake(), other, "unset field " + type->field(i)->name());
  }
  // A path inside a covered one, either order; a sub-path into a message
  // the source lacks; an unknown and an invalid sub-path (ignored).
  const auto *sub_field = [&]() -> const google::protobuf::FieldDescriptor * {
    for (int i = 0; i < type->field_count(); ++i) {
      const auto *f = type->field(i);
      if (!f->is_repeated() && f->message_type() != nullptr &&
          f->message_type()->field_count() > 0) {
        return f;
      }
    }
    return nullptr;
  }();
  ASSERT_NE(sub_field, nullptr) << "the intake has a singular message field";
  const std::string outer = sub_field->name();
  const std::string inner = outer + "." + sub_field->message_type()->field(0)->name();
  ExpectSameMerge(Mask({outer, inner}), full, v1::Intake(), "covered after");
  ExpectSameMerge(Mask({inner, outer}), full, v1::Intake(), "covered before");
  ExpectSameMerge(Mask({inner}), full, v1::Intake(), "sub-path");
  ExpectSameMerge(Mask({inner}), v1::Intake(), v1::Intake(), "sub-path into an absent message");
  ExpectSameMerge(Mask({"no_such_field", inner + ".deeper"}), full, v1::Intake(),
                  "unknown and invalid paths");
}

}  // namespace
}  // namespace hart
