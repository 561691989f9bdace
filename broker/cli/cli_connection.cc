#include "broker/cli/cli_connection.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpc/support/log.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

ABSL_FLAG(std::string, target, "127.0.0.1:7443", "Broker address, host:port.");
ABSL_FLAG(std::string, certs_dir, "",
          "Directory with ca.crt and NAME.crt/NAME.key (default: $HART_CERTS_DIR, "
          "else var/certs).");
ABSL_FLAG(std::string, as, "",
          "Certificate to present: NAME.crt and NAME.key in --certs_dir.");
ABSL_FLAG(std::string, agency, "",
          "Agency id for feed and ack; presents agency-<ID>.crt unless --as is given.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Deadline of every unary call.");

namespace hart::cli {
namespace {

// Reads a whole PEM file; NOT_FOUND with a hint when it does not exist.
absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat(
        "certificate file ", path, " not found; run deploy/make-dev-certs.sh ", CertsDir(),
        " [AGENCY_ID ...] to create development certificates, or point "
        "--certs_dir (or HART_CERTS_DIR) at your certificates"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot read ", path, " (check its permissions; keys are mode 600)"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (contents.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  }
  return contents.str();
}

void PrintAssertionsOnly(gpr_log_func_args* args) {
  if (args->message != nullptr && absl::StartsWith(args->message, "assertion failed")) {
    std::fprintf(stderr, "grpc: %s:%d: %s\n", args->file, args->line, args->message);
  }
}

}  // namespace

void QuietGrpcLogs() {
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(PrintAssertionsOnly);
}

std::string CertsDir() {
  if (std::string dir = absl::GetFlag(FLAGS_certs_dir); !dir.empty()) return dir;
  if (const char* env = std::getenv("HART_CERTS_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return "var/certs";
}

std::string IdentityOr(const std::string& default_name) {
  std::string as = absl::GetFlag(FLAGS_as);
  return as.empty() ? default_name : as;
}

absl::StatusOr<std::string> AgencyIdentity(const std::string& command) {
  const std::string agency = absl::GetFlag(FLAGS_agency);
  if (std::string as = absl::GetFlag(FLAGS_as); !as.empty()) {
    // The broker serves the certificate's agency, whatever --agency says.
    if (!agency.empty() && as != absl::StrCat("agency-", agency)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--as ", as, " and --agency ", agency, " disagree: the broker serves the agency of the "
          "certificate; give one of them, or --as agency-", agency));
    }
    return as;
  }
  if (agency.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command, " needs --agency ID (or --as NAME)"));
  }
  return absl::StrCat("agency-", agency);
}

absl::Status ValidateConnectionFlags() {
  if (absl::GetFlag(FLAGS_timeout) <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive, e.g. 10s or 500ms");
  }
  if (absl::GetFlag(FLAGS_target).empty()) {
    return absl::InvalidArgumentError("--target must not be empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& identity) {
  if (identity.empty() || identity.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid certificate name '", identity, "': give NAME of NAME.crt in --certs_dir"));
  }
  const std::string dir = CertsDir();
  grpc::SslCredentialsOptions options;
  auto ca = ReadPem(absl::StrCat(dir, "/ca.crt"));
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem(absl::StrCat(dir, "/", identity, ".crt"));
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(absl::StrCat(dir, "/", identity, ".key"));
  if (!key.ok()) return key.status();
  options.pem_root_certs = std::move(*ca);
  options.pem_cert_chain = std::move(*cert);
  options.pem_private_key = std::move(*key);
  return grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::SslCredentials(options));
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_timeout)));
}

grpc::Status CallPaced(const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto wait = std::chrono::milliseconds(20);
  for (;;) {
    grpc::ClientContext context;
    SetDeadline(context);
    grpc::Status status = call(context);
    const bool rate_limited = status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                              absl::StartsWith(status.error_message(), "rate limit");
    if (!rate_limited || std::chrono::steady_clock::now() + wait > give_up) return status;
    std::this_thread::sleep_for(wait);
    wait = std::min<std::chrono::milliseconds>(2 * wait, std::chrono::seconds(1));
  }
}

}  // namespace hart::cli
