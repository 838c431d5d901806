#include "tcpcore/pool_options_check.h"

#include <climits>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tcpcore/host_port.h"
#include "tcpcore/option_rules.h"
#include "tcpcore/tcp_keepalive.h"
#include "tcpcore/tcp_user_timeout.h"

namespace tcpcore {
absl::Status CheckPoolOptions(const PoolOptions& options) {
  const absl::Duration kForever = kLongestOptionDuration;
  const absl::Duration kTick = absl::Milliseconds(1);
  const ConnectionOptions& connection = options.connection;
  const std::vector<absl::Status> checks = {
      CheckCountOption("pool_size", options.size, 1, INT_MAX, "must be at least 1"),
      CheckCountOption("min_idle", options.min_idle, 1, options.size, absl::StrCat("must be between 1 and pool_size (",
                                                                            options.size, ")")),
      CheckCountOption("max_pending", options.max_pending, 1, INT_MAX, "must be at least 1"),
      CheckCountOption("max_pending_per_connection", options.max_pending_per_connection, 1, INT_MAX, "must be at least 1"),
      CheckCountOption("max_pending_bytes_per_connection", options.max_pending_bytes_per_connection, 1, INT64_MAX,
                 "must be at least 1"),
      CheckCountOption("grow_at_pending", options.grow_at_pending, 1, INT_MAX, "must be at least 1"),
      CheckCountOption("backend_max_line_bytes", static_cast<int64_t>(options.connection.max_request_line_bytes), 64,
                 1 << 30, "must be between 64 and 1 GiB"),
      CheckCountOption("eject_after_failures", options.eject_after_failures, 1, INT_MAX, "must be at least 1"),
      CheckDurationOption("idle_timeout", options.idle_timeout, kTick, kForever, "must be between 1ms and a year"),
      CheckDurationOption("resolve_interval", options.resolve_interval, absl::Milliseconds(10), kForever,
                    "must be between 10ms and a year"),
      CheckDurationOption("resolve_min_gap", options.resolve_min_gap, absl::ZeroDuration(), kForever,
                    "must be between 0 and a year"),
      CheckDurationOption("reconnect_backoff_initial", options.reconnect_backoff_initial, kTick, kForever,
                    "must be between 1ms and a year"),
      CheckDurationOption("reconnect_backoff_max", options.reconnect_backoff_max, options.reconnect_backoff_initial,
                    kForever,
                    absl::StrCat("must be at least reconnect_backoff_initial (",
                                 absl::FormatDuration(options.reconnect_backoff_initial), ") and at most a year")),
      CheckDurationOption("ejection_time", options.ejection_time, kTick, kForever, "must be between 1ms and a year"),
      CheckDurationOption("health_interval", options.health_interval, absl::ZeroDuration(), kForever,
                    "must be between 0 (off) and a year"),
      CheckDurationOption("dial_timeout", connection.dial_timeout, kTick, kForever, "must be between 1ms and a year"),
      CheckDurationOption("read_timeout", connection.read_timeout, absl::ZeroDuration(), kForever,
                    "must be between 0 (off) and a year"),
      CheckDurationOption("late_response_window", connection.late_response_window, absl::Seconds(1), kForever,
                    "must be between 1s and a year (an answer owed longer retires its connection)"),
      CheckTcpUserTimeout(connection.user_timeout),
      CheckTcpKeepalive(connection.keepalive),
  };
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  for (const std::string& text : options.backends) {
    absl::StatusOr<HostPort> backend = HostPort::Parse(text);
    if (!backend.ok() || backend->port == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("backends: \"", text, "\": ", backend.ok() ? "port 0" : backend.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace tcpcore
