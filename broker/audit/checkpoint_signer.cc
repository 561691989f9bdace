#include "broker/audit/checkpoint_signer.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/sha256.h"
#include "broker/common/time_util.h"

namespace hart::audit {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string PublicPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Pkey ParsePublicPem(const std::string& pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

struct CheckpointSigner::Key {
  Pkey pkey;
};

std::string CheckpointNote(uint64_t tree_size, const std::string& root_hash,
                           absl::Time timestamp) {
  return absl::StrCat("hart.ct.gov/audit/v1\n", tree_size, "\n", absl::Base64Escape(root_hash),
                      "\n", absl::ToUnixMicros(timestamp), "\n");
}

absl::StatusOr<std::string> KeyIdOf(const std::string& public_key_pem) {
  Pkey key = ParsePublicPem(public_key_pem);
  if (!key) return absl::InvalidArgumentError("not a PEM public key");
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key.get(), &der);
  if (n <= 0) return absl::InvalidArgumentError("cannot encode the public key");
  const std::string digest = Sha256(std::string(reinterpret_cast<char*>(der), n));
  OPENSSL_free(der);
  return HexEncode(digest.substr(0, 8));
}

CheckpointSigner::CheckpointSigner(std::unique_ptr<Key> key, std::string public_key_pem,
                                   std::string key_id)
    : key_(std::move(key)), public_key_pem_(std::move(public_key_pem)), key_id_(std::move(key_id)) {}

CheckpointSigner::~CheckpointSigner() = default;

absl::StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::LoadOrCreate(
    const std::string& path) {
  Pkey pkey;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    pkey.reset(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!pkey || EVP_PKEY_id(pkey.get()) != EVP_PKEY_ED25519) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a PEM Ed25519 private key"));
    }
  } else {
    EVP_PKEY* generated = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &generated) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return absl::InternalError("cannot generate an Ed25519 key");
    pkey.reset(generated);
    const mode_t old_mask = umask(077);
    FILE* out = std::fopen(path.c_str(), "w");
    umask(old_mask);
    if (out == nullptr) return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
    const bool written =
        PEM_write_PrivateKey(out, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(out);
    if (!written) return absl::InternalError(absl::StrCat("cannot write ", path));
    std::ofstream(path + ".pub") << PublicPem(pkey.get());
  }
  const std::string pem = PublicPem(pkey.get());
  auto key_id = KeyIdOf(pem);
  if (!key_id.ok()) return key_id.status();
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<CheckpointSigner>(
      new CheckpointSigner(std::move(key), pem, std::move(*key_id)));
}

absl::StatusOr<hart::referral::v1::Checkpoint> CheckpointSigner::Sign(
    uint64_t tree_size, const std::string& root_hash, absl::Time timestamp) const {
  hart::referral::v1::Checkpoint checkpoint;
  checkpoint.set_tree_size(tree_size);
  checkpoint.set_root_hash(root_hash);
  *checkpoint.mutable_timestamp() = ToProtoTime(absl::FromUnixMicros(absl::ToUnixMicros(timestamp)));
  checkpoint.set_key_id(key_id_);
  checkpoint.set_signed_note(CheckpointNote(tree_size, root_hash, timestamp));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t length = 64;
  std::string signature(length, '\0');
  const auto& note = checkpoint.signed_note();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(note.data()), note.size()) != 1) {
    return absl::InternalError("Ed25519 signing failed");
  }
  signature.resize(length);
  checkpoint.set_signature(signature);
  return checkpoint;
}

namespace {
bool IsEd25519(const Pkey& key) { return key && EVP_PKEY_id(key.get()) == EVP_PKEY_ED25519; }
constexpr char kNotEd25519[] = "the public key is not a PEM Ed25519 key";
}  // namespace

absl::Status CheckPublicKey(const std::string& public_key_pem) {
  if (IsEd25519(ParsePublicPem(public_key_pem))) return absl::OkStatus();
  return absl::InvalidArgumentError(kNotEd25519);
}

absl::Status VerifyCheckpoint(const hart::referral::v1::Checkpoint& checkpoint,
                              const std::string& public_key_pem) {
  Pkey key = ParsePublicPem(public_key_pem);
  if (!IsEd25519(key)) return absl::InvalidArgumentError(kNotEd25519);
  const absl::Time timestamp = FromProtoTime(checkpoint.timestamp());
  if (checkpoint.signed_note() !=
      CheckpointNote(checkpoint.tree_size(), checkpoint.root_hash(), timestamp)) {
    return absl::DataLossError(absl::StrCat("checkpoint at size ", checkpoint.tree_size(),
                                            ": its note does not match its fields"));
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const auto& note = checkpoint.signed_note();
  const auto& sig = checkpoint.signature();
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(note.data()), note.size()) != 1) {
    return absl::DataLossError(absl::StrCat("checkpoint at size ", checkpoint.tree_size(),
                                            ": the signature does not verify with this key"));
  }
  return absl::OkStatus();
}

}  // namespace hart::audit
