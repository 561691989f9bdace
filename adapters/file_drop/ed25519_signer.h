// Signs the files the broker drops with the operator's Ed25519 key, so a
// partner can check with the matching public key that a file came from the
// broker unaltered. The signature is the raw 64 bytes of Ed25519 (no digest:
// Ed25519 hashes internally), verifiable with
// `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in F -sigfile F.sig`.
//
// Thread safety: Sign may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace hart::adapters::file_drop {

inline constexpr size_t kEd25519SignatureBytes = 64;

class Ed25519Signer {
 public:
  // Reads a PEM private key from a file that only its owner can read.
  // FAILED_PRECONDITION naming the file and what to fix: missing, readable
  // by others, not a PEM private key, encrypted, or not Ed25519.
  static absl::StatusOr<Ed25519Signer> FromPemFile(const std::string& path);

  // The 64-byte signature of `message`.
  absl::StatusOr<std::string> Sign(std::string_view message) const;

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const;
  };
  explicit Ed25519Signer(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace hart::adapters::file_drop
