// Server: the newline-JSON TCP server (the reference backend, and the
// gateway's embedded backend). Accepts on one address, spreads connections
// over an EventLoopGroup, decodes requests, passes them to a RequestHandler
// and writes the answers, many per syscall.
//
// Lifecycle: construct, Start(), ..., Shutdown() (or let the destructor do a
// zero-grace shutdown). The loops must be running whenever Start(),
// Shutdown() or the destructor runs; those calls must not be made from a loop
// thread of the group.
//
// Thread-safety: every method is safe from any non-loop thread.
#ifndef TCPCORE_SERVER_H_
#define TCPCORE_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "asio/ip/tcp.hpp"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/request_handler.h"
#include "tcpcore/tcp_keepalive.h"

namespace tcpcore {

struct ServerOptions {
  // "host:port" to listen on; port 0 picks an ephemeral port.
  std::string listen = "0.0.0.0:3000";
  // Open connections allowed at once; beyond, a new connection gets one
  // "-ERR" line and is closed. 0 means no limit.
  int max_connections = 0;
  // A connection with no traffic in either direction for this long is
  // closed. Answers still leaving (a long write, or the kernel's send queue
  // shrinking as the peer reads) are traffic; the queue is looked at when the
  // timeout falls due, so a peer that stops reading with answers queued is
  // closed within two timeouts. While the handler still owes answers the
  // connection is not idle (after the peer's half-close it is: the timeout
  // bounds that wait). Zero means never.
  absl::Duration idle_timeout = absl::ZeroDuration();
  FrameLimits frame_limits;
  bool tcp_nodelay = true;
  // TCP keepalive on accepted connections: a peer that vanished without a
  // FIN or RST (its host lost, a partition) is found out after 60 s of
  // silence by default and its connection closed, instead of holding a
  // descriptor and a max_connections slot for ever.
  TcpKeepalive keepalive;
  // TCP_USER_TIMEOUT on accepted connections: a peer that acknowledges
  // nothing this long while answers wait for it (gone with answers on the
  // wire, which keepalive does not probe; or not reading, its window
  // closed) is closed. Zero leaves the kernel's default (retransmission for
  // about 15 minutes; a closed window for ever).
  absl::Duration user_timeout = absl::ZeroDuration();
  // Log every connect and disconnect with the peer's address.
  bool log_connections = true;
  // Answers queued for a connection beyond which it stops reading requests
  // until the peer has read some (so a peer that only writes cannot make the
  // server buffer without bound). Answers a handler has deferred count too,
  // at their request's size, until it gives or drops them.
  std::size_t max_output_bytes = 4 << 20;
  // How long a connection that is being closed (after an error or a
  // shutdown) may take to flush its answers, and how long it then reads and
  // discards the peer's bytes so that the close does not reset the
  // connection under the final "-ERR" line.
  absl::Duration close_linger = absl::Seconds(2);
};

// Counters since Start(); a snapshot.
struct ServerStats {
  uint64_t connections_open = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;
  uint64_t requests = 0;
  uint64_t bad_requests = 0;
  // Writes issued for answers; each carries every answer queued by then.
  uint64_t write_batches = 0;
  // Connections whose peer closed its side (the server read its FIN) while
  // the server's side was still open.
  uint64_t peer_closes = 0;
};

class ServerCore;

class Server {
 public:
  Server(EventLoopGroup& loops, ServerOptions options, std::shared_ptr<RequestHandler> handler);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts accepting. Fails on a bad or busy address.
  [[nodiscard]] absl::Status Start();
  // The bound address (useful with port 0). Valid after a successful Start().
  asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting, stops reading, lets every connection finish writing the
  // answers already computed (deferred answers not yet given are dropped),
  // and closes them; connections still open after `grace` are closed hard.
  // Returns when every connection is closed. Idempotent.
  void Shutdown(absl::Duration grace);

  ServerStats stats() const;

 private:
  std::shared_ptr<ServerCore> core_;
};

}  // namespace tcpcore

#endif  // TCPCORE_SERVER_H_
