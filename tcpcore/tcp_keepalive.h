// How one socket finds out that its peer is gone: TCP keepalive (the
// settings, the rule for their values, applying them) and TCP_USER_TIMEOUT.
// With keepalive on, an idle connection whose peer vanished without a FIN or
// RST (its host lost, a partition, a NAT that forgot it) is found out after
// `idle` of silence plus `count` unanswered probes `interval` apart, and the
// socket fails with ETIMEDOUT, instead of holding a descriptor for ever.
// Keepalive probes only a connection with nothing unacknowledged; the user
// timeout bounds the rest: data sent and not acknowledged (the kernel would
// retransmit for about 15 minutes), and, on the kernels measured (Linux
// 6.x), a peer that leaves its receive window closed for that long. Both ends
// use these: the pool's connections to backends, and the server's accepted
// connections.
//
// Thread-safety: pure functions, and a setsockopt on a socket the caller
// owns.
#ifndef TCPCORE_TCP_KEEPALIVE_H_
#define TCPCORE_TCP_KEEPALIVE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpcore {

struct TcpKeepalive {
  bool enabled = true;
  absl::Duration idle = absl::Seconds(30);      // Silence before the first probe.
  absl::Duration interval = absl::Seconds(10);  // Between unanswered probes.
  int count = 3;                                // Unanswered probes before the connection is dead.
};

// INVALID_ARGUMENT naming "keepalive_idle", "keepalive_interval" or
// "keepalive_count" for a value outside Linux's range (1 s to 32767 s; 1 to
// 127 probes); OK when keepalive is off.
absl::Status CheckTcpKeepalive(const TcpKeepalive& keepalive);

// Sets SO_KEEPALIVE on `fd` as `keepalive` says, and with it on, the three
// values (whole seconds, at least 1). Errors are ignored: a socket that
// refuses keeps the kernel's defaults.
void ApplyTcpKeepalive(int fd, const TcpKeepalive& keepalive);

// Linux's TCP_USER_TIMEOUT is a count of milliseconds in an int.
inline constexpr absl::Duration kLongestTcpUserTimeout = absl::Milliseconds(2147483647);

// INVALID_ARGUMENT naming `name` for a timeout under 0, between 0 and 1 ms
// (the kernel takes whole milliseconds), or over kLongestTcpUserTimeout; OK
// otherwise (0: the kernel's default).
absl::Status CheckTcpUserTimeout(absl::string_view name, absl::Duration timeout);

// Sets TCP_USER_TIMEOUT on `fd` when `timeout` is over 0 (whole
// milliseconds, at least 1); 0 leaves the kernel's default. Errors are
// ignored, as for keepalive.
void ApplyTcpUserTimeout(int fd, absl::Duration timeout);

}  // namespace tcpcore

#endif  // TCPCORE_TCP_KEEPALIVE_H_
