// Data keys wrapped by a key-encryption key: format 2 wraps each under a
// key of its own, format 1 still opens, altered wraps never do.
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/aead.h"
#include "broker/crypto/key_ring.h"
#include "broker/crypto/key_wrap.h"
#include "tests/support/referral_factory.h"

namespace hart {
namespace {

using hart::testing::TempDir;

constexpr size_t kFormat2Header = 1 + crypto::kWrapSaltBytes;

std::shared_ptr<const crypto::Kek> NewKek(RandomSource& random) {
  return crypto::Kek::Make(random.Bytes(32)).value();
}

// Gives the queued strings in turn, then fresh random bytes.
class ScriptedRandom final : public RandomSource {
 public:
  std::string Bytes(size_t n) override {
    if (queued.empty()) return inner_.Bytes(n);
    std::string next = std::move(queued.front());
    queued.pop_front();
    EXPECT_EQ(next.size(), n);
    return next;
  }
  uint64_t Uniform(uint64_t bound) override { return inner_.Uniform(bound); }
  std::deque<std::string> queued;

 private:
  CryptoRandom inner_;
};

std::string Xor(const std::string& a, const std::string& b) {
  std::string out(a.size(), '\0');
  for (size_t i = 0; i < a.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

// RFC 5869 HKDF-Expand through OpenSSL's own KDF, for a known answer.
std::string HkdfExpand(const std::string& prk, const std::string& info) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  std::string out(32, '\0');
  size_t length = out.size();
  const auto bytes = [](const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.data());
  };
  const bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_hkdf_mode(ctx, EVP_KDF_HKDF_MODE_EXPAND_ONLY) == 1 &&
                  EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
                  EVP_PKEY_CTX_set1_hkdf_key(ctx, bytes(prk), static_cast<int>(prk.size())) == 1 &&
                  EVP_PKEY_CTX_add1_hkdf_info(ctx, bytes(info),
                                              static_cast<int>(info.size())) == 1 &&
                  EVP_PKEY_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), &length) == 1;
  EVP_PKEY_CTX_free(ctx);
  EXPECT_TRUE(ok);
  return out;
}

TEST(KeyWrapTest, AWrapIsSealedUnderAKeyOfItsOwnNotUnderTheKek) {
  CryptoRandom random;
  const auto kek = NewKek(random);
  const std::string data_key = random.Bytes(32);
  const std::string wrapped = crypto::WrapDataKey(*kek, data_key, "key:ref_1", random).value();
  ASSERT_EQ(wrapped.size(), kFormat2Header + 12 + 32 + 16);
  EXPECT_EQ(wrapped[0], '\x02');
  const std::string salt = wrapped.substr(1, crypto::kWrapSaltBytes);
  const std::string sealed = wrapped.substr(kFormat2Header);
  EXPECT_EQ(crypto::Open(kek->bytes(), sealed, "key:ref_1").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(crypto::Open(kek->DeriveWrapKey(salt).value(), sealed, "key:ref_1").value(), data_key);
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, wrapped, "key:ref_1").value(), data_key);
}

TEST(KeyWrapTest, TheWrapsKeyIsHkdfExpandOfTheKekWithTheLabelAndSalt) {
  CryptoRandom random;
  const auto kek = NewKek(random);
  const std::string salt = random.Bytes(crypto::kWrapSaltBytes);
  const std::string derived = kek->DeriveWrapKey(salt).value();
  EXPECT_EQ(derived, HkdfExpand(kek->bytes(), "hart.kek-wrap.v2" + salt));
  EXPECT_NE(derived, kek->DeriveWrapKey(random.Bytes(crypto::kWrapSaltBytes)).value());
  EXPECT_NE(derived, NewKek(random)->DeriveWrapKey(salt).value());
  // Derivations share the KEK's keyed state; none alters it.
  EXPECT_EQ(kek->DeriveWrapKey(salt).value(), derived);
}

