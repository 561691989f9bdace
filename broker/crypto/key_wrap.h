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

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/random.h"

namespace hart::crypto {

inline constexpr size_t kWrapSaltBytes = 16;

// One KEK with its HMAC-SHA256 keyed once: a wrap's key derivation copies
// the keyed state instead of fetching and keying anew, which OpenSSL 3's
// one-shot HMAC() does at every call (format 2 costs ~0.8 us a wrap more
// than format 1 so, ~2.7 us more with HMAC(); hart-key-wrap-bench).
// Immutable once made; safe to use from many threads.
class Kek {
 public:
  // `bytes` must be kKeyBytes long.
  static absl::StatusOr<std::shared_ptr<const Kek>> Make(std::string bytes);
  Kek(const Kek&) = delete;
  Kek& operator=(const Kek&) = delete;

  const std::string& bytes() const { return bytes_; }
  // Format 2's key for the wrap with `salt`.
  absl::StatusOr<std::string> DeriveWrapKey(std::string_view salt) const;

 private:
  using KeyedMac = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;
  Kek(std::string bytes, KeyedMac keyed) : bytes_(std::move(bytes)), keyed_(std::move(keyed)) {}
  const std::string bytes_;
  const KeyedMac keyed_;  // only ever copied from (EVP_MAC_CTX_dup reads it)
};

// `data_key` must be kKeyBytes long. `uniques` gives the salt and the
// nonce: they must not repeat, they need not be secret.
absl::StatusOr<std::string> WrapDataKey(const Kek& kek, const std::string& data_key,
                                        const std::string& context, RandomSource& uniques);
// DATA_LOSS if `wrapped` does not open (wrong KEK, altered bytes, another
// referral's context) or has no known format.
absl::StatusOr<std::string> UnwrapDataKey(const Kek& kek, const std::string& wrapped,
                                          const std::string& context);

}  // namespace hart::crypto
