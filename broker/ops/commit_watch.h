// The writer queue's store, seen by readiness: reports when each group
// commit starts and how it ended (ReadinessMonitor's "store" check).
//
// Thread safety: as the wrapped store (the writer queue calls it from its
// one thread).
#pragma once

#include <span>
#include <vector>

#include "broker/ops/readiness.h"
#include "broker/write_store.h"

namespace hart::ops {

class CommitWatch final : public WriteStore {
 public:
  // Both must outlive the watch.
  CommitWatch(WriteStore& store, ReadinessMonitor& readiness)
      : store_(store), readiness_(readiness) {}

  absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
      std::span<WriteRequest> batch) override {
    readiness_.CommitStarted();
    auto results = store_.ApplyWrites(batch);
    // Items refused on their own do not make the store unwritable.
    readiness_.CommitEnded(results.status());
    return results;
  }
  absl::Status PrepareReferral(NewReferral& referral) override {
    return store_.PrepareReferral(referral);
  }

 private:
  WriteStore& store_;
  ReadinessMonitor& readiness_;
};

}  // namespace hart::ops
