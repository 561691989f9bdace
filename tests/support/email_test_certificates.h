// A throwaway PKI for the e-mail adapter's tests, made with the OpenSSL
// API (no openssl CLI): a CA, a server certificate it signs for
// 127.0.0.1 and localhost, and an unrelated CA for "wrong CA" cases.
// EC P-256 keys, valid from an hour ago for two days.
//
// Thread safety: MakeEmailTestCertificates may run concurrently for
// different directories.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace hart::testing {

struct EmailTestCertificates {
  std::string ca_file;           // PEM: the CA that signed server_cert_file
  std::string server_cert_file;  // PEM: SAN IP:127.0.0.1, DNS:localhost; serverAuth
  std::string server_key_file;   // PEM private key, mode 600
  std::string other_ca_file;     // PEM: a CA that signed nothing here
};

// Writes the files into `dir` (which must exist).
absl::StatusOr<EmailTestCertificates> MakeEmailTestCertificates(const std::string& dir);

}  // namespace hart::testing
