#include "broker/crypto/key_ring.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"
#include "broker/common/sha256.h"
#include "broker/crypto/aead.h"
#include "broker/crypto/key_wrap.h"

namespace hart::crypto {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A key-encryption key file: exactly kKeyBytes bytes.
absl::StatusOr<std::shared_ptr<const Kek>> ReadKeyFile(const fs::path& path) {
  auto key = ReadAll(path);
  if (!key.ok()) return key.status();
  if (key->size() != kKeyBytes) {
    return absl::FailedPreconditionError(absl::StrCat(path.string(), " is not a 32-byte key"));
  }
  auto kek = Kek::Make(*std::move(key));
  if (!kek.ok()) {
    return absl::Status(kek.status().code(),
                        absl::StrCat(path.string(), ": ", kek.status().message()));
  }
  return kek;
}

absl::Status WritePrivate(const fs::path& path, const std::string& bytes) {
  const mode_t old_mask = umask(077);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  umask(old_mask);
  return out ? absl::OkStatus()
             : absl::FailedPreconditionError(absl::StrCat("cannot write ", path.string()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::Load(const std::string& directory,
                                                       bool create_if_empty,
                                                       RandomSource& random) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  fs::permissions(directory, fs::perms::owner_all, ec);
  auto ring = std::unique_ptr<KeyRing>(new KeyRing(directory, random));
  bool any = false;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    if (entry.path().extension() == ".kek") any = true;
  }
  if (!any) {
    if (!create_if_empty) {
      return absl::FailedPreconditionError(
          absl::StrCat("no key-encryption key (*.kek) in ", directory));
    }
    const std::string key = random.Bytes(kKeyBytes);
    const std::string id = absl::StrCat("kek-", HexEncode(Sha256(key)).substr(0, 12));
    if (auto s = WritePrivate(fs::path(directory) / (id + ".kek"), key); !s.ok()) return s;
    if (auto s = WritePrivate(fs::path(directory) / "ACTIVE", id + "\n"); !s.ok()) return s;
  }
  if (auto s = ring->Reload(); !s.ok()) return s;
  return ring;
}

absl::Status KeyRing::Reload() {
  absl::MutexLock reloading(&reload_mu_);
  std::map<std::string, std::shared_ptr<const Kek>> keys;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().extension() != ".kek") continue;
    auto key = ReadKeyFile(entry.path());
    if (!key.ok()) return key.status();
    keys[entry.path().stem().string()] = *key;
  }
  auto active = ReadAll(fs::path(directory_) / "ACTIVE");
  if (!active.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(directory_, "/ACTIVE must name the key id that wraps new data keys"));
  }
  std::string id(absl::StripAsciiWhitespace(*active));
  if (!keys.count(id)) {
    return absl::FailedPreconditionError(
        absl::StrCat(directory_, "/ACTIVE names '", id, "' but there is no ", id, ".kek"));
  }
  absl::MutexLock lock(&mu_);
  keys_ = std::move(keys);
  active_ = std::move(id);
  return absl::OkStatus();
}

std::string KeyRing::active_key_id() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

std::pair<std::string, std::shared_ptr<const Kek>> KeyRing::Active() const {
  absl::MutexLock lock(&mu_);
  return {active_, keys_.at(active_)};
}

absl::StatusOr<std::pair<std::string, WrappedKey>> KeyRing::NewDataKey(const std::string& context) {
  const std::string data_key = random_.Bytes(kKeyBytes);
  auto [id, kek] = Active();
  auto wrapped = WrapDataKey(*kek, data_key, context, nonces_);
  if (!wrapped.ok()) return wrapped.status();
  return std::make_pair(data_key, WrappedKey{id, *wrapped});
}

std::shared_ptr<const Kek> KeyRing::Find(const std::string& key_id) const {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return nullptr;
  return it->second;
}

std::shared_ptr<const Kek> KeyRing::LoadAddedKey(const std::string& key_id) {
  // The id comes from a stored row: it names a file of the key directory
  // and nothing outside it.
  if (key_id.empty() || key_id.front() == '.' || key_id.find('/') != std::string::npos) {
    return nullptr;
  }
  // Still missing, the caller's error says so (a line per miss here would
  // flood the log while a key file is missing).
  auto key = ReadKeyFile(fs::path(directory_) / (key_id + ".kek"));
  if (!key.ok()) return nullptr;
  {
    absl::MutexLock lock(&mu_);
    keys_.emplace(key_id, *key);  // ACTIVE stays: only a reload changes it
  }
  Logger("keys")->info("event=key_loaded_on_first_use key_id={}", key_id);
  return *std::move(key);
}

absl::StatusOr<std::string> KeyRing::Unwrap(const WrappedKey& wrapped,
                                            const std::string& context) {
  std::shared_ptr<const Kek> kek = Find(wrapped.key_id);
  // Added since this ring last read the directory: another replica's
  // rotation wrapped the data key before this one was told (SIGHUP).
  if (!kek) kek = LoadAddedKey(wrapped.key_id);
  if (!kek) {
    return absl::UnavailableError(absl::StrCat(
        "key-encryption key '", wrapped.key_id, "' is not in the key directory: put its .kek "
        "file back (the data it wraps is intact and opens then)"));
  }
  return UnwrapDataKey(*kek, wrapped.wrapped, context);
}

absl::StatusOr<WrappedKey> KeyRing::Rewrap(const WrappedKey& wrapped, const std::string& context) {
  if (wrapped.key_id == active_key_id()) return wrapped;
  auto data_key = Unwrap(wrapped, context);
  if (!data_key.ok()) return data_key.status();
  auto [id, kek] = Active();
  auto sealed = WrapDataKey(*kek, *data_key, context, nonces_);
  if (!sealed.ok()) return sealed.status();
  return WrappedKey{id, *sealed};
}

}  // namespace hart::crypto
