// TCP_USER_TIMEOUT for one socket: the rule for its value and applying it.
// It bounds how long sent data may stay unacknowledged: a peer gone with
// data on the wire (which keepalive does not probe; the kernel alone would
// retransmit for about 15 minutes) and, on the kernels measured (Linux 6.x),
// a peer that leaves its receive window closed for that long. With it set,
// Linux also decides by it when unanswered keepalive probes close a
// connection (tcp(7)). Both ends use it: the pool's connections to backends
// (--tcp_user_timeout of tcpgate, off by default) and the reference
// backend's accepted connections (60 s by default).
//
// Thread-safety: pure functions, and a setsockopt on a socket the caller
// owns.
#ifndef TCPCORE_TCP_USER_TIMEOUT_H_
#define TCPCORE_TCP_USER_TIMEOUT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpcore {

// Linux's TCP_USER_TIMEOUT is a count of milliseconds in an int.
inline constexpr absl::Duration kLongestTcpUserTimeout = absl::Milliseconds(2147483647);

// INVALID_ARGUMENT naming tcp_user_timeout for a timeout under 0, between 0 and 1 ms
// (the kernel takes whole milliseconds), or over kLongestTcpUserTimeout; OK
// otherwise (0: the kernel's default).
absl::Status CheckTcpUserTimeout(absl::Duration timeout);

// Sets TCP_USER_TIMEOUT on `fd` when `timeout` is over 0 (whole
// milliseconds, at least 1); 0 leaves the kernel's default. Errors are
// ignored, as for keepalive.
void ApplyTcpUserTimeout(int fd, absl::Duration timeout);

}  // namespace tcpcore

#endif  // TCPCORE_TCP_USER_TIMEOUT_H_
