// Key-encryption-key rotation for the data keys that protect PII at rest.
// See store.h and store_errors.h.
#pragma once

#include <cstddef>

#include "absl/status/statusor.h"

namespace hart {

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Rewraps every data key not wrapped by the active key-encryption key;
  // returns how many.
  virtual absl::StatusOr<size_t> RewrapDataKeys() = 0;
};

}  // namespace hart
