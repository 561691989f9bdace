#include "broker/audit/merkle_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace hart::audit {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// ---------------------------------------------------------------------------
// An independent reference, written from the RFCs' text and sharing no code
// with the library: its own SHA-256 call, its own split rule, the recursive
// definitions of RFC 6962 §2.1 (MTH), §2.1.1 (PATH) and §2.1.2 (SUBPROOF),
// and the verification algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.

std::string RefSha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), digest, &length,
                       EVP_sha256(), nullptr),
            1);
  return std::string(reinterpret_cast<char*>(digest), length);
}

// MTH({d}) = SHA-256(0x00 || d).
std::string RefLeaf(const std::string& entry) {
  return RefSha256(std::string(1, '\x00') + entry);
}

// SHA-256(0x01 || left || right).
std::string RefNode(const std::string& left, const std::string& right) {
  return RefSha256(std::string(1, '\x01') + left + right);
}

// "k is the largest power of two smaller than n", by counting up.
uint64_t RefSplit(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::vector<std::string> FromHex(const std::vector<std::string>& hexes) {
  std::vector<std::string> out;
  for (const std::string& h : hexes) out.push_back(FromHex(h));
  return out;
}

// The tree over a fixed list of entries, D[begin:end] addressed by indices.
class ReferenceTree {
 public:
  explicit ReferenceTree(std::vector<std::string> entries)
      : entries_(std::move(entries)) {}

  size_t size() const { return entries_.size(); }
  std::string LeafHash(size_t i) const { return RefLeaf(entries_[i]); }

  // RFC 6962 §2.1: MTH({}) = SHA-256(); MTH({d}) = leaf;
  // MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])). Memoised.
  std::string Mth(size_t begin, size_t end) {
    auto [it, inserted] = mth_.try_emplace({begin, end});
    if (!inserted) return it->second;
    const size_t n = end - begin;
    std::string hash;
    if (n == 0) {
      hash = RefSha256("");
    } else if (n == 1) {
      hash = RefLeaf(entries_[begin]);
    } else {
      const size_t k = RefSplit(n);
      hash = RefNode(Mth(begin, begin + k), Mth(begin + k, end));
    }
    mth_[{begin, end}] = hash;
    return hash;
  }

  // RFC 6962 §2.1.1, PATH(m, D[begin:end]) with m relative to begin:
  // PATH(0, {d0}) = {}; for n > 1,
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])       for m < k
  //               = PATH(m - k, D[k:n]) : MTH(D[0:k])   for m >= k
  std::vector<std::string> Path(size_t m, size_t begin, size_t end) {
    const size_t n = end - begin;
    if (n == 1) return {};
    const size_t k = RefSplit(n);
    std::vector<std::string> path;
    if (m < k) {
      path = Path(m, begin, begin + k);
      path.push_back(Mth(begin + k, end));
    } else {
      path = Path(m - k, begin + k, end);
      path.push_back(Mth(begin, begin + k));
    }
    return path;
  }

  // RFC 6962 §2.1.2:
  // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])};
  // for m < n,
  // SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          m <= k
  //                      = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  m > k
  std::vector<std::string> Subproof(size_t m, size_t begin, size_t end,
                                    bool b) {
    const size_t n = end - begin;
    if (m == n) {
      if (b) return {};
      return {Mth(begin, end)};
    }
    const size_t k = RefSplit(n);
    std::vector<std::string> proof;
    if (m <= k) {
      proof = Subproof(m, begin, begin + k, b);
      proof.push_back(Mth(begin + k, end));
    } else {
      proof = Subproof(m - k, begin + k, end, false);
      proof.push_back(Mth(begin, begin + k));
    }
    return proof;
  }

  // PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
  std::vector<std::string> Proof(size_t m, size_t n) {
    return Subproof(m, 0, n, true);
  }

 private:
  std::vector<std::string> entries_;
  std::map<std::pair<size_t, size_t>, std::string> mth_;
};

bool Lsb(uint64_t x) { return (x & 1) != 0; }

// RFC 9162 §2.1.3.2, steps 1-4; returns r when step 5's "sn is 0" holds,
// so that callers can compare it with a root (or learn the implied root).
std::optional<std::string> RefRootFromInclusion(
    const std::string& hash, uint64_t leaf_index, uint64_t tree_size,
    const std::vector<std::string>& inclusion_path) {
  // 1. Fail if leaf_index >= tree_size.
  if (leaf_index >= tree_size) return std::nullopt;
  // 2. fn = leaf_index, sn = tree_size - 1.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  // 3. r = hash.
  std::string r = hash;
  // 4. For each value p in the inclusion_path array:
  for (const std::string& p : inclusion_path) {
    // a. If sn is 0, stop and fail.
    if (sn == 0) return std::nullopt;
    // b. If LSB(fn) is set, or if fn is equal to sn:
    if (Lsb(fn) || fn == sn) {
      // i. r = HASH(0x01 || p || r)
      r = RefNode(p, r);
      // ii. If LSB(fn) is not set, right-shift fn and sn equally until
      // either LSB(fn) is set or fn is 0.
      if (!Lsb(fn)) {
        do {
          fn >>= 1;
          sn >>= 1;
        } while (!Lsb(fn) && fn != 0);
      }
    } else {
      // Otherwise: r = HASH(0x01 || r || p)
      r = RefNode(r, p);
    }
    // c. Right-shift fn and sn one time.
    fn >>= 1;
    sn >>= 1;
  }
  // 5. sn must be 0.
  if (sn != 0) return std::nullopt;
  return r;
}

