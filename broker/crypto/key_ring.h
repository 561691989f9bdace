// Key-encryption keys (KEKs): 32-byte AES keys in files "<key-id>.kek" of a
// key directory kept apart from the data directory. The file ACTIVE names the
// key id that wraps new data keys; the others still unwrap older ones until
// they are rewrapped. Reload() picks up a new key without a restart. Unwrap
// also reads the file of a key id the ring does not hold: with replicas, the
// ones not yet told of a rotation meet data keys another replica wrapped
// with the new key.
//
// Thread safety: safe to use concurrently; Reload swaps the keys atomically.
// Reloads (which read the directory) run one at a time, so an older view of
// the directory never replaces a newer one.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/common/buffered_random.h"
#include "broker/crypto/key_wrap.h"
#include "broker/random.h"

namespace hart::crypto {

// A data key wrapped by a KEK: what the store keeps per referral.
struct WrappedKey {
  std::string key_id;
  std::string wrapped;
};

class KeyRing {
 public:
  // Loads every key of `directory`. If the directory holds none and
  // `create_if_empty`, makes one (mode 0600) and makes it ACTIVE.
  static absl::StatusOr<std::unique_ptr<KeyRing>> Load(const std::string& directory,
                                                       bool create_if_empty, RandomSource& random);

  absl::Status Reload();
  std::string active_key_id() const;

  // A fresh random data key, and that key wrapped by the active KEK.
  absl::StatusOr<std::pair<std::string, WrappedKey>> NewDataKey(const std::string& context);
  // The data key inside `wrapped`. A KEK not in the ring is read from its
  // file first; with no such file, UNAVAILABLE: the data is intact and opens
  // once the operator puts the key file back.
  absl::StatusOr<std::string> Unwrap(const WrappedKey& wrapped, const std::string& context);
  // `wrapped` rewrapped by the active KEK (unchanged if it already is).
  absl::StatusOr<WrappedKey> Rewrap(const WrappedKey& wrapped, const std::string& context);

 private:
  KeyRing(std::string directory, RandomSource& random) : directory_(std::move(directory)), random_(random) {}

  // The KEK named `key_id`, if the ring holds it.
  std::shared_ptr<const Kek> Find(const std::string& key_id) const;
  // The KEK `key_id` read from its file, added to the ring, if it is there.
  std::shared_ptr<const Kek> LoadAddedKey(const std::string& key_id);
  // The active KEK and its id.
  std::pair<std::string, std::shared_ptr<const Kek>> Active() const;

  const std::string directory_;
  RandomSource& random_;  // data keys and KEKs: drawn when used
  // The wraps' salts and nonces need uniqueness, not secrecy: drawn a block
  // at a time (a RAND_bytes call an intake fewer, issue 15).
  BufferedRandom nonces_{random_, kRandomBlockBytes};
  absl::Mutex reload_mu_;  // held across the directory read: reloads in turn
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const Kek>> keys_ ABSL_GUARDED_BY(mu_);
  std::string active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::crypto
