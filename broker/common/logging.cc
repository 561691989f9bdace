#include "broker/common/logging.h"

#include <mutex>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace hart {

namespace {
constexpr char kPattern[] =
    R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%v"})";
}

void InitLogging(const std::string& level) {
  spdlog::set_pattern(kPattern, spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
}

std::shared_ptr<spdlog::logger> Logger(const std::string& module) {
  if (auto existing = spdlog::get(module)) return existing;
  // Two threads asking for a new module's logger at once must not both
  // register it: spdlog throws on the second, which ended a broker just
  // after a restart (the intake and escalation threads logged first together).
  static std::mutex creating;
  std::lock_guard<std::mutex> lock(creating);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  logger->set_pattern(kPattern, spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::get_level());
  return logger;
}

}  // namespace hart
