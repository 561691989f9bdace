// Signed checkpoints: Ed25519 (OpenSSL EVP) over a small text note
//   "hart.ct.gov/audit/v1\n<tree_size>\n<base64 root>\n<timestamp micros>\n"
// so a verifier needs nothing but the public key and this format.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hart/referral/v1/audit.pb.h"

namespace hart::audit {

std::string CheckpointNote(uint64_t tree_size, const std::string& root_hash,
                           absl::Time timestamp);

// Holds the private key. Thread-safe after construction.
class CheckpointSigner {
 public:
  // Loads the PEM (PKCS#8) Ed25519 key at `path`; if the file does not
  // exist, generates one there (mode 0600) and writes `path`.pub beside it.
  static absl::StatusOr<std::unique_ptr<CheckpointSigner>> LoadOrCreate(const std::string& path);
  ~CheckpointSigner();

  // A signed checkpoint of (tree_size, root_hash, timestamp).
  absl::StatusOr<hart::referral::v1::Checkpoint> Sign(uint64_t tree_size,
                                                      const std::string& root_hash,
                                                      absl::Time timestamp) const;
  const std::string& key_id() const { return key_id_; }
  const std::string& public_key_pem() const { return public_key_pem_; }

 private:
  struct Key;
  CheckpointSigner(std::unique_ptr<Key> key, std::string public_key_pem, std::string key_id);
  std::unique_ptr<Key> key_;
  std::string public_key_pem_;
  std::string key_id_;
};

// The key id of a PEM public key: hex of the first 8 bytes of SHA-256(DER).
absl::StatusOr<std::string> KeyIdOf(const std::string& public_key_pem);

// OK if `public_key_pem` is a PEM Ed25519 public key, the only kind that
// verifies a checkpoint: a verifier checks it once, before any checkpoint,
// so that a wrong file is the user's error, not a failed log.
absl::Status CheckPublicKey(const std::string& public_key_pem);

// Checks a checkpoint with nothing but the public key: the note matches the
// fields and the signature verifies. Errors say which check failed.
absl::Status VerifyCheckpoint(const hart::referral::v1::Checkpoint& checkpoint,
                              const std::string& public_key_pem);

}  // namespace hart::audit
