#include "broker/crypto/key_wrap.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "broker/crypto/aead.h"

namespace hart::crypto {
namespace {

constexpr char kFormat2 = '\x02';
constexpr std::string_view kFormat2Label = "hart.kek-wrap.v2";
// nonce || sealed data key || tag (aead.h)
constexpr size_t kSealedKeyBytes = 12 + kKeyBytes + 16;
constexpr size_t kFormat2Bytes = 1 + kWrapSaltBytes + kSealedKeyBytes;

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Kek>> Kek::Make(std::string bytes) {
  if (bytes.size() != kKeyBytes) return absl::InvalidArgumentError("AES-256 key must be 32 bytes");
  std::unique_ptr<EVP_MAC, MacDeleter> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  KeyedMac keyed(hmac ? EVP_MAC_CTX_new(hmac.get()) : nullptr, &EVP_MAC_CTX_free);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!keyed || EVP_MAC_init(keyed.get(), Bytes(bytes), bytes.size(), params) != 1) {
    return absl::InternalError("cannot key HMAC-SHA256 with the key-encryption key");
  }
  return std::shared_ptr<const Kek>(new Kek(std::move(bytes), std::move(keyed)));
}

absl::StatusOr<std::string> Kek::DeriveWrapKey(std::string_view salt) const {
  // HKDF-Expand for one block: T(1) = HMAC(PRK, info || 0x01).
  std::string info_and_counter(kFormat2Label);
  info_and_counter.append(salt);
  info_and_counter.push_back('\x01');
  KeyedMac mac(EVP_MAC_CTX_dup(keyed_.get()), &EVP_MAC_CTX_free);
  std::string key(kKeyBytes, '\0');
  size_t length = 0;
  if (!mac ||
      EVP_MAC_update(mac.get(), Bytes(info_and_counter), info_and_counter.size()) != 1 ||
      EVP_MAC_final(mac.get(), reinterpret_cast<unsigned char*>(key.data()), &length,
                    key.size()) != 1 ||
      length != kKeyBytes) {
    return absl::InternalError("HMAC-SHA256 of the key-encryption key failed");
  }
  return key;
}

absl::StatusOr<std::string> WrapDataKey(const Kek& kek, const std::string& data_key,
                                        const std::string& context, RandomSource& uniques) {
  if (data_key.size() != kKeyBytes) {
    return absl::InvalidArgumentError("a data key must be 32 bytes");
  }
  const std::string salt = uniques.Bytes(kWrapSaltBytes);
  auto key = kek.DeriveWrapKey(salt);
  if (!key.ok()) return key.status();
  auto sealed = Seal(*key, data_key, context, uniques);
  if (!sealed.ok()) return sealed.status();
  return absl::StrCat(absl::string_view(&kFormat2, 1), salt, *sealed);
}

absl::StatusOr<std::string> UnwrapDataKey(const Kek& kek, const std::string& wrapped,
                                          const std::string& context) {
  if (wrapped.size() == kSealedKeyBytes) return Open(kek.bytes(), wrapped, context);  // format 1
  if (wrapped.size() == kFormat2Bytes && wrapped.front() == kFormat2) {
    const std::string_view salt = std::string_view(wrapped).substr(1, kWrapSaltBytes);
    auto key = kek.DeriveWrapKey(salt);
    if (!key.ok()) return key.status();
    return Open(*key, wrapped.substr(1 + kWrapSaltBytes), context);
  }
  return absl::DataLossError(
      absl::StrCat("the wrapped data key has no known format (", wrapped.size(), " bytes)"));
}

}  // namespace hart::crypto