bool RefVerifyInclusion(const std::string& hash, uint64_t leaf_index,
                        uint64_t tree_size,
                        const std::vector<std::string>& inclusion_path,
                        const std::string& root_hash) {
  std::optional<std::string> r =
      RefRootFromInclusion(hash, leaf_index, tree_size, inclusion_path);
  return r.has_value() && *r == root_hash;
}

// RFC 9162 §2.1.4.2 for 0 < first < second, steps 1-6 and "sn is 0" of 7;
// returns {fr, sr} for the caller to compare with first_hash/second_hash.
std::optional<std::pair<std::string, std::string>> RefRootsFromConsistency(
    uint64_t first, uint64_t second, const std::string& first_hash,
    std::vector<std::string> consistency_path) {
  // 1. If consistency_path is empty, fail.
  if (consistency_path.empty()) return std::nullopt;
  // 2. If first is an exact power of 2, prepend first_hash.
  if ((first & (first - 1)) == 0) {
    consistency_path.insert(consistency_path.begin(), first_hash);
  }
  // 3. fn = first - 1, sn = second - 1.
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  // 4. If LSB(fn) is set, right-shift fn and sn equally until it is not.
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5. fr = sr = the first value in consistency_path.
  std::string fr = consistency_path[0];
  std::string sr = consistency_path[0];
  // 6. For each subsequent value c:
  for (size_t i = 1; i < consistency_path.size(); ++i) {
    const std::string& c = consistency_path[i];
    // a. If sn is 0, stop and fail.
    if (sn == 0) return std::nullopt;
    // b. If LSB(fn) is set, or if fn is equal to sn:
    if (Lsb(fn) || fn == sn) {
      fr = RefNode(c, fr);
      sr = RefNode(c, sr);
      if (!Lsb(fn)) {
        do {
          fn >>= 1;
          sn >>= 1;
        } while (!Lsb(fn) && fn != 0);
      }
    } else {
      // Otherwise: sr = HASH(0x01 || sr || c)
      sr = RefNode(sr, c);
    }
    // c. Right-shift fn and sn one time.
    fn >>= 1;
    sn >>= 1;
  }
  // 7. (part) sn must be 0.
  if (sn != 0) return std::nullopt;
  return std::make_pair(fr, sr);
}

bool RefVerifyConsistency(uint64_t first, uint64_t second,
                          const std::string& first_hash,
                          const std::string& second_hash,
                          const std::vector<std::string>& consistency_path) {
  if (first == 0 || first > second) return false;
  // Identical trees: nothing to prove beyond equal roots.
  if (first == second) {
    return consistency_path.empty() && first_hash == second_hash;
  }
  auto roots =
      RefRootsFromConsistency(first, second, first_hash, consistency_path);
  // 7. fr == first_hash and sr == second_hash.
  return roots.has_value() && roots->first == first_hash &&
         roots->second == second_hash;
}

// ---------------------------------------------------------------------------
// Test data.

constexpr uint64_t kMaxLeaves = 64;

std::vector<std::string> NamedEntries(size_t n) {
  std::vector<std::string> entries;
  for (size_t i = 0; i < n; ++i) entries.push_back("leaf-" + std::to_string(i));
  return entries;
}

// The leaves of the Certificate Transparency test data (RFC 6962 test
// vectors as used by transparency-dev/merkle and Chromium).
std::vector<std::string> CtEntries() {
  return FromHex(std::vector<std::string>{
      "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
      "606162636465666768696a6b6c6d6e6f"});
}

