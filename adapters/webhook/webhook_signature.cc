#include "adapters/webhook/webhook_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hart::adapters::webhook {

std::string WebhookSignature(const std::string& secret, int64_t unix_seconds,
                             const std::string& body) {
  const std::string timestamp = absl::StrCat(unix_seconds);
  const std::string signed_text = absl::StrCat(timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &mac_size);
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), mac_size));
  return absl::StrCat("t=", timestamp, ",v1=", hex);
}

}  // namespace hart::adapters::webhook
