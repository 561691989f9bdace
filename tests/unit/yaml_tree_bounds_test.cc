// A config file cannot hold the broker with YAML aliases that multiply a
// small file into a huge tree, or with nesting deep enough to exhaust a
// recursive walk: both are refused, with the place, before anything maps it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "broker/config/config_loader.h"
#include "broker/config/yaml_tree_bounds.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::HasSubstr;
using hart::testing::SourcePath;
using hart::testing::TempDir;

// Nine levels of ten aliases each: about 10^9 values once expanded, in
// under a kilobyte ("billion laughs").
std::string BillionLaughs() {
  std::string yaml = "towns: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    absl::StrAppend(&yaml, "l", level, ": &l", level, " [");
    for (int i = 0; i < 10; ++i) absl::StrAppend(&yaml, i ? ", " : "", "*l", level - 1);
    absl::StrAppend(&yaml, "]\n");
  }
  return yaml;
}

TEST(YamlTreeBoundsTest, AFileOfNestedAliasesIsRefusedBeforeItIsMapped) {
  TempDir dir;
  const std::string path = dir.path() + "/laughs.yaml";
  std::ofstream(path) << BillionLaughs();
  auto config = ParseConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr(path + ":"));
  EXPECT_THAT(message, HasSubstr("more than 100000 keys, values and list items"));
  EXPECT_THAT(message, HasSubstr("alias"));
}

TEST(YamlTreeBoundsTest, DeepNestingIsRefusedWithThePlaceItGoesTooDeep) {
  TempDir dir;
  const std::string path = dir.path() + "/deep.yaml";
  // Line 2: 100 nested lists, inside what the YAML parser accepts.
  std::ofstream(path) << "# deep\nrules: " << std::string(100, '[') << std::string(100, ']')
                      << "\n";
  auto config = ParseConfigFile(path);
  ASSERT_FALSE(config.ok());
  // Below the root map, the n-th list is n levels deep and opens at column
  // 7 + n: the 65th is the first too deep.
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path + ":2:72: nested more than 64 levels deep"));
}

TEST(YamlTreeBoundsTest, NestingPastTheParsersOwnLimitIsNamedAsSuch) {
  TempDir dir;
  const std::string path = dir.path() + "/deeper.yaml";
  std::ofstream(path) << "rules: " << std::string(1000, '[') << std::string(1000, ']') << "\n";
  auto config = ParseConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr(path + ":1:"));
  EXPECT_THAT(message, HasSubstr("nested too deeply for the YAML parser"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("bad file")));
}

TEST(YamlTreeBoundsTest, AnAliasInsideItsOwnAnchorIsRefusedNotFollowedForever) {
  TempDir dir;
  for (const std::string yaml : {"towns: &t [1, *t]\n", "towns: &t {name: *t}\n"}) {
    const std::string path = dir.path() + "/cycle.yaml";
    std::ofstream(path) << yaml;
    auto config = ParseConfigFile(path);
    ASSERT_FALSE(config.ok()) << yaml;
    EXPECT_THAT(std::string(config.status().message()),
                HasSubstr(path + ":1:8: nested more than 64 levels deep"))
        << yaml;
  }
}

TEST(YamlTreeBoundsTest, AliasesCountAsCopiesOfTheirAnchorsSubtree) {
  // Root map, 2 keys, the anchored list (1 + 3 items), the alias (1 + 3).
  const YAML::Node root = YAML::Load("a: &list [1, 2, 3]\nb: *list\n");
  EXPECT_TRUE(CheckYamlTreeBounds(root, {.max_values = 11, .max_depth = 2}).ok());
  const absl::Status over = CheckYamlTreeBounds(root, {.max_values = 10, .max_depth = 2});
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.message(), HasSubstr("more than 10 keys, values and list items"));
  EXPECT_FALSE(CheckYamlTreeBounds(root, {.max_values = 11, .max_depth = 1}).ok());
}

TEST(YamlTreeBoundsTest, LongKeysRepeatedByAliasesAreBoundedByTheirPathsLength) {
  // Each value's key path as problems name it: "a" 1, "a.kkkk" 6, "b" 1,
  // "b.kkkk" 6, "c" 1, "c[0]" 4, "c[0].kkkk" 9, "c[1]" 4, "c[1].kkkk" 9.
  const YAML::Node root = YAML::Load("a: &m {kkkk: 1}\nb: *m\nc: [*m, *m]\n");
  EXPECT_TRUE(CheckYamlTreeBounds(root, {.max_key_path_bytes = 41}).ok());
  const absl::Status over = CheckYamlTreeBounds(root, {.max_key_path_bytes = 40});
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.message(), HasSubstr("add up to more than 40 characters"));
}

TEST(YamlTreeBoundsTest, TheShippedConnecticutConfigIsWellInsideTheBounds) {
  const YAML::Node root = YAML::LoadFile(SourcePath("deploy/config/connecticut.yaml"));
  // A tenth of the default bounds or less: room for a config many times its size.
  const YamlTreeLimits tenth = {
      .max_values = 10'000, .max_depth = 10, .max_key_path_bytes = 1 << 20};
  EXPECT_TRUE(CheckYamlTreeBounds(root, tenth).ok());
}

}  // namespace
}  // namespace hart
