#include "tcpcore/open_file_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tcpcore/log.h"

namespace tcpcore {

absl::StatusOr<OpenFileLimit> RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  OpenFileLimit result{.before = limit.rlim_cur, .now = limit.rlim_cur};
  if (limit.rlim_cur == limit.rlim_max) return result;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("setrlimit(RLIMIT_NOFILE, ", limit.rlim_max, "): ", std::strerror(errno)));
  }
  result.now = limit.rlim_max;
  return result;
}

uint64_t RaiseOpenFileLimitAndLog() {
  absl::StatusOr<OpenFileLimit> limit = RaiseOpenFileLimit();
  if (limit.ok()) {
    if (limit->now != limit->before) {
      Log(LogLevel::kInfo,
          absl::StrCat("open file limit raised from ", limit->before, " to ", limit->now, " (the hard limit)"));
    }
    return limit->now;
  }
  Log(LogLevel::kWarning, limit.status().message());
  rlimit current{};
  return getrlimit(RLIMIT_NOFILE, &current) == 0 ? current.rlim_cur : 0;
}

}  // namespace tcpcore
