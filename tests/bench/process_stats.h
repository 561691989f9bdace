// CPU time and memory of a process, read from /proc (Linux).
#pragma once

#include <sys/types.h>

#include <optional>

namespace hart::bench {

struct ProcessSample {
  double cpu_seconds = 0;   // utime + stime from /proc/<pid>/stat
  double rss_mib = 0;       // VmRSS from /proc/<pid>/status
  double peak_rss_mib = 0;  // VmHWM from /proc/<pid>/status
  int threads = 0;          // Threads from /proc/<pid>/status
};

// nullopt when the process does not exist or /proc cannot be read.
std::optional<ProcessSample> SampleProcess(pid_t pid);

// User + system CPU seconds of this process (all threads).
double SelfCpuSeconds();

}  // namespace hart::bench