// Their roots for tree sizes 0..8.
const std::vector<std::string>& CtRoots() {
  static const std::vector<std::string> roots = {
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  return roots;
}

// Serves leaf hashes from memory, optionally stored perfect subtrees too,
// and counts what it was asked.
class VectorReader : public HashReader {
 public:
  explicit VectorReader(std::vector<std::string> leaf_hashes)
      : leaf_hashes_(std::move(leaf_hashes)) {}

  static VectorReader Of(ReferenceTree& tree) {
    std::vector<std::string> hashes;
    for (size_t i = 0; i < tree.size(); ++i) hashes.push_back(tree.LeafHash(i));
    return VectorReader(std::move(hashes));
  }

  absl::StatusOr<std::string> LeafHashAt(uint64_t index) override {
    ++leaf_reads;
    if (index >= leaf_hashes_.size()) {
      return absl::NotFoundError("no leaf " + std::to_string(index));
    }
    return leaf_hashes_[index];
  }

  std::optional<std::string> PerfectSubtreeHashAt(uint32_t height,
                                                  uint64_t index) override {
    ++subtree_lookups;
    auto it = subtrees.find({height, index});
    if (it == subtrees.end()) return std::nullopt;
    return it->second;
  }

  std::vector<std::string>& leaf_hashes() { return leaf_hashes_; }

  std::map<std::pair<uint32_t, uint64_t>, std::string> subtrees;
  int leaf_reads = 0;
  int subtree_lookups = 0;

 private:
  std::vector<std::string> leaf_hashes_;
};

std::string Flip(std::string hash, size_t byte = 0) {
  hash[byte] = static_cast<char>(hash[byte] ^ 0x01);
  return hash;
}

// ---------------------------------------------------------------------------
// Hashing

TEST(MerkleHashTest, EmptyTreeHashIsSha256OfTheEmptyString) {
  EXPECT_EQ(Hex(EmptyTreeHash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(CompactRange().RootHash(), EmptyTreeHash());
}

TEST(MerkleHashTest, LeafAndNodeHashesUseRfc6962DomainPrefixes) {
  EXPECT_EQ(Hex(LeafHash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  const std::string a = LeafHash("a");
  const std::string b = LeafHash("b");
  EXPECT_EQ(a, RefSha256(std::string("\x00", 1) + "a"));
  EXPECT_EQ(NodeHash(a, b), RefSha256("\x01" + a + b));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
  // A leaf can never pose as a node: the prefixes differ.
  EXPECT_NE(LeafHash(a + b), NodeHash(a, b));
  EXPECT_EQ(a.size(), kHashSize);
}

// ---------------------------------------------------------------------------
// Roots

// Verifies the known answers of the CT test data for sizes 0..8 through
// every way the library computes a root.
TEST(MerkleRootTest, MatchesCertificateTransparencyTestVectors) {
  const std::vector<std::string> entries = CtEntries();
  ReferenceTree reference(entries);
  VectorReader reader = VectorReader::Of(reference);
  CompactRange range;
  for (uint64_t n = 0; n <= entries.size(); ++n) {
    if (n > 0) {
      ASSERT_TRUE(range.Append(LeafHash(entries[n - 1])).ok());
    }
    SCOPED_TRACE("size " + std::to_string(n));
    EXPECT_EQ(Hex(reference.Mth(0, n)), CtRoots()[n]);
    EXPECT_EQ(Hex(range.RootHash()), CtRoots()[n]);
    EXPECT_EQ(Hex(SubtreeRoot(reader, 0, n).value()), CtRoots()[n]);
  }
}

// Verifies roots of 1..8 leaves against tree shapes spelled out by hand
// from RFC 6962 §2.1 (k is the largest power of two below n, never the
// midpoint), and against the recursive reference.
TEST(MerkleRootTest, MatchesHandBuiltShapesForOneToEightLeaves) {
  const std::vector<std::string> entries = NamedEntries(8);
  std::vector<std::string> l;
  for (const std::string& e : entries) l.push_back(RefLeaf(e));
  auto n = [](const std::string& x, const std::string& y) {
    return RefNode(x, y);
  };
  const std::string n01 = n(l[0], l[1]);
  const std::string n23 = n(l[2], l[3]);
  const std::string n45 = n(l[4], l[5]);
  const std::string n67 = n(l[6], l[7]);
  const std::string n0123 = n(n01, n23);
  const std::vector<std::string> expected = {
      l[0],
      n01,
      n(n01, l[2]),
      n0123,
      n(n0123, l[4]),
      n(n0123, n45),
      n(n0123, n(n45, l[6])),
      n(n0123, n(n45, n67)),
  };
  ReferenceTree reference(entries);
  CompactRange range;
  for (size_t size = 1; size <= 8; ++size) {
    ASSERT_TRUE(range.Append(LeafHash(entries[size - 1])).ok());
    SCOPED_TRACE("size " + std::to_string(size));
    EXPECT_EQ(Hex(reference.Mth(0, size)), Hex(expected[size - 1]));
    EXPECT_EQ(Hex(range.RootHash()), Hex(expected[size - 1]));
  }
}

// ---------------------------------------------------------------------------
// CompactRange

TEST(CompactRangeTest, RootEqualsReferenceMthForEverySizeUpTo64) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  CompactRange range;
  for (uint64_t n = 1; n <= kMaxLeaves; ++n) {
    ASSERT_TRUE(range.Append(reference.LeafHash(n - 1)).ok());
    EXPECT_EQ(range.size(), n);
    EXPECT_EQ(range.RootHash(), reference.Mth(0, n)) << "size " << n;
    // One hash per set bit of the size: the frontier stays logarithmic.
    EXPECT_EQ(range.hashes().size(),
              static_cast<size_t>(std::popcount(n)));
  }
}

// Verifies a persisted range restores the same root and keeps growing into
// the same tree as one never persisted.
TEST(CompactRangeTest, SurvivesSerializeAndParseAtEverySize) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  CompactRange original;
  for (uint64_t n = 0; n <= kMaxLeaves; ++n) {
    if (n > 0) {
      ASSERT_TRUE(original.Append(reference.LeafHash(n - 1)).ok());
    }
    std::optional<CompactRange> parsed =
        CompactRange::Parse(original.Serialize());
    ASSERT_TRUE(parsed.has_value()) << "size " << n;
    EXPECT_EQ(*parsed, original);
    EXPECT_EQ(parsed->RootHash(), reference.Mth(0, n));
    for (uint64_t more = n; more < kMaxLeaves; ++more) {
      ASSERT_TRUE(parsed->Append(reference.LeafHash(more)).ok());
    }
    EXPECT_EQ(parsed->RootHash(), reference.Mth(0, kMaxLeaves)) << "from " << n;
  }
}

TEST(CompactRangeTest, SerializedFormIsVersionSizeThenHashes) {
  ReferenceTree reference(NamedEntries(5));
  CompactRange range;
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(range.Append(reference.LeafHash(i)).ok());
  }
  EXPECT_EQ(range.Serialize(), std::string("\x01\0\0\0\0\0\0\0\x05", 9) +
                                   reference.Mth(0, 4) + reference.Mth(4, 5));
  EXPECT_EQ(CompactRange().Serialize(), std::string("\x01\0\0\0\0\0\0\0\0", 9));
}

TEST(CompactRangeTest, ParseRejectsMalformedInput) {
  ReferenceTree reference(NamedEntries(3));
  CompactRange range;
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(range.Append(reference.LeafHash(i)).ok());
  }
  const std::string good = range.Serialize();
  ASSERT_TRUE(CompactRange::Parse(good).has_value());

  EXPECT_FALSE(CompactRange::Parse("").has_value());
  EXPECT_FALSE(CompactRange::Parse(good.substr(0, 8)).has_value());
  EXPECT_FALSE(CompactRange::Parse(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(CompactRange::Parse(good + "x").has_value());
  std::string wrong_version = good;
  wrong_version[0] = '\x02';
  EXPECT_FALSE(CompactRange::Parse(wrong_version).has_value());
  // Size 4 needs one hash, not two.
  std::string wrong_size = good;
  wrong_size[8] = '\x04';
  EXPECT_FALSE(CompactRange::Parse(wrong_size).has_value());
}

TEST(CompactRangeTest, AppendRejectsAHashOfTheWrongLengthAndChangesNothing) {
  CompactRange range;
  ASSERT_TRUE(range.Append(LeafHash("x")).ok());
  const CompactRange before = range;
  absl::Status status = range.Append("too short");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("9 bytes, want 32"));
  EXPECT_EQ(range, before);
}

TEST(CompactRangeTest, AppendFailsOnlyWhenTheTreeIsFull) {
  // The largest tree: 2^64 - 1 leaves, 64 perfect subtrees.
  std::string data("\x01\xff\xff\xff\xff\xff\xff\xff\xff", 9);
  for (int i = 0; i < 64; ++i) data += LeafHash("subtree-" + std::to_string(i));
  std::optional<CompactRange> full = CompactRange::Parse(data);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->size(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(full->RootHash().size(), kHashSize);
  EXPECT_EQ(full->Append(LeafHash("one more")).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(full->Serialize(), data);
}

// Verifies the completed-subtree callback reports every perfect subtree
// exactly once, at the right position, with the reference hash.
TEST(CompactRangeTest, ReportsEveryCompletedPerfectSubtree) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  std::map<std::pair<uint32_t, uint64_t>, std::string> seen;
  CompactRange range;
  for (uint64_t i = 0; i < kMaxLeaves; ++i) {
    ASSERT_TRUE(range
                    .Append(reference.LeafHash(i),
                            [&](uint32_t height, uint64_t index,
                                const std::string& hash) {
                              EXPECT_TRUE(
                                  seen.emplace(std::make_pair(height, index), hash)
                                      .second);
                              // Completed by this very leaf.
                              EXPECT_EQ(((index + 1) << height) - 1, i);
                            })
                    .ok());
  }
  EXPECT_EQ(seen.size(), kMaxLeaves - 1);  // 32 + 16 + 8 + 4 + 2 + 1
  for (const auto& [key, hash] : seen) {
    const auto [height, index] = key;
    EXPECT_EQ(hash, reference.Mth(index << height, (index + 1) << height))
        << "height " << height << " index " << index;
  }
}

// ---------------------------------------------------------------------------
// SubtreeRoot

TEST(SubtreeRootTest, MatchesReferenceForEveryRange) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  VectorReader reader = VectorReader::Of(reference);
  for (uint64_t end = 0; end <= kMaxLeaves; ++end) {
    for (uint64_t begin = 0; begin <= end; ++begin) {
      absl::StatusOr<std::string> root = SubtreeRoot(reader, begin, end);
      ASSERT_TRUE(root.ok()) << root.status();
      EXPECT_EQ(*root, reference.Mth(begin, end))
          << "[" << begin << ", " << end << ")";
    }
  }
}

TEST(SubtreeRootTest, RejectsBeginAfterEnd) {
  VectorReader reader({});
  absl::StatusOr<std::string> root = SubtreeRoot(reader, 3, 2);
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(root.status().message(), "begin 3 is greater than end 2");
}

// ---------------------------------------------------------------------------
// Inclusion proofs

TEST(InclusionProofTest, MatchesCertificateTransparencyTestVectors) {
  ReferenceTree reference(CtEntries());
  VectorReader reader = VectorReader::Of(reference);
  const std::string root8 = FromHex(CtRoots()[8]);

  const std::vector<std::string> proof_0_8 = FromHex(std::vector<std::string>{
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"});
  const std::vector<std::string> proof_5_8 = FromHex(std::vector<std::string>{
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"});

  EXPECT_THAT(InclusionProof(reader, 0, 8).value(), ElementsAreArray(proof_0_8));
  EXPECT_THAT(InclusionProof(reader, 5, 8).value(), ElementsAreArray(proof_5_8));
  EXPECT_THAT(reference.Path(0, 0, 8), ElementsAreArray(proof_0_8));
  EXPECT_THAT(reference.Path(5, 0, 8), ElementsAreArray(proof_5_8));
  EXPECT_TRUE(RefVerifyInclusion(reference.LeafHash(5), 5, 8, proof_5_8, root8));
  EXPECT_TRUE(VerifyInclusion(reference.LeafHash(5), 5, 8, proof_5_8, root8));
  EXPECT_TRUE(VerifyInclusion(reference.LeafHash(0), 0, 8, proof_0_8, root8));
}

// Verifies every (index, size) with index < size <= 64: the library's proof
// is the RFC's PATH, and both verifiers accept it.
TEST(InclusionProofTest, EqualsReferencePathAndVerifiesForEveryIndexAndSize) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  VectorReader reader = VectorReader::Of(reference);
  int checked = 0;
  for (uint64_t size = 1; size <= kMaxLeaves; ++size) {
    const std::string root = reference.Mth(0, size);
    for (uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + " size " +
                   std::to_string(size));
      absl::StatusOr<std::vector<std::string>> proof =
          InclusionProof(reader, index, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, reference.Path(index, 0, size));
      const std::string leaf = reference.LeafHash(index);
      EXPECT_TRUE(RefVerifyInclusion(leaf, index, size, *proof, root));
      EXPECT_TRUE(VerifyInclusion(leaf, index, size, *proof, root));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 64 * 65 / 2);
}

// Verifies that a changed proof element, leaf, index, size or root, and a
// shortened or lengthened proof, all fail both verifiers.
TEST(InclusionProofTest, TamperedProofsFailVerification) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  VectorReader reader = VectorReader::Of(reference);
  auto both = [](const std::string& leaf, uint64_t index, uint64_t size,
                 const std::vector<std::string>& proof,
                 const std::string& root) {
    const bool ours = VerifyInclusion(leaf, index, size, proof, root);
    const bool theirs = RefVerifyInclusion(leaf, index, size, proof, root);
    EXPECT_EQ(ours, theirs);
    return ours || theirs;
  };
  for (uint64_t size = 1; size <= kMaxLeaves; ++size) {
    const std::string root = reference.Mth(0, size);
    for (uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + " size " +
                   std::to_string(size));
      const std::vector<std::string> proof =
          InclusionProof(reader, index, size).value();
      const std::string leaf = reference.LeafHash(index);
      ASSERT_TRUE(both(leaf, index, size, proof, root));

      for (size_t i = 0; i < proof.size(); ++i) {
        for (size_t byte : {size_t{0}, kHashSize - 1}) {
          std::vector<std::string> bad = proof;
          bad[i] = Flip(bad[i], byte);
          EXPECT_FALSE(both(leaf, index, size, bad, root)) << "element " << i;
        }
      }
      EXPECT_FALSE(both(Flip(leaf), index, size, proof, root));
      if (size > 1) {
        EXPECT_FALSE(both(reference.LeafHash((index + 1) % size), index, size,
                          proof, root))
            << "another leaf";
      }
      EXPECT_FALSE(both(leaf, index, size, proof, Flip(root)));
      for (uint64_t other = 0; other < size + 2; ++other) {
        if (other == index) continue;
        EXPECT_FALSE(both(leaf, other, size, proof, root)) << "index " << other;
      }
      // Another size, checked against that size's root (a client takes
      // size and root from the same checkpoint).
      for (uint64_t other = 1; other <= kMaxLeaves; ++other) {
        if (other == size) continue;
        EXPECT_FALSE(both(leaf, index, other, proof, reference.Mth(0, other)))
            << "size " << other;
        // With this size's root instead, RFC 9162's algorithm accepts some
        // other sizes (e.g. leaf 0 of 3 passes as leaf 0 of 4): only the
        // signed checkpoint ties a root to its size. The library must
        // agree with the RFC either way.
        both(leaf, index, other, proof, root);
      }
      if (!proof.empty()) {
        std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(both(leaf, index, size, shorter, root));
      }
      std::vector<std::string> longer = proof;
      longer.push_back(root);
      EXPECT_FALSE(both(leaf, index, size, longer, root));
    }
  }
}

TEST(InclusionProofTest, RejectsIndexNotBelowSize) {
  ReferenceTree reference(NamedEntries(8));
  VectorReader reader = VectorReader::Of(reference);
  absl::StatusOr<std::vector<std::string>> proof = InclusionProof(reader, 7, 5);
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(proof.status().message(), "leaf_index 7 is not below tree_size 5");
  EXPECT_EQ(InclusionProof(reader, 5, 5).status().message(),
            "leaf_index 5 is not below tree_size 5");
  EXPECT_EQ(InclusionProof(reader, 0, 0).status().message(),
            "leaf_index 0 is not below tree_size 0");
  EXPECT_EQ(reader.leaf_reads, 0);
}

TEST(InclusionProofTest, PassesReaderErrorsThroughAndChecksHashLengths) {
  ReferenceTree reference(NamedEntries(8));
  VectorReader reader = VectorReader::Of(reference);
  // A tree larger than the store: the reader's NOT_FOUND comes back.
  EXPECT_EQ(InclusionProof(reader, 0, 9).status().code(),
            absl::StatusCode::kNotFound);
  // A corrupt stored leaf hash is data loss, not a wrong proof.
  reader.leaf_hashes()[6] = "short";
  absl::StatusOr<std::vector<std::string>> proof = InclusionProof(reader, 0, 8);
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(proof.status().message(),
            "leaf hash at index 6 has 5 bytes, want 32");
}

// ---------------------------------------------------------------------------
// Consistency proofs

TEST(ConsistencyProofTest, MatchesCertificateTransparencyTestVectors) {
  ReferenceTree reference(CtEntries());
  VectorReader reader = VectorReader::Of(reference);
  struct Vector {
    uint64_t first;
    uint64_t second;
    std::vector<std::string> proof;
  };
  const std::vector<Vector> vectors = {
      {2, 8,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(std::to_string(v.first) + " -> " + std::to_string(v.second));
    const std::vector<std::string> expected = FromHex(v.proof);
    EXPECT_THAT(ConsistencyProof(reader, v.first, v.second).value(),
                ElementsAreArray(expected));
    EXPECT_THAT(reference.Proof(v.first, v.second), ElementsAreArray(expected));
    const std::string first_root = FromHex(CtRoots()[v.first]);
    const std::string second_root = FromHex(CtRoots()[v.second]);
    EXPECT_TRUE(RefVerifyConsistency(v.first, v.second, first_root,
                                     second_root, expected));
    EXPECT_TRUE(VerifyConsistency(v.first, v.second, first_root, second_root,
                                  expected));
  }
}

// Verifies every (first, second) with 1 <= first <= second <= 64: the
// library's proof is the RFC's PROOF, and both verifiers accept it.
TEST(ConsistencyProofTest, EqualsReferenceSubproofAndVerifiesForEveryPair) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  VectorReader reader = VectorReader::Of(reference);
  int checked = 0;
  for (uint64_t second = 1; second <= kMaxLeaves; ++second) {
    for (uint64_t first = 1; first <= second; ++first) {
      SCOPED_TRACE(std::to_string(first) + " -> " + std::to_string(second));
      absl::StatusOr<std::vector<std::string>> proof =
          ConsistencyProof(reader, first, second);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, reference.Proof(first, second));
      if (first == second) {
        EXPECT_THAT(*proof, IsEmpty());
      }
      const std::string first_root = reference.Mth(0, first);
      const std::string second_root = reference.Mth(0, second);
      EXPECT_TRUE(RefVerifyConsistency(first, second, first_root, second_root,
                                       *proof));
      EXPECT_TRUE(
          VerifyConsistency(first, second, first_root, second_root, *proof));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 64 * 65 / 2);
}

// Verifies that a changed element, size or root, and a shortened or
// lengthened proof, all fail both verifiers.
TEST(ConsistencyProofTest, TamperedProofsFailVerification) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  VectorReader reader = VectorReader::Of(reference);
  auto both = [](uint64_t first, uint64_t second, const std::string& first_root,
                 const std::string& second_root,
                 const std::vector<std::string>& proof) {
    const bool ours =
        VerifyConsistency(first, second, first_root, second_root, proof);
    const bool theirs =
        RefVerifyConsistency(first, second, first_root, second_root, proof);
    EXPECT_EQ(ours, theirs);
    return ours || theirs;
  };
  std::vector<std::string> roots;
  for (uint64_t n = 0; n <= kMaxLeaves; ++n) roots.push_back(reference.Mth(0, n));

  for (uint64_t second = 1; second <= kMaxLeaves; ++second) {
    for (uint64_t first = 1; first <= second; ++first) {
      SCOPED_TRACE(std::to_string(first) + " -> " + std::to_string(second));
      const std::vector<std::string> proof =
          ConsistencyProof(reader, first, second).value();
      const std::string& r1 = roots[first];
      const std::string& r2 = roots[second];
      ASSERT_TRUE(both(first, second, r1, r2, proof));

      for (size_t i = 0; i < proof.size(); ++i) {
        for (size_t byte : {size_t{0}, kHashSize - 1}) {
          std::vector<std::string> bad = proof;
          bad[i] = Flip(bad[i], byte);
          EXPECT_FALSE(both(first, second, r1, r2, bad)) << "element " << i;
        }
      }
      EXPECT_FALSE(both(first, second, Flip(r1), r2, proof));
      EXPECT_FALSE(both(first, second, r1, Flip(r2), proof));
      // Other sizes, each checked against its own root; and against this
      // pair's roots, where only agreement with the RFC is required (see
      // the inclusion test: the checkpoint binds size and root).
      for (uint64_t other = 1; other <= kMaxLeaves; ++other) {
        if (other != first) {
          EXPECT_FALSE(both(other, second, roots[other], r2, proof))
              << "first " << other;
          both(other, second, r1, r2, proof);
        }
        if (other != second) {
          EXPECT_FALSE(both(first, other, r1, roots[other], proof))
              << "second " << other;
          both(first, other, r1, r2, proof);
        }
      }
      if (!proof.empty()) {
        std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(both(first, second, r1, r2, shorter));
      }
      std::vector<std::string> longer = proof;
      longer.push_back(r2);
      EXPECT_FALSE(both(first, second, r1, r2, longer));
    }
  }
}

TEST(ConsistencyProofTest, RejectsFirstSizeAboveSecondOrZero) {
  ReferenceTree reference(NamedEntries(8));
  VectorReader reader = VectorReader::Of(reference);
  absl::StatusOr<std::vector<std::string>> proof =
      ConsistencyProof(reader, 6, 5);
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(proof.status().message(), "first_size 6 is greater than second_size 5");

  proof = ConsistencyProof(reader, 0, 5);
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(proof.status().message()),
              HasSubstr("first_size 0: a consistency proof from the empty "
                        "tree is not defined"));
  EXPECT_EQ(ConsistencyProof(reader, 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(reader, 3, 9).status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Stored perfect subtrees

// Verifies that serving the subtrees CompactRange reports changes no proof
// and replaces the O(n) leaf scan with a logarithmic number of lookups.
TEST(StoredSubtreesTest, GiveTheSameProofsFromFewReads) {
  for (uint64_t size : {1000, 1024, 1025, 1537}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::vector<std::string> leaves;
    for (uint64_t i = 0; i < size; ++i) {
      leaves.push_back(RefLeaf("event-" + std::to_string(i)));
    }
    VectorReader plain(leaves);
    VectorReader stored(leaves);
    CompactRange range;
    for (const std::string& leaf : leaves) {
      ASSERT_TRUE(range
                      .Append(leaf,
                              [&](uint32_t height, uint64_t index,
                                  const std::string& hash) {
                                stored.subtrees[{height, index}] = hash;
                              })
                      .ok());
    }
    const std::string root = range.RootHash();
    EXPECT_EQ(SubtreeRoot(stored, 0, size).value(), root);

    for (uint64_t index : {uint64_t{0}, uint64_t{1}, size / 3, size / 2,
                           size - 2, size - 1}) {
      plain.leaf_reads = stored.leaf_reads = stored.subtree_lookups = 0;
      const std::vector<std::string> expected =
          InclusionProof(plain, index, size).value();
      const std::vector<std::string> proof =
          InclusionProof(stored, index, size).value();
      EXPECT_EQ(proof, expected) << "index " << index;
      EXPECT_TRUE(RefVerifyInclusion(leaves[index], index, size, proof, root));
      EXPECT_EQ(plain.leaf_reads, static_cast<int>(size - 1));
      EXPECT_LE(stored.leaf_reads + stored.subtree_lookups, 150)
          << "index " << index;
    }
    for (uint64_t first : {uint64_t{1}, uint64_t{7}, size / 2, size - 1}) {
      CompactRange old_range;
      for (uint64_t i = 0; i < first; ++i) {
        ASSERT_TRUE(old_range.Append(leaves[i]).ok());
      }
      stored.leaf_reads = stored.subtree_lookups = 0;
      const std::vector<std::string> proof =
          ConsistencyProof(stored, first, size).value();
      EXPECT_EQ(proof, ConsistencyProof(plain, first, size).value());
      EXPECT_TRUE(RefVerifyConsistency(first, size, old_range.RootHash(), root,
                                       proof));
      EXPECT_LE(stored.leaf_reads + stored.subtree_lookups, 150)
          << "first " << first;
    }
  }
}

// Verifies stored subtrees are used only where they belong: an unaligned
// range of power-of-two length is not a stored subtree.
TEST(StoredSubtreesTest, SubtreeRootMatchesReferenceForEveryRange) {
  ReferenceTree reference(NamedEntries(kMaxLeaves));
  VectorReader reader = VectorReader::Of(reference);
  CompactRange range;
  for (uint64_t i = 0; i < kMaxLeaves; ++i) {
    ASSERT_TRUE(range
                    .Append(reference.LeafHash(i),
                            [&](uint32_t height, uint64_t index,
                                const std::string& hash) {
                              reader.subtrees[{height, index}] = hash;
                            })
                    .ok());
  }
  for (uint64_t end = 0; end <= kMaxLeaves; ++end) {
    for (uint64_t begin = 0; begin <= end; ++begin) {
      EXPECT_EQ(SubtreeRoot(reader, begin, end).value(),
                reference.Mth(begin, end))
          << "[" << begin << ", " << end << ")";
    }
  }
}

TEST(StoredSubtreesTest, WrongLengthStoredHashIsDataLoss) {
  ReferenceTree reference(NamedEntries(8));
  VectorReader reader = VectorReader::Of(reference);
  reader.subtrees[{2, 1}] = "bad";
  absl::StatusOr<std::vector<std::string>> proof = InclusionProof(reader, 0, 8);
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(proof.status().message(),
            "stored subtree hash at height 2 index 1 has 3 bytes, want 32");
}

// ---------------------------------------------------------------------------
// Verifiers on their own

TEST(VerifyTest, RejectsMalformedHashesAndImpossibleSizes) {
  ReferenceTree reference(NamedEntries(8));
  VectorReader reader = VectorReader::Of(reference);
  const std::string leaf = reference.LeafHash(5);
  const std::string root = reference.Mth(0, 8);
  const std::vector<std::string> proof = InclusionProof(reader, 5, 8).value();
  ASSERT_TRUE(VerifyInclusion(leaf, 5, 8, proof, root));

  EXPECT_FALSE(VerifyInclusion(leaf.substr(1), 5, 8, proof, root));
  EXPECT_FALSE(VerifyInclusion(leaf, 5, 8, proof, root.substr(1)));
  std::vector<std::string> short_element = proof;
  short_element[1].pop_back();
  EXPECT_FALSE(VerifyInclusion(leaf, 5, 8, short_element, root));
  EXPECT_FALSE(VerifyInclusion(leaf, 8, 8, proof, root));
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 0, {}, EmptyTreeHash()));
  // The only leaf of a one-leaf tree is its root, with an empty path.
  EXPECT_TRUE(VerifyInclusion(leaf, 0, 1, {}, leaf));

  const std::string root5 = reference.Mth(0, 5);
  const std::vector<std::string> cproof = ConsistencyProof(reader, 5, 8).value();
  ASSERT_TRUE(VerifyConsistency(5, 8, root5, root, cproof));
  EXPECT_FALSE(VerifyConsistency(5, 8, root5.substr(1), root, cproof));
  EXPECT_FALSE(VerifyConsistency(5, 8, root5, root + "x", cproof));
  std::vector<std::string> short_celement = cproof;
  short_celement[0].pop_back();
  EXPECT_FALSE(VerifyConsistency(5, 8, root5, root, short_celement));
  EXPECT_FALSE(VerifyConsistency(8, 5, root, root5, cproof));
  EXPECT_FALSE(VerifyConsistency(5, 8, root5, root, {}));
  EXPECT_FALSE(VerifyConsistency(0, 8, EmptyTreeHash(), root, {}));
  EXPECT_FALSE(VerifyConsistency(0, 8, EmptyTreeHash(), root, cproof));
  // Equal sizes: an empty proof and equal roots, nothing else.
  EXPECT_TRUE(VerifyConsistency(8, 8, root, root, {}));
  EXPECT_FALSE(VerifyConsistency(8, 8, root, root5, {}));
  EXPECT_FALSE(VerifyConsistency(8, 8, root, root, {root}));
}

// Verifies the library's verifiers agree with the reference at sizes up to
// 2^64 - 1, where an off-by-one in the shifting would go unnoticed by the
// small trees: the reference computes the root a random path implies, and
// the library must accept exactly that root.
TEST(VerifyTest, AgreesWithReferenceOnHugeTrees) {
  std::mt19937_64 random(20240601);
  auto random_hash = [&] {
    std::string h;
    for (size_t i = 0; i < kHashSize; ++i) {
      h += static_cast<char>(random() & 0xff);
    }
    return h;
  };
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  int inclusion_checked = 0;
  int consistency_checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    uint64_t size = trial < 3 ? kMax - static_cast<uint64_t>(trial)
                              : (random() >> (random() % 64)) | 1;
    uint64_t index = trial % 2 == 0 ? size - 1 : random() % size;
    const std::string leaf = random_hash();
    std::vector<std::string> path;
    for (int length = 0; length <= 64; ++length) {
      if (std::optional<std::string> root =
              RefRootFromInclusion(leaf, index, size, path)) {
        EXPECT_TRUE(VerifyInclusion(leaf, index, size, path, *root))
            << index << "/" << size;
        EXPECT_FALSE(VerifyInclusion(leaf, index, size, path, Flip(*root)));
        ++inclusion_checked;
        break;
      }
      path.push_back(random_hash());
    }

    uint64_t second = size;
    uint64_t first = trial % 3 == 0 ? uint64_t{1} << (random() % 63)
                                    : 1 + random() % second;
    if (first >= second) first = second > 1 ? second - 1 : 1;
    if (first >= second) continue;
    const std::string first_root = random_hash();
    std::vector<std::string> proof = {random_hash()};
    for (int length = 1; length <= 130; ++length) {
      if (auto roots =
              RefRootsFromConsistency(first, second, first_root, proof)) {
        // When first is a power of two, fr is first_root by construction;
        // otherwise use the fr the proof implies.
        const std::string& r1 = roots->first;
        EXPECT_TRUE(VerifyConsistency(first, second, r1, roots->second, proof))
            << first << " -> " << second;
        EXPECT_FALSE(
            VerifyConsistency(first, second, r1, Flip(roots->second), proof));
        ++consistency_checked;
        break;
      }
      proof.push_back(random_hash());
    }
  }
  EXPECT_GE(inclusion_checked, 300);
  EXPECT_GE(consistency_checked, 250);
}

}  // namespace
}  // namespace hart::audit
