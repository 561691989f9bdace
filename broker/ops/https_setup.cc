#include "broker/ops/https_setup.h"

#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/common/listen_address.h"

namespace hart::ops {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// As gRPC does with a CRL directory: an issuer that has no CRL there is not
// a failure (its certificates are checked like without CRLs).
int VerifyAllowingMissingCrl(int ok, X509_STORE_CTX* store) {
  if (!ok && X509_STORE_CTX_get_error(store) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  return ok;
}

absl::Status CannotLoad(absl::string_view what, absl::string_view kind, const std::string& file,
                        const std::string& why) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": cannot load ", kind, " ", file, ": ", why));
}

}  // namespace

absl::Status ConfigureServerTls(ssl::context& context, const ServerTlsFiles& files,
                                absl::string_view what) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  context.use_certificate_chain_file(files.cert_file, ec);
  if (ec) return CannotLoad(what, "certificate", files.cert_file, ec.message());
  context.use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) return CannotLoad(what, "key", files.key_file, ec.message());
  if (files.client_ca_file.empty()) return absl::OkStatus();
  context.load_verify_file(files.client_ca_file, ec);
  if (ec) return CannotLoad(what, "CA", files.client_ca_file, ec.message());
  SSL_CTX* native = context.native_handle();
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
  if (names == nullptr) return CannotLoad(what, "CA", files.client_ca_file, "no certificate");
  SSL_CTX_set_client_CA_list(native, names);  // takes ownership
  // Requested, not required: without verify_fail_if_no_peer_cert.
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, &VerifyAllowingMissingCrl);
  // No session resumption: every connection proves its certificate again
  // (a revoked one is not carried on by a ticket), and a browser's parallel
  // connections cannot fail on a resumption OpenSSL refuses for want of a
  // session id context (ERR_SSL_PROTOCOL_ERROR in Chromium).
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  static constexpr unsigned char kSessionContext[] = "hart-https";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  if (!files.crl_dir.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
    if (lookup == nullptr ||
        X509_LOOKUP_add_dir(lookup, files.crl_dir.c_str(), X509_FILETYPE_PEM) != 1) {
      return CannotLoad(what, "CRL directory", files.crl_dir, "not usable");
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Listen(tcp::acceptor& acceptor, const std::string& text,
                           absl::string_view what) {
  auto address = ParseListenAddress(text);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " listen address ", address.status().message()));
  }
  boost::system::error_code ec;
  const tcp::endpoint at(asio::ip::make_address(address->ip, ec), address->port);
  if (!ec) acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat(what, " cannot listen on ", text, ": ", ec.message()));
  }
  return acceptor.local_endpoint().port();
}

std::optional<PeerCertificate> VerifiedPeer(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerCertificate peer;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    peer.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                           static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio != nullptr &&
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    if (size > 0) peer.subject.assign(data, static_cast<size_t>(size));
  }
  return peer;
}

}  // namespace hart::ops
