// The shipped Connecticut policy sped up for end-to-end tests, so that
// deadlines pass and ladders escalate within seconds.
#pragma once

#include <string>

namespace hart::testing {

struct FastPolicy {
  // Every rule's ack_deadline_normal and ack_deadline_urgent.
  std::string ack_deadline = "2s";
  // Push retries given up after this ("1s": a partner nobody runs turns its
  // deliveries into dead letters at once); empty keeps the config's.
  std::string max_retry_duration;
};

// Writes `dir`/fast.yaml: deploy/config/connecticut.yaml with `policy`
// applied and each escalation ladder's steps at 0, 1, 2, … s. Its path.
std::string WriteFastPolicy(const std::string& dir, const FastPolicy& policy = {});

}  // namespace hart::testing
