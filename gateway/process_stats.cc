#include "gateway/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway/file_contents.h"

namespace tcpgate {
namespace {

// Counts /proc/self/fd's entries, less the descriptor that reads it.
absl::StatusOr<int64_t> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return absl::UnavailableError("cannot list /proc/self/fd");
  const int own = dirfd(dir);
  int64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    int fd = 0;
    if (absl::SimpleAtoi(entry->d_name, &fd) && fd != own) ++count;
  }
  closedir(dir);
  return count;
}

absl::StatusOr<std::string> ReadProcFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFileContents(path);
  if (!content.ok()) return absl::UnavailableError(content.status().message());
  return content;
}

absl::StatusOr<ProcessStatFields> ReadOwnStat() {
  absl::StatusOr<std::string> self_stat = ReadProcFile("/proc/self/stat");
  if (!self_stat.ok()) return self_stat.status();
  return ParseProcessStat(*self_stat);
}

absl::StatusOr<double> ReadStartTime() {
  absl::StatusOr<ProcessStatFields> fields = ReadOwnStat();
  if (!fields.ok()) return fields.status();
  absl::StatusOr<std::string> proc_stat = ReadProcFile("/proc/stat");
  if (!proc_stat.ok()) return proc_stat.status();
  absl::StatusOr<int64_t> boot_time = ParseBootTime(*proc_stat);
  if (!boot_time.ok()) return boot_time.status();
  return static_cast<double>(*boot_time) +
         static_cast<double>(fields->start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

absl::StatusOr<ProcessStatFields> ParseProcessStat(absl::string_view self_stat) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields start after the last ')'.
  const std::size_t comm_end = self_stat.rfind(')');
  if (comm_end == absl::string_view::npos) return absl::UnavailableError("/proc/self/stat: no \"(comm)\"");
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(self_stat.substr(comm_end + 1)), ' ', absl::SkipEmpty());
  // fields[0] is field 3 of proc(5) (state): field N is fields[N - 3].
  auto field = [&fields](std::size_t n, int64_t& value) {
    return fields.size() > n - 3 && absl::SimpleAtoi(fields[n - 3], &value);
  };
  ProcessStatFields parsed;
  if (!field(14, parsed.user_ticks) || !field(15, parsed.system_ticks) || !field(22, parsed.start_ticks) ||
      !field(23, parsed.virtual_bytes) || !field(24, parsed.resident_pages)) {
    return absl::UnavailableError("/proc/self/stat: fields 14, 15, 22-24 are not numbers");
  }
  return parsed;
}

absl::StatusOr<int64_t> ParseBootTime(absl::string_view proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    int64_t boot_time = 0;
    if (absl::ConsumePrefix(&line, "btime ") && absl::SimpleAtoi(line, &boot_time)) return boot_time;
  }
  return absl::UnavailableError("/proc/stat: no \"btime\" line");
}

ProcessStatsReader::ProcessStatsReader() : start_time_seconds_(ReadStartTime()) {}

ProcessStats ProcessStatsReader::Read() const {
  ProcessStats stats;
  auto note = [&stats](const absl::Status& status) {
    if (stats.problem.ok()) stats.problem = status;
  };
  if (absl::StatusOr<ProcessStatFields> fields = ReadOwnStat(); fields.ok()) {
    stats.cpu_seconds = static_cast<double>(fields->user_ticks + fields->system_ticks) /
                        static_cast<double>(sysconf(_SC_CLK_TCK));
    stats.resident_bytes = fields->resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
    stats.virtual_bytes = fields->virtual_bytes;
  } else {
    note(fields.status());
  }
  if (absl::StatusOr<int64_t> open_fds = CountOpenFds(); open_fds.ok()) {
    stats.open_fds = *open_fds;
  } else {
    note(open_fds.status());
  }
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats.max_fds = limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(limit.rlim_cur);
  } else {
    note(absl::UnavailableError("getrlimit(RLIMIT_NOFILE) failed"));
  }
  if (start_time_seconds_.ok()) {
    stats.start_time_seconds = *start_time_seconds_;
  } else {
    note(start_time_seconds_.status());
  }
  return stats;
}

}  // namespace tcpgate
