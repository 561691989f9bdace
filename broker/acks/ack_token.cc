#include "broker/acks/ack_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hart {
namespace {

constexpr char kContext[] = "hart.ct.gov/ack-token/v1\n";
constexpr size_t kKeyBytes = 32;

}  // namespace

absl::StatusOr<std::unique_ptr<AckTokens>> AckTokens::LoadOrCreate(const std::string& path,
                                                                    RandomSource& random) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::ostringstream content;
    content << in.rdbuf();
    if (content.str().size() < kKeyBytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ack token key ", path, " is shorter than ", kKeyBytes, " bytes; delete it to make a new one"));
    }
    return std::make_unique<AckTokens>(content.str());
  }
  const std::string key = random.Bytes(kKeyBytes);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ack token key ", path));
  }
  const bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ack token key ", path));
  }
  return std::make_unique<AckTokens>(key);
}

AckTokens::AckTokens(std::string key) : key_(std::move(key)) {}

std::string AckTokens::TokenFor(std::string_view delivery_id) const {
  const std::string message = absl::StrCat(kContext, std::string(delivery_id));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return absl::StrCat("v1.", absl::WebSafeBase64Escape(absl::string_view(
                                 reinterpret_cast<const char*>(mac), mac_len)));
}

bool AckTokens::Verify(std::string_view delivery_id, std::string_view token) const {
  const std::string expected = TokenFor(delivery_id);
  return token.size() == expected.size() &&
         CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

}  // namespace hart
