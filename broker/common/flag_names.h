// Lets users spell flags with dashes (--check-config) although absl flags
// are declared with underscores (check_config).
#pragma once

namespace hart {

// Rewrites, in place, "--some-flag[=value]" to "--some_flag[=value]" for
// every argument before a bare "--". Single-dash arguments (values such as
// "-late-report") are left untouched.
void NormalizeFlagNames(int argc, char** argv);

}  // namespace hart
