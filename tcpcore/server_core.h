// ServerCore: a Server's shared state: the acceptor and its accept loop, the
// registry of open connections, and the counters. Connections hold it by
// shared_ptr, so the Server façade and its connections may end in any order.
// Internal to tcpcore; users see Server.
//
// Thread-safety: the acceptor is touched only on its loop (the group's loop
// 0); the registry is guarded by a mutex; counters are atomic; options and
// handler are immutable after construction. (std::mutex rather than
// absl::Mutex: Debian's Abseil is not built for ThreadSanitizer, so TSan
// cannot see absl::Mutex's synchronisation and reports false races.)
#ifndef TCPCORE_SERVER_CORE_H_
#define TCPCORE_SERVER_CORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include <condition_variable>
#include <mutex>
#include "asio/ip/tcp.hpp"
#include "asio/steady_timer.hpp"
#include "tcpcore/server.h"

namespace tcpcore {

class ServerConnection;

class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(EventLoopGroup& loops, ServerOptions options, std::shared_ptr<RequestHandler> handler);

  const ServerOptions& options() const { return options_; }
  RequestHandler& handler() const { return *handler_; }

  // Resolves and binds the listen address, then starts the accept loop.
  absl::Status Start();
  asio::ip::tcp::endpoint local_endpoint() const { return endpoint_; }
  // Closes the acceptor and waits until its loop has done so.
  void StopAccepting();
  // Runs `fn` on each open connection's own loop.
  void PostToEachConnection(std::function<void(ServerConnection&)> fn);
  // Waits until no connection is open or `timeout` passes; true if none is.
  bool AwaitNoConnections(absl::Duration timeout);
  // Waits until every ServerConnection object is destroyed, so none of
  // their handlers is left queued on a loop. False after `timeout`.
  bool AwaitConnectionsDestroyed(absl::Duration timeout);

  // Called by ServerConnection's constructor and destructor.
  void OnConnectionCreated();
  void OnConnectionDestroyed();

  // Called by a connection, on its loop, when it closes.
  void OnConnectionClosed(ServerConnection* connection);
  // Adds a connection's counts to the totals.
  void AddCounts(uint64_t requests, uint64_t bad_requests, uint64_t write_batches);
  // Counts a connection whose peer closed its side.
  void CountPeerClose() { peer_closes_.fetch_add(1, std::memory_order_relaxed); }

  ServerStats stats() const;

 private:
  void AcceptNext();
  void OnAccepted(const asio::error_code& error, asio::ip::tcp::socket socket);

  EventLoopGroup& loops_;
  const ServerOptions options_;
  const std::shared_ptr<RequestHandler> handler_;
  asio::ip::tcp::acceptor acceptor_;    // On loops_.loop(0).
  asio::steady_timer accept_retry_;     // Backs off after EMFILE and the like.
  asio::ip::tcp::endpoint endpoint_;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // Signalled when the registry or live count changes.
  // Every connection not yet closed, rejected ones included (they linger
  // briefly to deliver their "-ERR").
  struct Registered {
    std::weak_ptr<ServerConnection> connection;
    bool admitted;  // Counts towards max_connections.
  };
  // Guarded by mu_:
  absl::flat_hash_map<ServerConnection*, Registered> connections_;
  int64_t admitted_open_ = 0;
  int64_t live_connection_objects_ = 0;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bad_requests_{0};
  std::atomic<uint64_t> write_batches_{0};
  std::atomic<uint64_t> peer_closes_{0};
};

}  // namespace tcpcore

#endif  // TCPCORE_SERVER_CORE_H_
