// For tests whose server or client runs in the test's own process: finds
// the descriptor of a TCP socket of this process by its two ports, and reads
// the keepalive settings the code under test gave it, as the kernel holds
// them.
//
// Thread-safety: reads /proc/self/fd and the sockets' options; call it when
// the socket is known to exist.
#ifndef TESTS_TCPCORE_SOCKET_OPTIONS_PROBE_H_
#define TESTS_TCPCORE_SOCKET_OPTIONS_PROBE_H_

#include <cstdint>
#include <ostream>

#include "absl/status/statusor.h"

namespace tcpcore::testing {

struct KeepaliveSeen {
  bool on = false;
  int idle_s = 0;
  int interval_s = 0;
  int count = 0;
  bool operator==(const KeepaliveSeen&) const = default;
};
// For test failure messages: "on, idle 7s, interval 3s, count 4".
void PrintTo(const KeepaliveSeen& seen, std::ostream* out);

// The socket of this process bound to 127.0.0.1:`local_port` and connected
// to 127.0.0.1:`peer_port`; NOT_FOUND if none.
absl::StatusOr<int> FindOwnSocket(uint16_t local_port, uint16_t peer_port);

// SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT of `fd`.
KeepaliveSeen ReadKeepalive(int fd);

// TCP_USER_TIMEOUT of `fd`, in milliseconds (0: the kernel's default).
int ReadUserTimeoutMs(int fd);

// The local port of a socket, and the port of its peer (0 on error).
uint16_t LocalPort(int fd);
uint16_t PeerPort(int fd);

}  // namespace tcpcore::testing

#endif  // TESTS_TCPCORE_SOCKET_OPTIONS_PROBE_H_
