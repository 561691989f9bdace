// SHA-256 through OpenSSL EVP.
#pragma once

#include <string>
#include <string_view>

namespace hart {

// 32 raw bytes.
std::string Sha256(std::string_view data);
std::string HexEncode(std::string_view bytes);

}  // namespace hart
