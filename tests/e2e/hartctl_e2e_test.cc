// hartctl against the real broker: what an operator types, what they read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <regex>

#include "tests/e2e/broker_process.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

class HartctlE2ETest : public ::testing::Test {
 protected:
  HartctlE2ETest() : broker_(dir_.path() + "/data") {}
  Output Run(const std::string& args) {
    const std::string command = std::string(HARTCTL_BINARY) + " --target 127.0.0.1:" +
                                std::to_string(broker_.port()) + " --certs_dir " +
                                DevCertsDir() + " " + args + " 2>&1";
    Output out;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.text.append(buffer, n);
    const int status = pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  }
  static std::string Example(const std::string& name) {
    return SourcePath("tests/testdata/intakes/" + name + ".json");
  }
  TempDir dir_;
  BrokerProcess broker_;
};

TEST_F(HartctlE2ETest, SubmitPrintsEveryFieldViolationOfAnInvalidIntake) {
  const Output out = Run("submit " + Example("invalid-adult-not-dcf"));
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_THAT(out.text, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(out.text, HasSubstr("child.dcfInvolved"));
  EXPECT_THAT(out.text, HasSubstr("1-888-373-7888"));
}

TEST_F(HartctlE2ETest, SubmitFeedAckAndStatusWorkTogether) {
  const Output submitted = Run("--json submit " + Example("school-sex-trafficking-hartford"));
  ASSERT_EQ(submitted.exit_code, 0) << submitted.text;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(submitted.text, match, std::regex("ref_[0-9A-Z]+")))
      << submitted.text;
  const std::string referral = match.str();

  const Output fed = Run("feed --agency hartford-pd --ack accepted --max_events 1");
  EXPECT_EQ(fed.exit_code, 0) << fed.text;
  EXPECT_THAT(fed.text, HasSubstr("ACKNOWLEDGED"));

  const Output status = Run("status " + referral);
  EXPECT_EQ(status.exit_code, 0) << status.text;
  EXPECT_THAT(status.text, HasSubstr("hartford-pd"));
  EXPECT_THAT(status.text, HasSubstr("ACKNOWLEDGED"));
  // Each delivery's timeline from the audit log, as the README promises.
  EXPECT_THAT(status.text, HasSubstr("AUDIT INDEX"));
  EXPECT_THAT(status.text, HasSubstr("delivery.sent"));

  // Sealed: the status says so, and the erasure notices are named as such.
  const Output sealed = Run("seal " + referral + " --order HFD-JV-26-0042");
  ASSERT_EQ(sealed.exit_code, 0) << sealed.text;
  const Output after = Run("status " + referral);
  EXPECT_EQ(after.exit_code, 0) << after.text;
  EXPECT_THAT(after.text, HasSubstr("sealed      "));
  EXPECT_THAT(after.text, HasSubstr("ERASURE"));
}

// The broker serves the certificate's agency: a --agency that names
// another would have the user read (or acknowledge) the wrong feed.
TEST_F(HartctlE2ETest, AnAgencyThatDisagreesWithTheCertificateIsRefused) {
  const Output out = Run("--as agency-csao feed --agency hartford-pd --max_events 1");
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_THAT(out.text, HasSubstr("disagree"));
}

TEST_F(HartctlE2ETest, ExplainShowsEveryRuleAndWhy) {
  const Output out = Run("explain " + Example("labor-trafficking-waterbury"));
  EXPECT_EQ(out.exit_code, 0) << out.text;
  for (const char* rule : {"ht-referral", "hart-consult-red-flags", "missing-report",
                           "missing-72h", "cac-services"}) {
    EXPECT_THAT(out.text, HasSubstr(rule));
  }
  EXPECT_THAT(out.text, HasSubstr("child is not DCF-involved"));
}

}  // namespace
}  // namespace hart::testing
