// Group commit of new referrals: a BatchWriter over Store::CreateReferrals.
#pragma once

#include "broker/records.h"
#include "broker/store.h"
#include "broker/store/batch_writer.h"

namespace hart {

using GroupCommitter = BatchWriter<NewReferral, CreateReferralResult>;

// `store` must outlive the committer; `after_commit` typically wakes the
// dispatcher.
inline std::unique_ptr<GroupCommitter> MakeGroupCommitter(
    Store& store, size_t max_batch, GroupCommitter::AfterCommitFn after_commit) {
  return std::make_unique<GroupCommitter>(
      [&store](std::span<const NewReferral> batch) { return store.CreateReferrals(batch); },
      max_batch, std::move(after_commit));
}

}  // namespace hart
