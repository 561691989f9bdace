#include "broker/common/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hart {
namespace {

bool IsIpLiteral(const std::string& ip) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, ip.c_str(), bytes) == 1 || inet_pton(AF_INET6, ip.c_str(), bytes) == 1;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not IP:port (e.g. \"127.0.0.1:9443\" or \"[::1]:9443\")"));
  }
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': the port must be a number from 0 to 65535"));
  }
  ListenAddress address{std::string(host), static_cast<uint16_t>(port)};
  if (!IsIpLiteral(address.ip)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "': the host must be an IP address (IPv6 in brackets), not a name"));
  }
  return address;
}

}  // namespace hart
