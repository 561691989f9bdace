#include "tests/bench/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "tests/bench/read_text.h"

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

struct StatTimes {
  double cpu_seconds = 0;     // utime + stime
  long long start_ticks = 0;  // starttime
};

// From a /proc/<pid>/stat or .../task/<tid>/stat file; nullopt for a zombie
// (exited, not yet reaped) or an unreadable file.
std::optional<StatTimes> ReadStat(const std::string& path) {
  std::ifstream stat_file(path);
  std::string stat;
  if (!stat_file || !std::getline(stat_file, stat)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields
  // are counted from the last ')'. utime and stime are fields 14 and 15,
  // starttime 22.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string state;
  if (!(fields >> state) || state == "Z" || state == "X") return std::nullopt;
  std::string field;
  long long utime = -1, stime = -1, start = -1;
  for (int index = 4; index <= 22 && (fields >> field); ++index) {
    if (index == 14) utime = std::stoll(field);
    if (index == 15) stime = std::stoll(field);
    if (index == 22) start = std::stoll(field);
  }
  if (utime < 0 || stime < 0 || start < 0) return std::nullopt;
  return StatTimes{static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK)),
                   start};
}

// Seconds a thread was runnable but waited for a core: the second field of
// /proc/<pid>/task/<tid>/schedstat, in nanoseconds. 0 when the kernel keeps
// no schedstat (CONFIG_SCHED_INFO off) or the thread ended.
double RunQueueSeconds(const std::string& path) {
  std::ifstream schedstat(path);
  long long on_cpu_ns = 0, waiting_ns = 0;
  if (!(schedstat >> on_cpu_ns >> waiting_ns)) return 0;
  return static_cast<double>(waiting_ns) / 1e9;
}

}  // namespace

std::optional<ProcessSample> SampleProcess(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string base = "/proc/" + std::to_string(pid);
  // A zombie has no memory figures left either.
  const std::optional<StatTimes> times = ReadStat(base + "/stat");
  if (!times) return std::nullopt;

  const std::string status = ReadText(base + "/status");

  ProcessSample sample;
  sample.cpu_seconds = times->cpu_seconds;
  sample.rss_mib = StatusField(status, "VmRSS").value_or(0) / 1024.0;
  sample.peak_rss_mib = StatusField(status, "VmHWM").value_or(0) / 1024.0;
  sample.threads = static_cast<int>(StatusField(status, "Threads").value_or(0));
  // /proc/<pid>/io has the same "key: value" lines.
  sample.disk_write_bytes = StatusField(ReadText(base + "/io"), "write_bytes");
  return sample;
}

std::map<pid_t, ThreadSample> SampleThreads(pid_t pid) {
  std::map<pid_t, ThreadSample> threads;
  if (pid <= 0) return threads;
  std::error_code error;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (std::filesystem::directory_iterator it(tasks, error), end; !error && it != end;
       it.increment(error)) {
    const std::string tid = it->path().filename().string();
    if (tid.empty() || tid.find_first_not_of("0123456789") != std::string::npos) continue;
    // A thread may end between the listing and these reads: it is skipped.
    const std::optional<StatTimes> times = ReadStat(it->path().string() + "/stat");
    std::ifstream comm_file(it->path().string() + "/comm");
    const std::string status = ReadText(it->path().string() + "/status");
    const auto voluntary = StatusField(status, "voluntary_ctxt_switches");
    const auto involuntary = StatusField(status, "nonvoluntary_ctxt_switches");
    std::string name;
    if (!times || !comm_file || !std::getline(comm_file, name) || !voluntary || !involuntary) {
      continue;
    }
    threads[static_cast<pid_t>(std::stol(tid))] = ThreadSample{
        name, times->cpu_seconds, static_cast<long long>(*voluntary),
        static_cast<long long>(*involuntary), times->start_ticks,
        RunQueueSeconds(it->path().string() + "/schedstat")};
  }
  return threads;
}

std::map<std::string, ThreadUsage> ThreadUsageBetween(const std::map<pid_t, ThreadSample>& start,
                                                      const std::map<pid_t, ThreadSample>& end) {
  std::map<std::string, ThreadUsage> by_name;
  for (const auto& [tid, now] : end) {
    const auto before = start.find(tid);
    // A thread id reused by a new thread counts from zero.
    const bool same_thread =
        before != start.end() && before->second.start_ticks == now.start_ticks;
    const ThreadSample base = same_thread ? before->second : ThreadSample{};
    by_name[now.name] += ThreadUsage{now.cpu_seconds - base.cpu_seconds,
                                     now.voluntary_switches - base.voluntary_switches,
                                     now.involuntary_switches - base.involuntary_switches,
                                     now.run_queue_seconds - base.run_queue_seconds};
  }
  return by_name;
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
