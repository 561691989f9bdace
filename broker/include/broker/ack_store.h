// Acknowledgements from partners and supervisors. See store.h and
// store_errors.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/records.h"

namespace hart {

class AckStore {
 public:
  virtual ~AckStore() = default;

  // Records an acknowledgement and its state change, if the delivery is
  // still in write.expected_state (ABORTED otherwise, nothing written).
  // Returns the audit index of the ack's event.
  virtual absl::StatusOr<uint64_t> ApplyAck(const AckWrite& write) = 0;

  // Many acknowledgements in one transaction (group commit): each item's
  // compare-and-set is decided on its own (ABORTED for that item only);
  // an error of the whole batch means nothing of it was stored.
  virtual absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> ApplyAcks(
      std::span<const AckWrite> writes) = 0;
};

}  // namespace hart
