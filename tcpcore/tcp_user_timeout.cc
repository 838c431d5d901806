#include "tcpcore/tcp_user_timeout.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>

#include "tcpcore/option_rules.h"

namespace tcpcore {

absl::Status CheckTcpUserTimeout(absl::Duration timeout) {
  constexpr char name[] = "tcp_user_timeout";
  constexpr char kRule[] = "must be 0 (kernel default) or between 1ms and 596h";
  // Under a millisecond the kernel cannot take it (whole ms, 0 meaning its
  // default): refused rather than silently made 0 or 1 ms.
  if (timeout > absl::ZeroDuration() && timeout < absl::Milliseconds(1)) {
    return InvalidOption(name, absl::FormatDuration(timeout), kRule);
  }
  return CheckDurationOption(name, timeout, absl::ZeroDuration(), kLongestTcpUserTimeout, kRule);
}

void ApplyTcpUserTimeout(int fd, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return;
  const int milliseconds = static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 1, INT32_MAX));
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &milliseconds, sizeof(milliseconds));
}

}  // namespace tcpcore
