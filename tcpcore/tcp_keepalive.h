// TCP keepalive for one socket: the settings, the rule for their values,
// and applying them. With keepalive on, an idle connection whose peer
// vanished without a FIN or RST (its host lost, a partition, a NAT that
// forgot it) is found out after `idle` of silence plus `count` unanswered
// probes `interval` apart, and the socket fails with ETIMEDOUT, instead of
// holding a descriptor for ever. Keepalive probes only a connection with
// nothing unacknowledged: tcp_user_timeout.h bounds the rest. Both ends use
// it: the pool's connections to backends, and the server's accepted
// connections.
//
// Thread-safety: pure functions, and a setsockopt on a socket the caller
// owns.
#ifndef TCPCORE_TCP_KEEPALIVE_H_
#define TCPCORE_TCP_KEEPALIVE_H_

#include "absl/status/status.h"
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

}  // namespace tcpcore

#endif  // TCPCORE_TCP_KEEPALIVE_H_
