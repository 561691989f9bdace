#include "broker/audit/merkle_tree.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <utility>

namespace hart::audit {
namespace {

constexpr char kLeafPrefix = 0x00;
constexpr char kNodePrefix = 0x01;
constexpr char kSerializationVersion = 0x01;
constexpr size_t kSerializedHeaderSize = 1 + 8;

// SHA-256 fetched once: OpenSSL 3 otherwise looks the implementation up
// again on every EVP_DigestInit_ex(EVP_sha256()). Never freed; shared by
// all threads (EVP_MD objects are immutable and reference counted).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// SHA-256 over the concatenation of `parts`. Each thread keeps one
// context: a new one per hash cost two allocations, and the audit hashes
// dozens an intake (issue 15).
std::string Sha256(std::initializer_list<std::pair<const void*, size_t>> parts) {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr) == 1;
  for (const auto& [data, size] : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), data, size) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &length) == 1;
  if (!ok || length != kHashSize) {
    std::abort();  // only fails on allocation failure
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// The largest power of two smaller than n; n >= 2.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

std::string IndexError(uint64_t leaf_index, uint64_t tree_size) {
  return "leaf_index " + std::to_string(leaf_index) +
         " is not below tree_size " + std::to_string(tree_size);
}

absl::Status CheckHash(const std::string& hash, const char* what,
                       uint64_t index) {
  if (hash.size() == kHashSize) return absl::OkStatus();
  return absl::DataLossError(std::string(what) + " " + std::to_string(index) +
                             " has " + std::to_string(hash.size()) +
                             " bytes, want " + std::to_string(kHashSize));
}

bool AllHashes(const std::vector<std::string>& hashes) {
  return std::all_of(hashes.begin(), hashes.end(), [](const std::string& h) {
    return h.size() == kHashSize;
  });
}

}  // namespace

std::string LeafHash(const std::string& entry) {
  return Sha256({{&kLeafPrefix, 1}, {entry.data(), entry.size()}});
}

std::string NodeHash(const std::string& left, const std::string& right) {
  return Sha256({{&kNodePrefix, 1},
                 {left.data(), left.size()},
                 {right.data(), right.size()}});
}

std::string EmptyTreeHash() { return Sha256({}); }

// ---------------------------------------------------------------------------
// CompactRange

absl::Status CompactRange::Append(const std::string& leaf_hash,
                                  const CompletedSubtree& on_completed) {
  if (leaf_hash.size() != kHashSize) {
    return absl::InvalidArgumentError(
        "leaf hash has " + std::to_string(leaf_hash.size()) +
        " bytes, want " + std::to_string(kHashSize));
  }
  if (size_ == std::numeric_limits<uint64_t>::max()) {
    return absl::OutOfRangeError("the tree already holds 2^64 - 1 leaves");
  }
  // The new leaf merges with one perfect subtree per trailing one bit of
  // the old size, exactly like a binary increment carries.
  std::string hash = leaf_hash;
  uint32_t height = 0;
  for (uint64_t carry = size_; carry & 1; carry >>= 1) {
    hash = NodeHash(hashes_.back(), hash);
    hashes_.pop_back();
    ++height;
    if (on_completed) on_completed(height, size_ >> height, hash);
  }
  hashes_.push_back(std::move(hash));
  ++size_;
  return absl::OkStatus();
}

std::string CompactRange::RootHash() const {
  if (hashes_.empty()) return EmptyTreeHash();
  // MTH(D[n]) = NODE(MTH(D[0:k]), MTH(D[k:n])) with D[0:k] the largest
  // perfect subtree, so the root folds the subtrees from the right.
  std::string root = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) {
    root = NodeHash(hashes_[i], root);
  }
  return root;
}

std::string CompactRange::Serialize() const {
  std::string out;
  out.reserve(kSerializedHeaderSize + hashes_.size() * kHashSize);
  out += kSerializationVersion;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out += static_cast<char>((size_ >> shift) & 0xff);
  }
  for (const std::string& hash : hashes_) out += hash;
  return out;
}

std::optional<CompactRange> CompactRange::Parse(const std::string& data) {
  if (data.size() < kSerializedHeaderSize || data[0] != kSerializationVersion) {
    return std::nullopt;
  }
  uint64_t size = 0;
  for (size_t i = 1; i < kSerializedHeaderSize; ++i) {
    size = (size << 8) | static_cast<unsigned char>(data[i]);
  }
  const size_t count = static_cast<size_t>(std::popcount(size));
  if (data.size() != kSerializedHeaderSize + count * kHashSize) {
    return std::nullopt;
  }
  CompactRange range;
  range.size_ = size;
  range.hashes_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    range.hashes_.push_back(
        data.substr(kSerializedHeaderSize + i * kHashSize, kHashSize));
  }
  return range;
}

// ---------------------------------------------------------------------------
// Proof generation

HashReader::~HashReader() = default;

std::optional<std::string> HashReader::PerfectSubtreeHashAt(uint32_t,
                                                            uint64_t) {
  return std::nullopt;
}

