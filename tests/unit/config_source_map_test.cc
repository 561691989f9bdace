// Config problems name the file, line and column as well as the key path,
// both those the YAML mapping finds and those the checks after it find.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "adapters/builtin.h"
#include "broker/config/config_loader.h"
#include "broker/config/config_source_map.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::HasSubstr;
using hart::testing::SourcePath;
using hart::testing::TempDir;

// "line:column" (1-based) of the first `needle` in `text`, plus `offset`
// columns: where a problem about it must point.
std::string PlaceOf(const std::string& text, const std::string& needle, size_t offset = 0) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  const size_t line_start = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
  return absl::StrCat(line, ":", at - line_start + offset + 1);
}

class ConfigSourceMapTest : public ::testing::Test {
 protected:
  ConfigSourceMapTest() { EXPECT_TRUE(RegisterBuiltinAdapters(registry_, {}).ok()); }
  // The shipped Connecticut file with `from` replaced by `to`; the edited
  // text is kept in text_.
  std::string Edited(const std::string& from, const std::string& to) {
    text_ = hart::testing::ReadText(SourcePath("deploy/config/connecticut.yaml"));
    const size_t at = text_.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text_.replace(at, from.size(), to);
    const std::string path = dir_.path() + "/connecticut.yaml";
    std::ofstream(path) << text_;
    return path;
  }
  std::string Problems(const std::string& path) {
    auto config = LoadConfig(path, registry_);
    EXPECT_FALSE(config.ok());
    return std::string(config.status().message());
  }
  TempDir dir_;
  AdapterRegistry registry_;
  std::string text_;
};

TEST_F(ConfigSourceMapTest, AMisspelledKeyNamesItsLineAndColumn) {
  const std::string path = Edited("ack_deadline_normal: \"4h\"", "ack_deadlin_normal: \"4h\"");
  const std::string message = Problems(path);
  EXPECT_THAT(message, HasSubstr(absl::StrCat(path, ":", PlaceOf(text_, "ack_deadlin_normal"),
                                              ": rules[")));
  EXPECT_THAT(message, HasSubstr(".ack_deadlin_normal: unknown key"));
}

TEST_F(ConfigSourceMapTest, AnUnknownAgencyInARuleNamesTheDestination) {
  const std::string path = Edited("      - kind: HT_TASK_FORCE\n", "      - agency: no-such-agency\n");
  const std::string message = Problems(path);
  // A list item is where its first key is.
  EXPECT_THAT(message, HasSubstr(absl::StrCat(path, ":", PlaceOf(text_, "agency: no-such-agency"),
                                              ": rules[0].destinations[1] (rule 'ht-referral'): "
                                              "agency 'no-such-agency' is not defined")));
}

TEST_F(ConfigSourceMapTest, AProblemWithAnAgencyNamesWhereTheAgencyIsDefined) {
  // The first grpc_feed agency in the file is the task force.
  const std::string path = Edited("type: grpc_feed", "type: carrier_pigeon");
  EXPECT_THAT(Problems(path),
              HasSubstr(absl::StrCat(path, ":", PlaceOf(text_, "id: ct-ht-task-force"),
                                     ": agency 'ct-ht-task-force': adapter type 'carrier_pigeon'")));
}

TEST_F(ConfigSourceMapTest, AProblemAboutATownNamesTheTown) {
  const std::string path = Edited("police: hartford-pd", "police: hartford-sheriff");
  const std::string message = Problems(path);
  EXPECT_THAT(message, HasSubstr(absl::StrCat(path, ":", PlaceOf(text_, "- name: \"Hartford\"", 2),
                                              ": town 'Hartford': police 'hartford-sheriff'")));
}

TEST_F(ConfigSourceMapTest, AProblemNamingNothingInTheFileNamesTheFileOnly) {
  ConfigSourceMap map = ConfigSourceMap::Of(YAML::Load("rules: []\n"));
  EXPECT_EQ(map.Locate("a.yaml", "no towns are configured"), "a.yaml: no towns are configured");
}

TEST_F(ConfigSourceMapTest, TheLongestKeyPathWinsAndIndexesAreNotPrefixes) {
  std::string yaml = "rules:\n";
  for (int i = 0; i < 13; ++i) absl::StrAppend(&yaml, "  - id: r", i, "\n    when: {}\n");
  ConfigSourceMap map = ConfigSourceMap::Of(YAML::Load(yaml));
  EXPECT_EQ(map.Locate("a.yaml", "rules[12].when: bad"), "a.yaml:27:5: rules[12].when: bad");
  EXPECT_EQ(map.Locate("a.yaml", "rules[12]: bad"), "a.yaml:26:5: rules[12]: bad");
  EXPECT_EQ(map.Locate("a.yaml", "rules[1] (rule 'r1'): bad"),
            "a.yaml:4:5: rules[1] (rule 'r1'): bad");
  EXPECT_EQ(map.Locate("a.yaml", "rules[13]: bad"), "a.yaml:1:1: rules[13]: bad");
}

TEST_F(ConfigSourceMapTest, SeveralProblemsAreCountedAndEachIsLocated) {
  std::ofstream(dir_.path() + "/two.yaml") << "dispatch:\n  max_attempts: lots\n  initial_backoff: soon\n";
  auto config = ParseConfigFile(dir_.path() + "/two.yaml");
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("2 problems in " + dir_.path() + "/two.yaml"));
  EXPECT_THAT(message, HasSubstr("two.yaml:2:3: dispatch.max_attempts: expected a whole number"));
  EXPECT_THAT(message, HasSubstr("two.yaml:3:3: dispatch.initial_backoff: expected a duration"));
}

}  // namespace
}  // namespace hart
