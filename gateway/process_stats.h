// ReadProcessStats: this process's CPU time, memory, file descriptors and
// start time, read from Linux's /proc, for the standard Prometheus process_*
// metrics on /metrics (the names every Prometheus client library exports,
// so existing dashboards and alerts, e.g. on open fds near the limit, work).
//
// Thread-safety: a free function with no shared state; each call reads
// /proc afresh.
#ifndef GATEWAY_PROCESS_STATS_H_
#define GATEWAY_PROCESS_STATS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpgate {

struct ProcessStats {
  double cpu_seconds = 0;         // User + system CPU time used so far.
  int64_t resident_bytes = 0;     // Resident set size.
  int64_t virtual_bytes = 0;      // Virtual memory size.
  int64_t open_fds = 0;           // File descriptors open now.
  int64_t max_fds = 0;            // The soft RLIMIT_NOFILE.
  double start_time_seconds = 0;  // Process start, seconds since the Unix epoch.
};

// Errors: UNAVAILABLE when /proc cannot be read (not Linux, or not mounted).
[[nodiscard]] absl::StatusOr<ProcessStats> ReadProcessStats();

// The parts of ReadProcessStats that do not touch the system: the content
// of /proc/self/stat and the "btime" of /proc/stat, with the clock tick and
// page size. Errors: UNAVAILABLE naming what could not be parsed.
[[nodiscard]] absl::StatusOr<ProcessStats> ParseProcessStat(absl::string_view self_stat, absl::string_view proc_stat,
                                                            int64_t ticks_per_second, int64_t page_bytes);

}  // namespace tcpgate

#endif  // GATEWAY_PROCESS_STATS_H_
