#include "tcpcore/server_options_check.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tcpcore/host_port.h"
#include "tcpcore/option_rules.h"
#include "tcpcore/tcp_keepalive.h"
#include "tcpcore/tcp_user_timeout.h"

namespace tcpcore {

absl::Status CheckServerOptions(const ServerOptions& options) {
  if (absl::StatusOr<HostPort> listen = HostPort::Parse(options.listen); !listen.ok()) {
    return InvalidOption("listen", absl::StrCat("\"", options.listen, "\""), listen.status().message());
  }
  const int64_t kGiB = int64_t{1} << 30;
  const std::vector<absl::Status> checks = {
      CheckCountOption("max_connections", options.max_connections, 0, INT_MAX, "must be 0 (no limit) or more"),
      CheckDurationOption("idle_timeout", options.idle_timeout, absl::ZeroDuration(), kLongestOptionDuration,
                          "must be between 0 (never) and a year"),
      CheckCountOption("max_frame_bytes", static_cast<int64_t>(options.frame_limits.max_frame_bytes), 1, kGiB,
                       "must be between 1 and 1 GiB"),
      CheckCountOption("max_depth", options.frame_limits.max_depth, 1, INT_MAX, "must be at least 1"),
      // SIZE_MAX (no limit, in effect) passes as the largest int64.
      CheckCountOption("max_output_bytes",
                       static_cast<int64_t>(std::min<std::size_t>(options.max_output_bytes, INT64_MAX)), 1, INT64_MAX,
                       "must be at least 1"),
      CheckDurationOption("close_linger", options.close_linger, absl::ZeroDuration(), kLongestOptionDuration,
                          "must be between 0 and a year"),
      CheckTcpKeepalive(options.keepalive),
      CheckTcpUserTimeout(options.user_timeout),
  };
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace tcpcore