TEST(KeyWrapTest, ThreadsDeriveFromOneKekAtOnceAndAllAgree) {
  CryptoRandom random;
  const auto kek = NewKek(random);
  const std::string salt = random.Bytes(crypto::kWrapSaltBytes);
  const std::string expected = HkdfExpand(kek->bytes(), "hart.kek-wrap.v2" + salt);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto derived = kek->DeriveWrapKey(salt);
        if (!derived.ok() || *derived != expected) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(KeyWrapTest, AKekAndADataKeyAreThirtyTwoBytes) {
  EXPECT_EQ(crypto::Kek::Make(std::string(31, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  CryptoRandom random;
  const auto kek = NewKek(random);
  EXPECT_EQ(crypto::WrapDataKey(*kek, std::string(31, 'd'), "key:ref_1", random).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Stored wraps outlive the code that made them: one of each format, made
// with Python's `cryptography` (HKDFExpand, AESGCM) apart from this code.
TEST(KeyWrapTest, WrapsMadeElsewhereInEachFormatOpen) {
  std::string kek_bytes;
  for (int i = 0; i < 32; ++i) kek_bytes.push_back(static_cast<char>(i));
  const auto kek = crypto::Kek::Make(kek_bytes).value();
  const std::string data_key(32, '\x11');
  const std::string format2 = absl::HexStringToBytes(
      "02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbf9c7fd0309828c0abebf5ac5d582de64"
      "6168c350bc3fb6e0475cb58c1ab168347aa4695f76f311b46aa21a40f07decd1");
  const std::string format1 = absl::HexStringToBytes(
      "bbbbbbbbbbbbbbbbbbbbbbbb926de33ebb7956f6053b7fa5abae9032d9d6ccd626f1724bba8508294253736b"
      "e32a9eb2893ff570cfbaf6ed14959240");
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, format2, "key:ref_1").value(), data_key);
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, format1, "key:ref_1").value(), data_key);
  // And this code makes the same bytes from the same draws.
  ScriptedRandom random;
  random.queued = {std::string(16, '\xaa'), std::string(12, '\xbb')};
  EXPECT_EQ(crypto::WrapDataKey(*kek, data_key, "key:ref_1", random).value(), format2);
}

// The bound format 2 lifts: a GCM nonce drawn twice under one key repeats
// its keystream, so the two ciphertexts' XOR is the two data keys' XOR.
TEST(KeyWrapTest, ANonceDrawnTwiceRepeatsNoKeystreamUnderTwoSalts) {
  ScriptedRandom random;
  const auto kek = NewKek(random);
  const std::string first_key = random.Bytes(32), second_key = random.Bytes(32);
  const std::string nonce = random.Bytes(12);
  random.queued = {nonce, nonce};
  const std::string first_v1 = crypto::Seal(kek->bytes(), first_key, "key:ref_1", random).value();
  const std::string second_v1 =
      crypto::Seal(kek->bytes(), second_key, "key:ref_2", random).value();
  EXPECT_EQ(Xor(first_v1.substr(12, 32), second_v1.substr(12, 32)), Xor(first_key, second_key));

  random.queued = {random.Bytes(crypto::kWrapSaltBytes), nonce,
                   random.Bytes(crypto::kWrapSaltBytes), nonce};
  const std::string first = crypto::WrapDataKey(*kek, first_key, "key:ref_1", random).value();
  const std::string second = crypto::WrapDataKey(*kek, second_key, "key:ref_2", random).value();
  ASSERT_EQ(first.substr(kFormat2Header, 12), second.substr(kFormat2Header, 12));
  EXPECT_NE(Xor(first.substr(kFormat2Header + 12, 32), second.substr(kFormat2Header + 12, 32)),
            Xor(first_key, second_key));
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, first, "key:ref_1").value(), first_key);
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, second, "key:ref_2").value(), second_key);
}

TEST(KeyWrapTest, AFormatOneWrapStillOpensAndOnlyForItsReferral) {
  CryptoRandom random;
  const auto kek = NewKek(random);
  const std::string data_key = random.Bytes(32);
  const std::string format1 = crypto::Seal(kek->bytes(), data_key, "key:ref_1", random).value();
  ASSERT_EQ(format1.size(), 60u);
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, format1, "key:ref_1").value(), data_key);
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, format1, "key:ref_2").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KeyWrapTest, AnAlteredMovedOrUnknownWrapDoesNotOpen) {
  CryptoRandom random;
  const auto kek = NewKek(random);
  const std::string data_key = random.Bytes(32);
  const std::string wrapped = crypto::WrapDataKey(*kek, data_key, "key:ref_1", random).value();
  for (size_t at : {size_t{0}, size_t{1}, kFormat2Header - 1, kFormat2Header, wrapped.size() - 1}) {
    std::string altered = wrapped;
    altered[at] = static_cast<char>(altered[at] ^ 0x01);
    EXPECT_EQ(crypto::UnwrapDataKey(*kek, altered, "key:ref_1").status().code(),
              absl::StatusCode::kDataLoss)
        << "byte " << at;
  }
  EXPECT_EQ(crypto::UnwrapDataKey(*kek, wrapped, "key:ref_2").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(crypto::UnwrapDataKey(*NewKek(random), wrapped, "key:ref_1").status().code(),
            absl::StatusCode::kDataLoss);
  for (const std::string& unknown : {wrapped.substr(0, wrapped.size() - 1), wrapped + "x",
                                     std::string()}) {
    auto opened = crypto::UnwrapDataKey(*kek, unknown, "key:ref_1");
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(opened.status().message(),
              "the wrapped data key has no known format (" + std::to_string(unknown.size()) +
                  " bytes)");
  }
}

// A store from before format 2 keeps its wraps; a rotation rewraps them
// into format 2 under the new key.
TEST(KeyWrapTest, ARotationRewrapsAFormatOneKeyIntoFormatTwo) {
  TempDir dir;
  CryptoRandom random;
  const std::string key_dir = dir.path() + "/keys";
  auto ring = crypto::KeyRing::Load(key_dir, true, random).value();
  const std::string old_id = ring->active_key_id();
  const std::string old_kek = hart::testing::ReadText(key_dir + "/" + old_id + ".kek");
  const std::string data_key = random.Bytes(32);
  const crypto::WrappedKey format1{old_id,
                                   crypto::Seal(old_kek, data_key, "key:ref_1", random).value()};
  EXPECT_EQ(ring->Unwrap(format1, "key:ref_1").value(), data_key);
  std::ofstream(key_dir + "/kek-new.kek", std::ios::binary) << random.Bytes(32);
  std::ofstream(key_dir + "/ACTIVE") << "kek-new\n";
  ASSERT_TRUE(ring->Reload().ok());
  const crypto::WrappedKey rewrapped = ring->Rewrap(format1, "key:ref_1").value();
  EXPECT_EQ(rewrapped.key_id, "kek-new");
  ASSERT_EQ(rewrapped.wrapped.size(), kFormat2Header + 60);
  EXPECT_EQ(rewrapped.wrapped[0], '\x02');
  std::filesystem::remove(key_dir + "/" + old_id + ".kek");
  ASSERT_TRUE(ring->Reload().ok());
  EXPECT_EQ(ring->Unwrap(rewrapped, "key:ref_1").value(), data_key);
}

}  // namespace
}  // namespace hart
