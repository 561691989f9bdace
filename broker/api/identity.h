// Who is calling: the identity named by the peer's mTLS client certificate.
// The certificate carries a SAN URI  spiffe://hart.ct.gov/<role>/<id>
//   careline/<system>   an intake system of the DCF Careline
//   agency/<agency-id>  a partner agency (the id of the broker config)
//   supervisor/<name>   a DCF HART coordinator or Careline supervisor
//   auditor/<name>      an auditor or court
//   operator/<name>     an operator
// The CA that signs these is the broker's trust root (deploy/make-dev-certs.sh
// makes a development one).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_context.h"

namespace hart {

enum class Role { kCareline, kAgency, kSupervisor, kAuditor, kOperator, kBroker };

struct Identity {
  Role role = Role::kAgency;
  std::string id;  // the agency id for kAgency
  // "role/id", as recorded in the audit log.
  std::string ToString() const;
};

inline constexpr char kIdentityUriPrefix[] = "spiffe://hart.ct.gov/";

std::string RoleName(Role role);

// Parses "spiffe://hart.ct.gov/<role>/<id>".
absl::StatusOr<Identity> ParseIdentityUri(const std::string& uri);

// UNAUTHENTICATED if the peer presented no certificate with such a URI.
absl::StatusOr<Identity> IdentityFromAuthContext(const grpc::AuthContext& context);

}  // namespace hart
