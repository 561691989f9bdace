// The listen address of the broker's own HTTPS ports (the ack endpoint, the
// operations port): an IP address literal and a port, "127.0.0.1:9443" or
// "[::1]:9443". Host names are refused: a port must not move when DNS does.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hart {

struct ListenAddress {
  std::string ip;  // without brackets: "127.0.0.1", "::1"
  uint16_t port = 0;  // 0: the kernel picks a free one
};

// INVALID_ARGUMENT saying what is wrong with `text` (not host:port, host not
// an IP address, port out of range), for the caller to prefix with the key.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

}  // namespace hart
