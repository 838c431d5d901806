#include "tcpcore/tcp_keepalive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tcpcore/option_rules.h"

namespace tcpcore {
namespace {

// Linux caps TCP_KEEPIDLE and TCP_KEEPINTVL at 32767 s, TCP_KEEPCNT at 127.
constexpr absl::Duration kLongestKeepaliveTime = absl::Seconds(32767);
constexpr int kMostKeepaliveProbes = 127;

void SetInt(int fd, int level, int name, int value) { ::setsockopt(fd, level, name, &value, sizeof(value)); }

}  // namespace

absl::Status CheckTcpKeepalive(const TcpKeepalive& keepalive) {
  if (!keepalive.enabled) return absl::OkStatus();
  const std::vector<absl::Status> checks = {
      CheckDurationOption("keepalive_idle", keepalive.idle, absl::Seconds(1), kLongestKeepaliveTime,
                          "must be between 1s and 32767s (Linux's range)"),
      CheckDurationOption("keepalive_interval", keepalive.interval, absl::Seconds(1), kLongestKeepaliveTime,
                          "must be between 1s and 32767s (Linux's range)"),
      CheckCountOption("keepalive_count", keepalive.count, 1, kMostKeepaliveProbes,
                       "must be between 1 and 127 (Linux's range)"),
  };
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

void ApplyTcpKeepalive(int fd, const TcpKeepalive& keepalive) {
  SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, keepalive.enabled ? 1 : 0);
  if (!keepalive.enabled) return;
  const auto seconds = [](absl::Duration d) {
    return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Seconds(d), 1, INT32_MAX));
  };
  SetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, seconds(keepalive.idle));
  SetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, seconds(keepalive.interval));
  SetInt(fd, IPPROTO_TCP, TCP_KEEPCNT, std::max(1, keepalive.count));
}

}  // namespace tcpcore
