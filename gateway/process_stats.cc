#include "gateway/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
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

}  // namespace

absl::StatusOr<ProcessStats> ParseProcessStat(absl::string_view self_stat, absl::string_view proc_stat,
                                              int64_t ticks_per_second, int64_t page_bytes) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields start after the last ')'.
  const std::size_t close = self_stat.rfind(')');
  if (close == absl::string_view::npos) return absl::UnavailableError("/proc/self/stat: no \"(comm)\"");
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(self_stat.substr(close + 1)), ' ', absl::SkipEmpty());
  // fields[0] is field 3 of proc(5) (state): field N is fields[N - 3].
  auto field = [&fields](std::size_t n, int64_t& value) {
    return fields.size() > n - 3 && absl::SimpleAtoi(fields[n - 3], &value);
  };
  int64_t utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  if (!field(14, utime) || !field(15, stime) || !field(22, start_ticks) || !field(23, vsize) ||
      !field(24, rss_pages)) {
    return absl::UnavailableError("/proc/self/stat: fields 14, 15, 22-24 are not numbers");
  }
  int64_t boot_time = -1;
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      if (!absl::SimpleAtoi(line, &boot_time)) boot_time = -1;
      break;
    }
  }
  if (boot_time < 0) return absl::UnavailableError("/proc/stat: no \"btime\" line");
  if (ticks_per_second <= 0 || page_bytes <= 0) return absl::UnavailableError("no clock tick or page size");

  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
  stats.resident_bytes = rss_pages * page_bytes;
  stats.virtual_bytes = vsize;
  stats.start_time_seconds =
      static_cast<double>(boot_time) + static_cast<double>(start_ticks) / static_cast<double>(ticks_per_second);
  return stats;
}

absl::StatusOr<ProcessStats> ReadProcessStats() {
  absl::StatusOr<std::string> self_stat = ReadFileContents("/proc/self/stat");
  if (!self_stat.ok()) return absl::UnavailableError(self_stat.status().message());
  absl::StatusOr<std::string> proc_stat = ReadFileContents("/proc/stat");
  if (!proc_stat.ok()) return absl::UnavailableError(proc_stat.status().message());
  absl::StatusOr<ProcessStats> stats =
      ParseProcessStat(*self_stat, *proc_stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
  if (!stats.ok()) return stats.status();
  absl::StatusOr<int64_t> open_fds = CountOpenFds();
  if (!open_fds.ok()) return open_fds.status();
  stats->open_fds = *open_fds;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return absl::UnavailableError("getrlimit(RLIMIT_NOFILE) failed");
  stats->max_fds = limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(limit.rlim_cur);
  return stats;
}

}  // namespace tcpgate
