#include "broker/crypto/aead.h"

#include <openssl/evp.h>

#include <memory>

namespace hart::crypto {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<std::string> Seal(const std::string& key, const std::string& plaintext,
                                 const std::string& associated_data, RandomSource& random) {
  if (key.size() != kKeyBytes) return absl::InvalidArgumentError("AES-256 key must be 32 bytes");
  const std::string nonce = random.Bytes(kNonceBytes);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* cipher = reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes;
  Ctx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  int total = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &length, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("AES-GCM encryption failed");
  }
  total = length;
  if (EVP_EncryptFinal_ex(ctx.get(), cipher + total, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, cipher + plaintext.size()) != 1) {
    return absl::InternalError("AES-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> Open(const std::string& key, const std::string& sealed,
                                 const std::string& associated_data) {
  if (key.size() != kKeyBytes) return absl::InvalidArgumentError("AES-256 key must be 32 bytes");
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return absl::DataLossError("sealed value is too short");
  }
  const size_t cipher_bytes = sealed.size() - kNonceBytes - kTagBytes;
  std::string plaintext(cipher_bytes, '\0');
  std::string tag = sealed.substr(kNonceBytes + cipher_bytes);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &length,
                        Bytes(sealed) + kNonceBytes, static_cast<int>(cipher_bytes)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return absl::InternalError("AES-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + length,
                          &length) != 1) {
    return absl::DataLossError("the sealed value does not open with this key (altered or moved)");
  }
  return plaintext;
}

}  // namespace hart::crypto