absl::StatusOr<std::string> SubtreeRoot(HashReader& reader, uint64_t begin,
                                        uint64_t end) {
  if (begin > end) {
    return absl::InvalidArgumentError("begin " + std::to_string(begin) +
                                      " is greater than end " +
                                      std::to_string(end));
  }
  const uint64_t n = end - begin;
  if (n == 0) return EmptyTreeHash();
  if (n == 1) {
    absl::StatusOr<std::string> leaf = reader.LeafHashAt(begin);
    if (!leaf.ok()) return leaf.status();
    if (absl::Status s = CheckHash(*leaf, "leaf hash at index", begin);
        !s.ok()) {
      return s;
    }
    return leaf;
  }
  if (std::has_single_bit(n) && begin % n == 0) {
    const auto height = static_cast<uint32_t>(std::countr_zero(n));
    if (std::optional<std::string> stored =
            reader.PerfectSubtreeHashAt(height, begin >> height)) {
      if (stored->size() != kHashSize) {
        return absl::DataLossError(
            "stored subtree hash at height " + std::to_string(height) +
            " index " + std::to_string(begin >> height) + " has " +
            std::to_string(stored->size()) + " bytes, want " +
            std::to_string(kHashSize));
      }
      return *std::move(stored);
    }
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<std::string> left = SubtreeRoot(reader, begin, begin + k);
  if (!left.ok()) return left.status();
  absl::StatusOr<std::string> right = SubtreeRoot(reader, begin + k, end);
  if (!right.ok()) return right.status();
  return NodeHash(*left, *right);
}

absl::StatusOr<std::vector<std::string>> InclusionProof(HashReader& reader,
                                                        uint64_t leaf_index,
                                                        uint64_t tree_size) {
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(IndexError(leaf_index, tree_size));
  }
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])         if m < k
  //               = PATH(m - k, D[k:n]) : MTH(D[0:k])     if m >= k
  // Walked from the root down; the siblings come out top first, so the
  // result is reversed at the end.
  std::vector<std::string> proof;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    const uint64_t k = SplitPoint(end - begin);
    absl::StatusOr<std::string> sibling;
    if (leaf_index - begin < k) {
      sibling = SubtreeRoot(reader, begin + k, end);
      end = begin + k;
    } else {
      sibling = SubtreeRoot(reader, begin, begin + k);
      begin += k;
    }
    if (!sibling.ok()) return sibling.status();
    proof.push_back(*std::move(sibling));
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

absl::StatusOr<std::vector<std::string>> ConsistencyProof(HashReader& reader,
                                                          uint64_t first_size,
                                                          uint64_t second_size) {
  if (first_size > second_size) {
    return absl::InvalidArgumentError(
        "first_size " + std::to_string(first_size) +
        " is greater than second_size " + std::to_string(second_size));
  }
  if (first_size == 0) {
    return absl::InvalidArgumentError(
        "first_size 0: a consistency proof from the empty tree is not defined "
        "(RFC 9162 requires 0 < first_size)");
  }
  // SUBPROOF(m, D[m], true)  = {}
  // SUBPROOF(m, D[m], false) = {MTH(D[m])}
  // SUBPROOF(m, D[n], b)     = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])         m <= k
  //                          = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) m > k
  // Walked from the root down (m counts leaves from `begin`), then reversed.
  std::vector<std::string> proof;
  uint64_t m = first_size;
  uint64_t begin = 0;
  uint64_t end = second_size;
  bool whole_old_tree = true;  // the RFC's `b`
  while (m != end - begin) {
    const uint64_t k = SplitPoint(end - begin);
    absl::StatusOr<std::string> node;
    if (m <= k) {
      node = SubtreeRoot(reader, begin + k, end);
      end = begin + k;
    } else {
      node = SubtreeRoot(reader, begin, begin + k);
      begin += k;
      m -= k;
      whole_old_tree = false;
    }
    if (!node.ok()) return node.status();
    proof.push_back(*std::move(node));
  }
  if (!whole_old_tree) {
    absl::StatusOr<std::string> node = SubtreeRoot(reader, begin, end);
    if (!node.ok()) return node.status();
    proof.push_back(*std::move(node));
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

// ---------------------------------------------------------------------------
// Verification, step by step as RFC 9162.

bool VerifyInclusion(const std::string& leaf_hash, uint64_t index,
                     uint64_t size, const std::vector<std::string>& proof,
                     const std::string& root) {
  if (leaf_hash.size() != kHashSize || root.size() != kHashSize ||
      !AllHashes(proof)) {
    return false;
  }
  // 1. leaf_index must be below tree_size.
  if (index >= size) return false;
  // 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r = leaf_hash;
  // 4. For each p in the inclusion path:
  for (const std::string& p : proof) {
    if (sn == 0) return false;  // a.
    if ((fn & 1) == 1 || fn == sn) {  // b.
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 5. sn must be 0 and r the root.
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t first_size, uint64_t second_size,
                       const std::string& first_root,
                       const std::string& second_root,
                       const std::vector<std::string>& proof) {
  if (first_root.size() != kHashSize || second_root.size() != kHashSize ||
      !AllHashes(proof)) {
    return false;
  }
  if (first_size == 0 || first_size > second_size) return false;
  if (first_size == second_size) {
    return proof.empty() && first_root == second_root;
  }
  // 1. An empty path proves nothing.
  if (proof.empty()) return false;
  // 2. If first is an exact power of 2, prepend first_hash.
  std::vector<std::string> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(first_size)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  // 3. fn = first - 1, sn = second - 1.
  uint64_t fn = first_size - 1;
  uint64_t sn = second_size - 1;
  // 4. Shift both while LSB(fn) is set.
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5. fr = sr = the first value.
  std::string fr = path[0];
  std::string sr = path[0];
  // 6. For each subsequent value c:
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;  // a.
    if ((fn & 1) == 1 || fn == sn) {  // b.
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;  // c.
    sn >>= 1;
  }
  // 7. fr must be first_hash, sr second_hash, and sn 0.
  return sn == 0 && fr == first_root && sr == second_root;
}

}  // namespace hart::audit
