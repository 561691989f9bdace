// hart-admin: maintenance of a stopped broker's store, opened through the
// store layer (whatever the backend), on the broker's host. hartctl, the
// broker's remote client, never reads the store itself.
//   hart-admin audit verify --data_dir DIR --public_key FILE [--key_dir DIR]
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "broker/admin/admin_commands.h"
#include "broker/common/flag_names.h"

namespace {

constexpr char kUsage[] = R"(hart-admin: maintenance of a stopped HART broker's store.

usage: hart-admin COMMAND [flags]

commands:
  audit verify --data_dir DIR --public_key FILE [--key_dir DIR] [--json]
                          read the audit log from the store in DIR and check it the way
                          `hartctl audit verify` checks a running broker: every entry
                          re-hashed, the tree rebuilt, every signed checkpoint, their order
                          and consistency; names the first index that disagrees.
                          --key_dir is the broker's key directory (default var/keys).
                          Refused while a broker runs on DIR: stop it first, or verify it
                          online with `hartctl audit verify`.

Flags may be written with dashes or underscores (--data-dir, --data_dir).
Exit status: 0 the check passed, 1 it found a problem, 2 usage or local error
(including a broker still running on the data directory).
)";

// absl::ParseCommandLine exits with status 1 on a bad flag, which here means
// "the check failed"; while parsing, an exit becomes the usage status 2.
bool g_parsing_flags = false;

void ExitAsUsageErrorWhileParsing() {
  if (!g_parsing_flags) return;
  std::cerr << "Run 'hart-admin --help' for usage." << std::endl;
  std::fflush(nullptr);
  std::_Exit(hart::admin::kExitUsage);
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return false;
    if (std::strcmp(arg, "-h") == 0 || std::strncmp(arg, "--help", 6) == 0 ||
        std::strncmp(arg, "-help", 5) == 0) {
      return true;
    }
  }
  return argc >= 2 && std::strcmp(argv[1], "help") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hart::admin;
  absl::SetProgramUsageMessage(kUsage);
  if (WantsHelp(argc, argv)) {
    std::cout << kUsage;
    return kExitOk;
  }
  hart::NormalizeFlagNames(argc, argv);
  std::atexit(ExitAsUsageErrorWhileParsing);
  g_parsing_flags = true;
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  g_parsing_flags = false;

  const std::vector<std::string> command(positional.begin() + 1, positional.end());
  if (command.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  if (command == std::vector<std::string>{"audit", "verify"}) return RunAuditVerify();
  std::cerr << "error: unknown command '" << absl::StrJoin(command, " ")
            << "'; commands: audit verify (see hart-admin --help)" << std::endl;
  return kExitUsage;
}
