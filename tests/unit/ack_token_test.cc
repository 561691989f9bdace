// Ack tokens authorise exactly one delivery: forged, altered or moved
// tokens are refused, and the key survives a restart (the file).
#include "broker/acks/ack_token.h"

#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::hart::testing::FakeRandom;
using ::hart::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(AckTokensTest, ATokenVerifiesForItsDeliveryOnly) {
  AckTokens tokens(std::string(32, 'k'));
  const std::string token = tokens.TokenFor("D-1");
  EXPECT_THAT(token, StartsWith("v1."));
  EXPECT_TRUE(tokens.Verify("D-1", token));
  EXPECT_FALSE(tokens.Verify("D-2", token));
  EXPECT_FALSE(tokens.Verify("D-1", ""));
  EXPECT_FALSE(tokens.Verify("D-1", token.substr(0, token.size() - 1)));
  std::string altered = token;
  altered[5] = altered[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(tokens.Verify("D-1", altered));
}

TEST(AckTokensTest, AnotherKeyMakesOtherTokens) {
  AckTokens ours(std::string(32, 'k'));
  AckTokens theirs(std::string(32, 'x'));
  EXPECT_NE(ours.TokenFor("D-1"), theirs.TokenFor("D-1"));
  EXPECT_FALSE(ours.Verify("D-1", theirs.TokenFor("D-1")));
}

TEST(AckTokensTest, TheKeyFileIsCreatedPrivateAndReusedAfterARestart) {
  TempDir dir;
  FakeRandom random;
  const std::string path = dir.path() + "/ack-token.key";
  auto first = AckTokens::LoadOrCreate(path, random);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto second = AckTokens::LoadOrCreate(path, random);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*first)->TokenFor("D-9"), (*second)->TokenFor("D-9"));
}

TEST(AckTokensTest, AShortKeyFileIsRefusedWithWhatToDo) {
  TempDir dir;
  FakeRandom random;
  const std::string path = dir.path() + "/ack-token.key";
  std::ofstream(path) << "short";
  auto tokens = AckTokens::LoadOrCreate(path, random);
  ASSERT_FALSE(tokens.ok());
  EXPECT_THAT(tokens.status().message(), HasSubstr("shorter than 32 bytes"));
  EXPECT_THAT(tokens.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace hart
