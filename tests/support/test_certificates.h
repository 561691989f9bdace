// Throwaway PKI for TLS tests: a test CA, a server certificate for
// 127.0.0.1 / localhost and a client certificate signed by it, and a second,
// unrelated CA for "wrong CA" cases. Keys are EC P-256; everything is made
// in-process with the OpenSSL API (no openssl CLI needed).
//
// Thread safety: MakeTestCertificates may run concurrently for different
// directories.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace hart::testing {

// PEM files in `dir`.
struct TestCertificates {
  std::string dir;
  std::string ca_file;
  std::string server_cert_file;  // SAN IP:127.0.0.1, DNS:localhost; serverAuth
  std::string server_key_file;
  std::string client_cert_file;  // signed by ca_file; clientAuth
  std::string client_key_file;
  std::string other_ca_file;     // an unrelated CA, for "wrong CA" tests
  // Signed by ca_file; clientAuth; SAN URI kTestIdentityUri.
  std::string identity_cert_file;
  std::string identity_key_file;
  // Signed by other_ca_file; clientAuth: a certificate the server must refuse.
  std::string stranger_cert_file;
  std::string stranger_key_file;
};

// The identity identity_cert_file names (a supervisor, as the broker's
// certificates name identities).
inline constexpr char kTestIdentityUri[] = "spiffe://hart.ct.gov/supervisor/test-supervisor";

// Writes a fresh set into `dir` (which must exist); keys get mode 600.
absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir);

}  // namespace hart::testing
