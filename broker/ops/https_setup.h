// What the broker's own HTTPS servers (the operations port, the ack
// endpoint) share: the TLS context, the listening socket, and the verified
// client certificate of a connection.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/context.hpp"
#include "broker/ops/ops_http.h"

namespace hart::ops {

struct ServerTlsFiles {
  std::string cert_file;  // PEM chain, the server's certificate first
  std::string key_file;
  // Non-empty: client certificates from this CA are requested, not
  // required; one presented must verify (and not be revoked), or the
  // handshake fails. Its name is sent so browsers offer matching ones.
  std::string client_ca_file;
  // Non-empty: CRLs (PEM, <issuer-hash>.r<n>) checked for client
  // certificates; an issuer without one passes, as on the gRPC port.
  std::string crl_dir;
};

// TLS 1.2 or later with `files`. FAILED_PRECONDITION naming the file that
// cannot be loaded; `what` names the server ("ops port").
absl::Status ConfigureServerTls(boost::asio::ssl::context& context, const ServerTlsFiles& files,
                                absl::string_view what);

// Opens, binds and listens on `address` (ListenAddress syntax); returns the
// port bound. INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it
// cannot be bound; messages name `what` and the address.
absl::StatusOr<int> Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address,
                           absl::string_view what);

// The client certificate of a connection after its handshake, if one was
// presented and verified.
std::optional<PeerCertificate> VerifiedPeer(SSL* ssl);

}  // namespace hart::ops
