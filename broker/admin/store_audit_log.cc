#include "broker/admin/store_audit_log.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/audit/audit_entry.h"
#include "broker/audit/merkle_tree.h"

namespace hart::admin {
namespace {

namespace v1 = ::hart::referral::v1;

constexpr size_t kPageSize = 1000;

// Proofs from the hashes the store keeps, as the broker computes them.
class StoreHashReader final : public audit::HashReader {
 public:
  explicit StoreHashReader(Store& store) : store_(store) {}
  absl::StatusOr<std::string> LeafHashAt(uint64_t index) override {
    return store_.AuditLeafHash(index);
  }
  std::optional<std::string> PerfectSubtreeHashAt(uint32_t height, uint64_t index) override {
    auto hash = store_.AuditSubtreeHash(height, index);
    return hash.ok() ? *hash : std::nullopt;
  }

 private:
  Store& store_;
};

v1::AuditEvent ToVerifiable(const AuditEvent& event) {
  v1::AuditEvent out;
  *out.mutable_entry() = audit::ToEntry(event.index, event);
  out.set_leaf_hash(event.leaf_hash);
  return out;
}

}  // namespace

absl::StatusOr<audit::LogToVerify> ReadAuditLog(Store& store) {
  audit::LogToVerify log;
  AuditQuery query;
  query.limit = kPageSize;
  for (;;) {
    auto page = store.ListAuditEvents(query);
    if (!page.ok()) return page.status();
    for (const auto& event : *page) log.events.push_back(ToVerifiable(event));
    if (page->size() < kPageSize) break;
    const uint64_t next = page->back().index + 1;
    // A stored index that does not move forward would page forever.
    if (next <= query.start_index) {
      return absl::DataLossError(absl::StrCat("the store's audit events stop advancing at index ",
                                              page->back().index));
    }
    query.start_index = next;
  }
  auto checkpoints = store.ListCheckpoints();
  if (!checkpoints.ok()) return checkpoints.status();
  log.checkpoints = std::move(*checkpoints);
  auto head = store.AuditHead();
  if (!head.ok()) return head.status();
  log.recorded_tree_size = head->size;
  auto reader = std::make_shared<StoreHashReader>(store);
  log.prove_consistency = [reader](uint64_t first_size, uint64_t second_size) {
    return audit::ConsistencyProof(*reader, first_size, second_size);
  };
  return log;
}

}  // namespace hart::admin
