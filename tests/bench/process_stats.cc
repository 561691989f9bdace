#include "tests/bench/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace hart::bench {
namespace {

// The value of "Key:   123 kB" lines of /proc/<pid>/status, in the file's unit.
std::optional<double> StatusField(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    double value = 0;
    if (fields >> value) return value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcessSample> SampleProcess(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(base + "/stat");
  std::string stat;
  if (!stat_file || !std::getline(stat_file, stat)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields
  // are counted from the last ')'. utime and stime are fields 14 and 15.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string state;
  // A zombie (exited, not yet reaped) has no memory figures left.
  if (!(fields >> state) || state == "Z" || state == "X") return std::nullopt;
  std::string field;
  long long utime = -1, stime = -1;
  for (int index = 4; index <= 15 && (fields >> field); ++index) {
    if (index == 14) utime = std::stoll(field);
    if (index == 15) stime = std::stoll(field);
  }
  if (utime < 0 || stime < 0) return std::nullopt;

  std::ifstream status_file(base + "/status");
  std::stringstream status;
  status << status_file.rdbuf();

  ProcessSample sample;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  sample.rss_mib = StatusField(status.str(), "VmRSS").value_or(0) / 1024.0;
  sample.peak_rss_mib = StatusField(status.str(), "VmHWM").value_or(0) / 1024.0;
  sample.threads = static_cast<int>(StatusField(status.str(), "Threads").value_or(0));
  return sample;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace hart::bench
