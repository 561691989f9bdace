#include "broker/common/flag_names.h"

#include <cstring>

namespace hart {

void NormalizeFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) return;
    // Only "--name" forms: a value such as "-late-report" stays as typed.
    if (arg[0] != '-' || arg[1] != '-') continue;
    char* name = arg + 2;
    for (char* p = name; *p != '\0' && *p != '='; ++p) {
      if (*p == '-') *p = '_';
    }
  }
}

}  // namespace hart
