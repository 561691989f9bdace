#include "broker/audit/audit_entry.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "broker/audit/merkle_tree.h"

namespace hart::audit {
namespace {

AuditEvent Event(std::string actor, std::string action, std::string referral_id,
                 std::string delivery_id, std::string payload_sha256, std::string detail) {
  AuditEvent e;
  e.at = absl::FromUnixMicros(1'764'000'000'123'456);
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.referral_id = std::move(referral_id);
  e.delivery_id = std::move(delivery_id);
  e.payload_sha256 = std::move(payload_sha256);
  e.detail = std::move(detail);
  return e;
}

// Long fields first, then shorter and empty ones: the reused entry and
// buffer must carry nothing over from the event before.
std::vector<AuditEvent> MixedEvents() {
  return {
      Event("agency/hart-task-force", "delivery.acknowledged", "ref-0123456789abcdef",
            "dlv-0123456789abcdef", std::string(32, '\x7f'), std::string(300, 'd')),
      Event("broker", "delivery.sent", "ref-1", "dlv-1", "", "seq=1"),
      Event("broker", "intake.rejected", "", "", "", ""),
      Event("careline/careline-intake", "intake.accepted", "ref-2", "", std::string(32, '\0'),
            "rules=r1,r2"),
      Event("", "", "", "", "", ""),
  };
}

TEST(EventLeafHashTest, EqualsTheLeafHashOfTheEntryBuiltAnewForEveryEventInTurn) {
  uint64_t index = 41;
  for (const AuditEvent& event : MixedEvents()) {
    const std::string expected = EntryLeafHash(ToEntry(index, event));
    EXPECT_EQ(EventLeafHash(index, event), expected) << event.action;
    EXPECT_EQ(expected, LeafHash(EntryBytes(ToEntry(index, event))));
    ++index;
  }
  // The same event at another index is another leaf.
  const AuditEvent first = MixedEvents().front();
  EXPECT_NE(EventLeafHash(1, first), EventLeafHash(2, first));
}

TEST(EventLeafHashTest, ThreadsHashingAtOnceEachGetTheirEventsHashes) {
  const std::vector<AuditEvent> events = MixedEvents();
  std::vector<std::string> expected;
  for (size_t i = 0; i < events.size(); ++i) {
    expected.push_back(EntryLeafHash(ToEntry(i, events[i])));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 500; ++round) {
        const size_t i = static_cast<size_t>(round + t) % events.size();
        if (EventLeafHash(i, events[i]) != expected[i]) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace hart::audit
