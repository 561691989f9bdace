#include "tests/e2e/fast_policy.h"

#include <fstream>
#include <regex>

#include "tests/support/test_support.h"

namespace hart::testing {

std::string WriteFastPolicy(const std::string& dir, const FastPolicy& policy) {
  std::string text = ReadText(SourcePath("deploy/config/connecticut.yaml"));
  text = std::regex_replace(text, std::regex(R"(ack_deadline_(normal|urgent): "[0-9]+h")"),
                            "ack_deadline_$1: \"" + policy.ack_deadline + "\"");
  if (!policy.max_retry_duration.empty()) {
    text = std::regex_replace(text, std::regex(R"(max_retry_duration: [0-9]+[hms])"),
                              "max_retry_duration: " + policy.max_retry_duration);
  }
  std::string out;
  int step = 0;
  size_t last = 0;
  const std::regex after(R"(after: "[0-9]+[hms]")");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), after);
       it != std::sregex_iterator(); ++it) {
    out += text.substr(last, it->position() - last);
    // Steps restart at 0 s with each ladder ("0s" marks a first step).
    if (it->str() == "after: \"0s\"") step = 0;
    out += "after: \"" + std::to_string(step++) + "s\"";
    last = it->position() + it->length();
  }
  out += text.substr(last);
  const std::string path = dir + "/fast.yaml";
  std::ofstream(path) << out;
  return path;
}

}  // namespace hart::testing
