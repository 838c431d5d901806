// ProcessStatsReader: this process's CPU time, memory, file descriptors and
// start time, read from Linux's /proc, for the standard Prometheus process_*
// metrics on /metrics (the names every Prometheus client library exports,
// so existing dashboards and alerts, e.g. on open fds near the limit, work).
// The start time is read once, when the reader is made (later wall-clock
// steps must not look like a restart); the rest at every Read().
//
// Thread-safety: Read() is const and safe from any thread; each call reads
// /proc afresh.
#ifndef GATEWAY_PROCESS_STATS_H_
#define GATEWAY_PROCESS_STATS_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tcpgate {

// Each figure is absent when it could not be read; `problem` then says why
// (OK when every figure is there).
struct ProcessStats {
  std::optional<double> cpu_seconds;         // User + system CPU time used so far.
  std::optional<int64_t> resident_bytes;     // Resident set size.
  std::optional<int64_t> virtual_bytes;      // Virtual memory size.
  std::optional<int64_t> open_fds;           // File descriptors open now.
  std::optional<int64_t> max_fds;            // The soft RLIMIT_NOFILE.
  std::optional<double> start_time_seconds;  // Process start, seconds since the Unix epoch.
  absl::Status problem;
};

class ProcessStatsReader {
 public:
  ProcessStatsReader();
  ProcessStats Read() const;

 private:
  absl::StatusOr<double> start_time_seconds_;
};

// What /proc/self/stat says (fields 14, 15, 22, 23, 24 of proc(5)).
struct ProcessStatFields {
  int64_t user_ticks = 0;
  int64_t system_ticks = 0;
  int64_t start_ticks = 0;  // Since boot.
  int64_t virtual_bytes = 0;
  int64_t resident_pages = 0;
};

// Parses the content of /proc/self/stat. Errors: UNAVAILABLE naming what
// could not be parsed.
[[nodiscard]] absl::StatusOr<ProcessStatFields> ParseProcessStat(absl::string_view self_stat);

// The "btime" line of /proc/stat: when the machine booted, in seconds since
// the Unix epoch. Errors: UNAVAILABLE when there is none.
[[nodiscard]] absl::StatusOr<int64_t> ParseBootTime(absl::string_view proc_stat);

}  // namespace tcpgate

#endif  // GATEWAY_PROCESS_STATS_H_
