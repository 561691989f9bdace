// The audit log's Merkle tree, hashed exactly as RFC 6962 §2.1 (and RFC 9162
// §2.1.1) so that any CT-style verifier can check what the broker proves.
//
// Canonical hashing (SHA-256, every hash is a std::string of 32 raw bytes):
//   empty tree        MTH({})        = SHA-256("")
//   leaf              MTH({d})       = SHA-256(0x00 || d)
//   interior node     MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
//                     where k is the largest power of two smaller than n.
// `d`, the entry bytes, is the broker's canonical encoding of one audit event
// (defined by the broker, not here). This file never sees entries except in
// LeafHash; everything else works on leaf hashes.
//
// Three parts:
//  - CompactRange: the incremental state the broker keeps. Appending a leaf
//    and computing the root are O(log n) and never touch earlier leaves.
//  - InclusionProof / ConsistencyProof / SubtreeRoot: proof generation
//    (RFC 6962 §2.1.1 PATH and §2.1.2 PROOF/SUBPROOF) over a HashReader,
//    through which the broker serves stored leaf hashes.
//  - VerifyInclusion / VerifyConsistency: client-side checks (RFC 9162
//    §2.1.3.2 and §2.1.4.2), used by `hartctl audit prove`.
//
// Leaf indices are 0-based. A tree size is a number of leaves.
//
// Thread safety: CompactRange is not thread-safe; guard it externally. The
// free functions keep no state; they are as thread-safe as the HashReader
// they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hart::audit {

// Size in bytes of every hash in this file.
inline constexpr size_t kHashSize = 32;

// SHA-256(0x00 || entry).
std::string LeafHash(const std::string& entry);
// SHA-256(0x01 || left || right). Both arguments should be kHashSize bytes;
// the function hashes whatever it is given.
std::string NodeHash(const std::string& left, const std::string& right);
// SHA-256("") = e3b0c442...7852b855, the root of the tree with no leaves.
std::string EmptyTreeHash();

// The roots of the perfect subtrees that make up a tree of `size()` leaves
// (one per set bit of the size, largest and leftmost first): everything
// needed to append and to compute the root, in at most 64 hashes.
//
// Complexity: Append is O(log n) hashes worst case, fewer than two
// amortised; RootHash is popcount(n) - 1 <= 63 hashes. Neither reads any
// earlier leaf. Memory: popcount(n) hashes.
// Not thread-safe; guard externally.
class CompactRange {
 public:
  // Called by Append for every perfect subtree that the append completes, of
  // height >= 1 (two leaves or more), lowest first: the subtree covering
  // leaves [index << height, (index + 1) << height). A broker that stores
  // these can serve them back through HashReader::PerfectSubtreeHashAt and
  // make proofs O(log^2 n) instead of O(n).
  using CompletedSubtree = std::function<void(
      uint32_t height, uint64_t index, const std::string& hash)>;

  // The empty tree.
  CompactRange() = default;

  // Number of leaves appended so far.
  uint64_t size() const { return size_; }

  // Roots of the perfect subtrees, leftmost (largest) first.
  const std::vector<std::string>& hashes() const { return hashes_; }

  // Appends one leaf hash (normally LeafHash(entry)).
  // INVALID_ARGUMENT if `leaf_hash` is not kHashSize bytes; OUT_OF_RANGE if
  // the tree already holds 2^64 - 1 leaves. On error nothing changes.
  absl::Status Append(const std::string& leaf_hash,
                      const CompletedSubtree& on_completed = nullptr);

  // MTH of the leaves appended so far; EmptyTreeHash() for the empty tree.
  std::string RootHash() const;

  // A stable binary form for persisting the state next to the leaves:
  //   byte 0       format version, 0x01
  //   bytes 1..8   size, unsigned big-endian
  //   then         popcount(size) hashes of kHashSize bytes, leftmost first
  std::string Serialize() const;
  // The inverse of Serialize. nullopt unless `data` is exactly that form
  // (known version, hash count matching the size, no trailing bytes).
  static std::optional<CompactRange> Parse(const std::string& data);

