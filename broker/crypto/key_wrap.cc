#include "broker/crypto/key_wrap.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/str_cat.h"
#include "broker/crypto/aead.h"

namespace hart::crypto {
namespace {

constexpr char kFormat2 = '\x02';
constexpr std::string_view kFormat2Label = "hart.kek-wrap.v2";
// nonce || sealed data key || tag (aead.h)
constexpr size_t kSealedKeyBytes = 12 + kKeyBytes + 16;
constexpr size_t kFormat2Bytes = 1 + kWrapSaltBytes + kSealedKeyBytes;

}  // namespace

std::string DeriveWrapKey(const std::string& kek, std::string_view salt) {
  // HKDF-Expand for one block: T(1) = HMAC(PRK, info || 0x01).
  std::string info_and_counter(kFormat2Label);
  info_and_counter.append(salt);
  info_and_counter.push_back('\x01');
  unsigned char key[EVP_MAX_MD_SIZE];
  unsigned int key_length = 0;
  HMAC(EVP_sha256(), kek.data(), static_cast<int>(kek.size()),
       reinterpret_cast<const unsigned char*>(info_and_counter.data()), info_and_counter.size(),
       key, &key_length);
  return std::string(reinterpret_cast<const char*>(key), kKeyBytes);
}

absl::StatusOr<std::string> WrapDataKey(const std::string& kek, const std::string& data_key,
                                        const std::string& context, RandomSource& uniques) {
  if (kek.size() != kKeyBytes) return absl::InvalidArgumentError("AES-256 key must be 32 bytes");
  std::string wrapped(1, kFormat2);
  wrapped += uniques.Bytes(kWrapSaltBytes);
  auto sealed = Seal(DeriveWrapKey(kek, std::string_view(wrapped).substr(1)), data_key, context,
                     uniques);
  if (!sealed.ok()) return sealed.status();
  wrapped += *sealed;
  return wrapped;
}

absl::StatusOr<std::string> UnwrapDataKey(const std::string& kek, const std::string& wrapped,
                                          const std::string& context) {
  if (kek.size() != kKeyBytes) return absl::InvalidArgumentError("AES-256 key must be 32 bytes");
  if (wrapped.size() == kSealedKeyBytes) return Open(kek, wrapped, context);  // format 1
  if (wrapped.size() == kFormat2Bytes && wrapped.front() == kFormat2) {
    const std::string_view salt = std::string_view(wrapped).substr(1, kWrapSaltBytes);
    return Open(DeriveWrapKey(kek, salt), wrapped.substr(1 + kWrapSaltBytes), context);
  }
  return absl::DataLossError(
      absl::StrCat("the wrapped data key has no known format (", wrapped.size(), " bytes)"));
}

}  // namespace hart::crypto
