#include "adapters/file_drop/ed25519_signer.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "broker/common/secret_file.h"

namespace hart::adapters::file_drop {
namespace {

// Never prompt on a terminal for a passphrase: encrypted keys are refused.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

void Ed25519Signer::KeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromPemFile(const std::string& path) {
  auto pem = ReadSecretFile(path);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("signing_key_file: ", pem.status().message()));
  }
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  EVP_PKEY* raw =
      bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio, nullptr, NoPassphrase, nullptr);
  BIO_free(bio);
  OPENSSL_cleanse(pem->data(), pem->size());
  ERR_clear_error();
  if (raw == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("signing_key_file ", path,
                     " is not an unencrypted PEM private key; make one with "
                     "`openssl genpkey -algorithm ed25519 -out ",
                     path, "`"));
  }
  std::shared_ptr<EVP_PKEY> key(raw, KeyFree());
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(raw);
    return absl::FailedPreconditionError(absl::StrCat(
        "signing_key_file ", path, " holds a key of type ", type == nullptr ? "unknown" : type,
        ", not Ed25519; make one with `openssl genpkey -algorithm ed25519 -out ", path, "`"));
  }
  return Ed25519Signer(std::move(key));
}

absl::StatusOr<std::string> Ed25519Signer::Sign(std::string_view message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("out of memory signing a file");
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t length = signature.size();
  const bool ok =
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_.get()) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || length != kEd25519SignatureBytes) {
    ERR_clear_error();
    return absl::InternalError("Ed25519 signing failed");
  }
  return signature;
}

}  // namespace hart::adapters::file_drop
