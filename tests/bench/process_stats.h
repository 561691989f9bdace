// CPU time and memory of a process, read from /proc (Linux).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

namespace hart::bench {

struct ProcessSample {
  double cpu_seconds = 0;   // utime + stime from /proc/<pid>/stat
  double rss_mib = 0;       // VmRSS from /proc/<pid>/status
  double peak_rss_mib = 0;  // VmHWM from /proc/<pid>/status
  int threads = 0;          // Threads from /proc/<pid>/status
  // write_bytes from /proc/<pid>/io: what the process sent, or made dirty
  // for the kernel to send, to storage so far; unset where unreadable.
  std::optional<double> disk_write_bytes;
};

// nullopt when the process does not exist or /proc cannot be read.
std::optional<ProcessSample> SampleProcess(pid_t pid);

// One live thread of a process: its name (/proc/<pid>/task/<tid>/comm), its
// user + system CPU seconds and context switches so far (from .../status:
// voluntary when it waited, involuntary when it was preempted), the seconds
// it was runnable but waited for a core (.../schedstat's second field; 0
// where the kernel keeps no schedstat), and when it started (clock ticks
// after boot), which tells a thread from a later one given the same id.
struct ThreadSample {
  std::string name;
  double cpu_seconds = 0;
  long long voluntary_switches = 0;
  long long involuntary_switches = 0;
  long long start_ticks = 0;
  double run_queue_seconds = 0;
};

// What threads used between two samples.
struct ThreadUsage {
  double cpu_seconds = 0;
  long long voluntary_switches = 0;
  long long involuntary_switches = 0;
  double run_queue_seconds = 0;

  ThreadUsage& operator+=(const ThreadUsage& more) {
    cpu_seconds += more.cpu_seconds;
    voluntary_switches += more.voluntary_switches;
    involuntary_switches += more.involuntary_switches;
    run_queue_seconds += more.run_queue_seconds;
    return *this;
  }
};

// Every live thread of a process by thread id; empty when the process does
// not exist or /proc cannot be read.
std::map<pid_t, ThreadSample> SampleThreads(pid_t pid);

// CPU seconds, context switches and run-queue waits between two samples of
// one process, summed by thread name (a broker names its own threads:
// hart-writer, hart-answer, ...). A thread that started in between (a new
// start time under an id) counts from zero; one that ended in between is
// missing, its CPU only in the process's total.
std::map<std::string, ThreadUsage> ThreadUsageBetween(const std::map<pid_t, ThreadSample>& start,
                                                      const std::map<pid_t, ThreadSample>& end);

// User + system CPU seconds of this process (all threads).
double SelfCpuSeconds();

}  // namespace hart::bench
