#include "broker/audit/log_verifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/audit/audit_entry.h"
#include "broker/audit/checkpoint_signer.h"
#include "broker/audit/merkle_tree.h"
#include "broker/common/time_util.h"

namespace hart::audit {
namespace {

namespace v1 = ::hart::referral::v1;

class VectorHashReader final : public HashReader {
 public:
  explicit VectorHashReader(const std::vector<std::string>& leaves) : leaves_(leaves) {}
  absl::StatusOr<std::string> LeafHashAt(uint64_t index) override {
    if (index >= leaves_.size()) return absl::NotFoundError("past the end");
    return leaves_[index];
  }

 private:
  const std::vector<std::string>& leaves_;
};

// Collects problems; an exact index (an entry that is itself wrong) beats
// the start of a checkpoint interval whose root merely fails.
class Reporter {
 public:
  explicit Reporter(VerificationReport& report) : report_(report) {}
  void Bad(uint64_t index, std::string problem) {
    exact_.push_back(index);
    Problem(std::move(problem));
  }
  void BadInterval(uint64_t begin, uint64_t end, std::string problem) {
    intervals_.emplace_back(begin, end);
    Problem(std::move(problem));
  }
  void Problem(std::string problem) {
    report_.ok = false;
    report_.problems.push_back(std::move(problem));
  }
  void Finish() {
    std::optional<uint64_t> first;
    auto consider = [&](uint64_t i) {
      if (!first || i < *first) first = i;
    };
    for (uint64_t i : exact_) consider(i);
    for (const auto& [begin, end] : intervals_) {
      std::optional<uint64_t> inside;
      for (uint64_t i : exact_) {
        if (i >= begin && i < end && (!inside || i < *inside)) inside = i;
      }
      consider(inside ? *inside : begin);
    }
    report_.first_bad_index = first;
  }

 private:
  VerificationReport& report_;
  std::vector<uint64_t> exact_;
  std::vector<std::pair<uint64_t, uint64_t>> intervals_;
};

}  // namespace

VerificationReport VerifyLog(const LogToVerify& log) {
  VerificationReport report;
  Reporter reporter(report);

  std::vector<v1::Checkpoint> checkpoints = log.checkpoints;
  std::sort(checkpoints.begin(), checkpoints.end(),
            [](const auto& a, const auto& b) { return a.tree_size() < b.tree_size(); });
  const v1::Checkpoint* previous = nullptr;
  for (const auto& c : checkpoints) {
    if (auto s = VerifyCheckpoint(c, log.public_key_pem); !s.ok()) {
      reporter.Problem(std::string(s.message()));
    }
    if (previous != nullptr && FromProtoTime(c.timestamp()) < FromProtoTime(previous->timestamp())) {
      reporter.Problem(absl::StrCat("checkpoint at size ", c.tree_size(),
                                    " is timestamped before the checkpoint at size ",
                                    previous->tree_size(), ": time went backwards"));
    }
    previous = &c;
  }

  // Recompute every leaf from its entry and rebuild the tree.
  std::vector<std::string> leaves;
  leaves.reserve(log.events.size());
  CompactRange tree;
  size_t next_checkpoint = 0;
  uint64_t interval_start = 0;
  for (; next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint].tree_size() == 0;
       ++next_checkpoint) {
    if (checkpoints[next_checkpoint].root_hash() != EmptyTreeHash()) {
      reporter.Problem("the checkpoint at size 0 does not carry the empty tree's root");
    }
    ++report.checkpoints_checked;
  }
  for (size_t position = 0; position < log.events.size(); ++position) {
    const v1::AuditEvent& event = log.events[position];
    const uint64_t index = event.entry().index();
    if (index != position) {
      reporter.Bad(position, index > position
                                 ? absl::StrCat("index ", position, ": missing (the next stored "
                                                "entry claims index ", index, "; deleted?)")
                                 : absl::StrCat("index ", position, ": the stored entry claims "
                                                "index ", index, " (reordered or duplicated?)"));
    }
    const std::string leaf = EntryLeafHash(event.entry());
    if (!event.leaf_hash().empty() && event.leaf_hash() != leaf) {
      reporter.Bad(position, absl::StrCat("index ", position,
                                          ": entry altered (its content does not match its "
                                          "recorded leaf hash)"));
    }
    if (log.recorded_tree_size && position >= *log.recorded_tree_size) {
      reporter.Bad(position, absl::StrCat("index ", position, ": not in the broker's tree (it "
                                          "recorded ", *log.recorded_tree_size,
                                          " entries); appended outside the broker?"));
    }
    leaves.push_back(leaf);
    (void)tree.Append(leaf);
    while (next_checkpoint < checkpoints.size() &&
           checkpoints[next_checkpoint].tree_size() == tree.size()) {
      const auto& c = checkpoints[next_checkpoint];
      if (c.root_hash() != tree.RootHash()) {
        reporter.BadInterval(interval_start, c.tree_size(),
                     absl::StrCat("checkpoint at size ", c.tree_size(),
                                  ": the recomputed root differs; an entry in [", interval_start,
                                  ", ", c.tree_size(), ") was altered, removed or reordered"));
      }
      interval_start = c.tree_size();
      ++report.checkpoints_checked;
      ++next_checkpoint;
    }
  }
  report.entries_checked = leaves.size();
  for (; next_checkpoint < checkpoints.size(); ++next_checkpoint) {
    const auto& c = checkpoints[next_checkpoint];
    reporter.Bad(leaves.size(), absl::StrCat("checkpoint at size ", c.tree_size(),
                                             " covers entries that are not in the log (it has ",
                                             leaves.size(), "); entries were deleted"));
  }
  if (log.recorded_tree_size && leaves.size() < *log.recorded_tree_size) {
    reporter.Bad(leaves.size(), absl::StrCat("the broker recorded ", *log.recorded_tree_size,
                                             " entries but the log has ", leaves.size()));
  }
  if (!checkpoints.empty() && leaves.size() > checkpoints.back().tree_size()) {
    report.entries_after_last_checkpoint = leaves.size() - checkpoints.back().tree_size();
  }

  // Consecutive checkpoints must be consistent (the log only grew).
  VectorHashReader reader(leaves);
  for (size_t i = 1; i < checkpoints.size(); ++i) {
    const auto& a = checkpoints[i - 1];
    const auto& b = checkpoints[i];
    if (a.tree_size() == 0 || b.tree_size() > leaves.size()) continue;
    auto proof = log.prove_consistency ? log.prove_consistency(a.tree_size(), b.tree_size())
                                       : ConsistencyProof(reader, a.tree_size(), b.tree_size());
    if (!proof.ok()) {
      reporter.Problem(absl::StrCat("no consistency proof between sizes ", a.tree_size(), " and ",
                                    b.tree_size(), ": ", proof.status().message()));
      continue;
    }
    if (!VerifyConsistency(a.tree_size(), b.tree_size(), a.root_hash(), b.root_hash(), *proof)) {
      reporter.BadInterval(a.tree_size(), b.tree_size(),
                           absl::StrCat("checkpoints at sizes ", a.tree_size(), " and ",
                                               b.tree_size(), " are not consistent"));
    }
  }
  reporter.Finish();
  return report;
}

}  // namespace hart::audit
