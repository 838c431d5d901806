// ListenOn: opens an Asio acceptor listening on "host:port" (port 0 picks a
// free one), the one way tcpcore's server and the gateway's admin server
// bind: the host resolved as a passive, numeric-service address,
// SO_REUSEADDR (a restarted process rebinds at once) and never SO_REUSEPORT
// (a port another socket listens on is an error, not shared).
//
// Thread-safety: call before the acceptor is used from any other thread.
#ifndef TCPCORE_TCP_LISTENER_H_
#define TCPCORE_TCP_LISTENER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "asio/ip/tcp.hpp"

namespace tcpcore {

// The port bound; on error the acceptor is left closed: INVALID_ARGUMENT
// for an address that does not parse or resolve, UNAVAILABLE when the
// socket cannot be opened, bound or listened on (the port is in use, say).
absl::StatusOr<uint16_t> ListenOn(asio::ip::tcp::acceptor& acceptor, absl::string_view host_port);

}  // namespace tcpcore

#endif  // TCPCORE_TCP_LISTENER_H_
