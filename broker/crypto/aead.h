// AES-256-GCM through OpenSSL EVP: authenticated encryption of one value.
// Sealed form: 12-byte random nonce || ciphertext || 16-byte tag. The
// associated data (e.g. the referral id) binds a ciphertext to its row, so
// moving it elsewhere makes it fail to open.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "broker/random.h"

namespace hart::crypto {

inline constexpr size_t kKeyBytes = 32;

// `key` must be kKeyBytes long.
absl::StatusOr<std::string> Seal(const std::string& key, const std::string& plaintext,
                                 const std::string& associated_data, RandomSource& random);
// DATA_LOSS if the tag does not verify (wrong key, altered bytes, other row).
absl::StatusOr<std::string> Open(const std::string& key, const std::string& sealed,
                                 const std::string& associated_data);

}  // namespace hart::crypto
