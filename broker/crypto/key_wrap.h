// A referral's data key wrapped by a key-encryption key (KEK).
//
// Format 2, written now: 0x02 || 16-byte salt || AES-256-GCM sealed form
// (aead.h) of the data key under a key derived for this wrap alone,
// HKDF-SHA256-Expand(KEK, "hart.kek-wrap.v2" || salt) (RFC 5869 §3.3: a
// KEK is already a uniform key, so it is the pseudorandom key itself).
// Why: GCM's random 96-bit nonces bound one key to 2^32 encryptions (NIST
// SP 800-38D §8.3), which one KEK would reach in ~50 days at a thousand
// intakes a second, and a rotation rewraps every stored key under one new
// KEK. A fresh key per wrap lifts the bound past any store's life, and the
// referral id stays bound in as GCM's associated data.
//
// Format 1, still opened: the sealed form under the KEK itself (exactly
// 60 bytes, as a data key is always 32).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/random.h"

namespace hart::crypto {

inline constexpr size_t kWrapSaltBytes = 16;

// `uniques` gives the salt and the nonce: they must not repeat, they need
// not be secret.
absl::StatusOr<std::string> WrapDataKey(const std::string& kek, const std::string& data_key,
                                        const std::string& context, RandomSource& uniques);
// DATA_LOSS if `wrapped` does not open (wrong KEK, altered bytes, another
// referral's context) or has no known format.
absl::StatusOr<std::string> UnwrapDataKey(const std::string& kek, const std::string& wrapped,
                                          const std::string& context);
// The one wrap's key of format 2 (for tests to check against HKDF).
std::string DeriveWrapKey(const std::string& kek, std::string_view salt);

}  // namespace hart::crypto