  friend bool operator==(const CompactRange&, const CompactRange&) = default;

 private:
  uint64_t size_ = 0;
  std::vector<std::string> hashes_;
};

// Where proof generation reads the tree: the broker's store of leaf hashes.
class HashReader {
 public:
  virtual ~HashReader();

  // The leaf hash (kHashSize bytes) at `index`. Errors (e.g. NOT_FOUND past
  // the end, UNAVAILABLE from storage) are returned to the caller as is.
  virtual absl::StatusOr<std::string> LeafHashAt(uint64_t index) = 0;

  // Optional shortcut: the stored root of the perfect subtree of height
  // `height` (>= 1) covering leaves [index << height, (index + 1) << height),
  // or nullopt to have it computed from the leaves. Only ask for subtrees
  // that lie wholly inside the tree being proven. Default: nullopt.
  virtual std::optional<std::string> PerfectSubtreeHashAt(uint32_t height,
                                                          uint64_t index);
};

// MTH(D[begin:end]) computed per RFC 6962 §2.1 over the leaves in
// [begin, end): EmptyTreeHash() if begin == end.
// INVALID_ARGUMENT if begin > end; DATA_LOSS if the reader returns a hash of
// the wrong length; reader errors as is.
// Cost: O(end - begin) leaf reads and hashes, fewer when the reader supplies
// perfect subtrees (aligned ones are looked up, never recomputed).
absl::StatusOr<std::string> SubtreeRoot(HashReader& reader, uint64_t begin,
                                        uint64_t end);

// PATH(leaf_index, D[tree_size]) of RFC 6962 §2.1.1: sibling hashes from the
// leaf up to the root (deepest first), ceil(log2(tree_size)) at most.
// INVALID_ARGUMENT "leaf_index 7 is not below tree_size 5" if
// leaf_index >= tree_size; otherwise as SubtreeRoot.
// Cost: O(tree_size) leaf reads without stored subtrees, O(log^2 tree_size)
// lookups with them.
absl::StatusOr<std::vector<std::string>> InclusionProof(HashReader& reader,
                                                        uint64_t leaf_index,
                                                        uint64_t tree_size);

// PROOF(first_size, D[second_size]) = SUBPROOF(first_size, D[second_size],
// true) of RFC 6962 §2.1.2. Empty when first_size == second_size.
// INVALID_ARGUMENT if first_size > second_size, or first_size == 0 (a
// consistency proof from the empty tree is not defined: RFC 9162 §2.1.4
// requires 0 < first; every tree trivially extends the empty one).
// Cost: as InclusionProof.
absl::StatusOr<std::vector<std::string>> ConsistencyProof(HashReader& reader,
                                                          uint64_t first_size,
                                                          uint64_t second_size);

// RFC 9162 §2.1.3.2: true iff `proof` leads from `leaf_hash` at `index` to
// `root` in a tree of `size` leaves. False (never an error) for index >=
// size or any hash that is not kHashSize bytes.
// Note: the check binds `root` and `size` together only through the caller:
// take both from the same signed checkpoint.
bool VerifyInclusion(const std::string& leaf_hash, uint64_t index,
                     uint64_t size, const std::vector<std::string>& proof,
                     const std::string& root);

// RFC 9162 §2.1.4.2: true iff `proof` shows that the tree of `second_size`
// leaves with root `second_root` extends the tree of `first_size` leaves
// with root `first_root`. For first_size == second_size the proof must be
// empty and the roots equal. False for first_size == 0, first_size >
// second_size, or any hash that is not kHashSize bytes.
bool VerifyConsistency(uint64_t first_size, uint64_t second_size,
                       const std::string& first_root,
                       const std::string& second_root,
                       const std::vector<std::string>& proof);

}  // namespace hart::audit
