// One named spdlog logger per module, JSON lines on stderr.
// Messages are "event key=value ..." with ids, counts and codes only: never
// a name, birth date, phone number or narrative (SPEC §7).
#pragma once

#include <memory>
#include <string>

#include "spdlog/spdlog.h"

namespace hart {

// Sets the JSON-lines format and level ("debug", "info", "warn", ...) once.
void InitLogging(const std::string& level);

// The module's logger, created on first use.
std::shared_ptr<spdlog::logger> Logger(const std::string& module);

}  // namespace hart
