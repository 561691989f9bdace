// hart-admin audit verify: the checks of `hartctl audit verify`, run on a
// stopped broker's store read through the store layer, trusting nothing but
// the checkpoint public key: what is stored, not what a broker chooses to
// serve.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "broker/admin/admin_commands.h"
#include "broker/admin/open_store.h"
#include "broker/admin/store_audit_log.h"
#include "broker/audit/checkpoint_signer.h"
#include "broker/audit/log_verifier.h"
#include "broker/cli/cli_audit_report.h"

ABSL_FLAG(std::string, data_dir, "", "The stopped broker's data directory (its --data-dir).");
ABSL_FLAG(std::string, key_dir, "var/keys",
          "The broker's key directory (its --key-dir), needed to open the store.");
ABSL_FLAG(std::string, public_key, "",
          "The broker's checkpoint public key (PEM), e.g. a copy of "
          "DATA_DIR/audit-signing.key.pub kept apart from the data.");
ABSL_FLAG(bool, json, false,
          "One JSON line: {ok, entries, checkpoints, firstBadIndex, problems}.");

namespace hart::admin {
namespace {

int ReportError(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << std::endl;
  return kExitUsage;
}

absl::StatusOr<std::string> ReadPublicKey() {
  const std::string path = absl::GetFlag(FLAGS_public_key);
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "--public_key is required: the broker's checkpoint public key (e.g. a copy of "
        "DATA_DIR/audit-signing.key.pub kept apart from the data)");
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (absl::Status key = audit::CheckPublicKey(ss.str()); !key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.message()));
  }
  return ss.str();
}

}  // namespace

int RunAuditVerify() {
  auto public_key = ReadPublicKey();
  if (!public_key.ok()) return ReportError(public_key.status());
  AdminStoreOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.key_dir = absl::GetFlag(FLAGS_key_dir);
  auto opened = OpenStoreForAdmin(options);
  if (!opened.ok()) return ReportError(opened.status());
  auto log = ReadAuditLog((*opened)->store());
  if (!log.ok()) return ReportError(log.status());
  log->public_key_pem = *public_key;
  const audit::VerificationReport report = audit::VerifyLog(*log);
  cli::PrintVerificationReport(report, absl::GetFlag(FLAGS_json), std::cout);
  return report.ok ? kExitOk : kExitCheckFailed;
}

}  // namespace hart::admin
