// Per-delivery ack tokens: what lets a push partner (webhook, file drop,
// e-mail) acknowledge one delivery over HTTPS without a client
// certificate. A token is an HMAC-SHA256 under a broker secret over the
// delivery id, so it authorises exactly that delivery and cannot be forged
// or moved to another one; the store keeps nothing per token.
//
//   token = "v1." + base64url(HMAC-SHA256(key, "hart.ct.gov/ack-token/v1\n" + delivery_id))
//
// Thread safety: immutable after construction.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "broker/random.h"

namespace hart {

class AckTokens {
 public:
  // Reads the secret from `path`, or creates it (32 random bytes, mode 0600)
  // if the file does not exist. Errors name the file.
  static absl::StatusOr<std::unique_ptr<AckTokens>> LoadOrCreate(const std::string& path,
                                                                 RandomSource& random);
  // `key` must have at least 32 bytes.
  explicit AckTokens(std::string key);

  std::string TokenFor(std::string_view delivery_id) const;
  // Constant-time comparison.
  bool Verify(std::string_view delivery_id, std::string_view token) const;

 private:
  const std::string key_;
};

}  // namespace hart
