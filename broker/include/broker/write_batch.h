// The writes that share one group commit (the writer queue,
// broker/store/write_queue.h): intakes, supplements and fired reroute
// timers, acknowledgements, escalation steps, feed appends and audit
// events of their own. Each request
// is what the single-purpose Store call takes; each result what it returns.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

// A delivery put on its agency's feed at `at` (AppendToFeeds' `now`).
struct FeedAppendWrite {
  FeedAppend append;
  absl::Time at;
};

// Audit events of their own (AppendAudit), e.g. a rejected intake's.
struct AuditAppend {
  std::vector<AuditEvent> events;
};

// ApplyReferralChange applied it.
struct ReferralChanged {};
// ApplyAck: the audit index of the ack's event.
struct AckApplied {
  uint64_t audit_index = 0;
};
// AppendAudit stored them.
struct AuditAppended {};
// ApplyEscalationStep: the event's sequence (0: the ladder ended quietly).
struct EscalationApplied {
  uint64_t sequence = 0;
};

using WriteRequest = std::variant<NewReferral, ReferralChange, AckWrite, EscalationWrite,
                                  FeedAppendWrite, AuditAppend>;
// Alternative i answers alternative i of WriteRequest.
using WriteResult = std::variant<CreateReferralResult, ReferralChanged, AckApplied,
                                 EscalationApplied, FeedAppendResult, AuditAppended>;

// The per-item codes of ApplyWrites: the item wrote nothing, the rest of
// the batch is unaffected. Any other error fails the whole batch.
inline bool IsPerItemWriteError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

}  // namespace hart
