#include "tests/support/test_certificates.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hart::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

absl::Status OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat("test certificates: ", what, ": ", text));
}

struct Issuer {
  X509* cert;
  EVP_PKEY* key;
};

// `issuer` empty: self-signed.
absl::StatusOr<Cert> MakeCertificate(EVP_PKEY* subject_key, const std::string& common_name,
                                     const std::vector<std::pair<int, std::string>>& extensions,
                                     std::optional<Issuer> issuer) {
  Cert cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
    return OpenSslError("serial");
  }
  serial >>= 1;  // positive
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return OpenSslError("certificate fields");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return OpenSslError("subject");
  }
  X509* issuer_cert = issuer ? issuer->cert : cert.get();
  EVP_PKEY* signing_key = issuer ? issuer->key : subject_key;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1) {
    return OpenSslError("issuer");
  }
  for (const auto& [nid, value] : extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) return OpenSslError(absl::StrCat("extension ", value));
    const int added = X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    if (added != 1) return OpenSslError(absl::StrCat("extension ", value));
  }
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) == 0) return OpenSslError("sign");
  return cert;
}

absl::StatusOr<Key> MakeKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EC key");
  return key;
}

// Opens `path` for writing with `mode` (truncating).
absl::StatusOr<FILE*> OpenForWrite(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("test certificates: cannot write ", path));
  ::fchmod(fd, mode);
  FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("test certificates: cannot write ", path));
  }
  return file;
}

absl::Status WriteCert(const std::string& path, X509* cert) {
  auto file = OpenForWrite(path, 0644);
  if (!file.ok()) return file.status();
  const bool ok = PEM_write_X509(*file, cert) == 1;
  std::fclose(*file);
  return ok ? absl::OkStatus() : OpenSslError(absl::StrCat("write ", path));
}

absl::Status WriteKey(const std::string& path, EVP_PKEY* key) {
  auto file = OpenForWrite(path, 0600);
  if (!file.ok()) return file.status();
  const bool ok =
      PEM_write_PrivateKey(*file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(*file);
  return ok ? absl::OkStatus() : OpenSslError(absl::StrCat("write ", path));
}

const std::vector<std::pair<int, std::string>> kCaExtensions = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};

std::vector<std::pair<int, std::string>> LeafExtensions(const std::string& eku,
                                                        const std::string& san) {
  std::vector<std::pair<int, std::string>> ext = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, eku},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid"},
  };
  if (!san.empty()) ext.emplace_back(NID_subject_alt_name, san);
  return ext;
}

}  // namespace

absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir) {
  TestCertificates out;
  out.dir = dir;
  out.ca_file = dir + "/ca.crt";
  out.server_cert_file = dir + "/server.crt";
  out.server_key_file = dir + "/server.key";
  out.client_cert_file = dir + "/client.crt";
  out.client_key_file = dir + "/client.key";
  out.other_ca_file = dir + "/other-ca.crt";
  out.identity_cert_file = dir + "/identity.crt";
  out.identity_key_file = dir + "/identity.key";
  out.stranger_cert_file = dir + "/stranger.crt";
  out.stranger_key_file = dir + "/stranger.key";

  auto ca_key = MakeKey();
  if (!ca_key.ok()) return ca_key.status();
  auto ca = MakeCertificate(ca_key->get(), "HART test CA", kCaExtensions, std::nullopt);
  if (!ca.ok()) return ca.status();
  const Issuer issuer{ca->get(), ca_key->get()};

  auto server_key = MakeKey();
  if (!server_key.ok()) return server_key.status();
  auto server = MakeCertificate(server_key->get(), "localhost",
                                LeafExtensions("serverAuth", "IP:127.0.0.1,DNS:localhost"),
                                issuer);
  if (!server.ok()) return server.status();

  auto client_key = MakeKey();
  if (!client_key.ok()) return client_key.status();
  auto client = MakeCertificate(client_key->get(), "hart-broker",
                                LeafExtensions("clientAuth", "DNS:hart-broker.test"), issuer);
  if (!client.ok()) return client.status();

  auto other_key = MakeKey();
  if (!other_key.ok()) return other_key.status();
  auto other = MakeCertificate(other_key->get(), "Unrelated test CA", kCaExtensions,
                               std::nullopt);
  if (!other.ok()) return other.status();

  auto identity_key = MakeKey();
  if (!identity_key.ok()) return identity_key.status();
  auto identity = MakeCertificate(
      identity_key->get(), "Test Supervisor",
      LeafExtensions("clientAuth", absl::StrCat("URI:", kTestIdentityUri)), issuer);
  if (!identity.ok()) return identity.status();

  auto stranger_key = MakeKey();
  if (!stranger_key.ok()) return stranger_key.status();
  auto stranger = MakeCertificate(
      stranger_key->get(), "Stranger",
      LeafExtensions("clientAuth", absl::StrCat("URI:", kTestIdentityUri)),
      Issuer{other->get(), other_key->get()});
  if (!stranger.ok()) return stranger.status();

  for (const auto& [path, cert] : {std::pair{out.ca_file, ca->get()},
                                   std::pair{out.server_cert_file, server->get()},
                                   std::pair{out.client_cert_file, client->get()},
                                   std::pair{out.other_ca_file, other->get()},
                                   std::pair{out.identity_cert_file, identity->get()},
                                   std::pair{out.stranger_cert_file, stranger->get()}}) {
    if (auto s = WriteCert(path, cert); !s.ok()) return s;
  }
  for (const auto& [path, key] : {std::pair{out.server_key_file, server_key->get()},
                                  std::pair{out.client_key_file, client_key->get()},
                                  std::pair{out.identity_key_file, identity_key->get()},
                                  std::pair{out.stranger_key_file, stranger_key->get()}}) {
    if (auto s = WriteKey(path, key); !s.ok()) return s;
  }
  return out;
}

}  // namespace hart::testing
