// The webhook signature: the partner recomputes it to know a request came
// from the broker and was not altered or replayed (see README.md).
//   X-Hart-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
// (lower-case hex).
//
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string>

namespace hart::adapters::webhook {

inline constexpr char kSignatureHeader[] = "X-Hart-Signature";
// The shortest HMAC key the adapter accepts.
inline constexpr size_t kMinSecretBytes = 32;

// The X-Hart-Signature header value for `body` sent at `unix_seconds`.
std::string WebhookSignature(const std::string& secret, int64_t unix_seconds,
                             const std::string& body);

}  // namespace hart::adapters::webhook
