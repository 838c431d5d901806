#include "tcpcore/server_core.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include <future>
#include "asio/post.hpp"
#include "tcpcore/log.h"
#include "tcpcore/message.h"
#include "tcpcore/server_connection.h"
#include "tcpcore/server_options_check.h"
#include "tcpcore/tcp_listener.h"

namespace tcpcore {

ServerCore::ServerCore(EventLoopGroup& loops, ServerOptions options, std::shared_ptr<RequestHandler> handler)
    : loops_(loops),
      options_(std::move(options)),
      handler_(std::move(handler)),
      acceptor_(loops.loop(0)),
      accept_retry_(loops.loop(0)) {}

absl::Status ServerCore::Start() {
  if (absl::Status status = CheckServerOptions(options_); !status.ok()) return status;
  if (absl::StatusOr<uint16_t> port = ListenOn(acceptor_, options_.listen); !port.ok()) return port.status();
  asio::error_code ignored;
  endpoint_ = acceptor_.local_endpoint(ignored);  // ListenOn has just read it.
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->AcceptNext(); });
  return absl::OkStatus();
}

void ServerCore::AcceptNext() {
  acceptor_.async_accept(loops_.Next(), [self = shared_from_this()](const asio::error_code& error,
                                                                    asio::ip::tcp::socket socket) {
    self->OnAccepted(error, std::move(socket));
  });
}

void ServerCore::OnAccepted(const asio::error_code& error, asio::ip::tcp::socket socket) {
  if (!acceptor_.is_open() || error == asio::error::operation_aborted) return;
  if (error) {
    // Out of descriptors or memory: wait a little rather than spin.
    Log(LogLevel::kWarning, absl::StrCat("accept on ", options_.listen, " failed: ", error.message()));
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([self = shared_from_this()](const asio::error_code& wait_error) {
      if (!wait_error) self->AcceptNext();
    });
    return;
  }
  auto connection = std::make_shared<ServerConnection>(std::move(socket), shared_from_this());
  bool admitted = true;
  {
    std::lock_guard lock(mu_);
    admitted = options_.max_connections <= 0 || admitted_open_ < options_.max_connections;
    if (admitted) ++admitted_open_;
    connections_.emplace(connection.get(), Registered{connection, admitted});
  }
  if (admitted) {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    asio::post(connection->executor(), [connection] { connection->Start(); });
  } else {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    asio::post(connection->executor(), [connection, max = options_.max_connections] {
      connection->Reject(absl::StrCat(kTooManyConnections, " (max ", max, ")"));
    });
  }
  AcceptNext();
}

void ServerCore::StopAccepting() {
  std::promise<void> closed;
  asio::post(acceptor_.get_executor(), [this, &closed] {
    asio::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    // The aborted accept's completion is queued now; signal after it ran.
    asio::post(acceptor_.get_executor(), [&closed] { closed.set_value(); });
  });
  closed.get_future().wait();
}

void ServerCore::PostToEachConnection(std::function<void(ServerConnection&)> fn) {
  std::vector<std::shared_ptr<ServerConnection>> open;
  {
    std::lock_guard lock(mu_);
    open.reserve(connections_.size());
    for (auto& [ptr, registered] : connections_) {
      if (auto connection = registered.connection.lock()) open.push_back(std::move(connection));
    }
  }
  for (auto& connection : open) {
    asio::post(connection->executor(), [connection, fn] { fn(*connection); });
  }
}

bool ServerCore::AwaitNoConnections(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return connections_.empty(); });
}

bool ServerCore::AwaitConnectionsDestroyed(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [this] { return live_connection_objects_ == 0; });
}

void ServerCore::OnConnectionCreated() {
  std::lock_guard lock(mu_);
  ++live_connection_objects_;
}

void ServerCore::OnConnectionDestroyed() {
  std::lock_guard lock(mu_);
  if (--live_connection_objects_ == 0) changed_.notify_all();
}

void ServerCore::OnConnectionClosed(ServerConnection* connection) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  if (it->second.admitted) --admitted_open_;
  connections_.erase(it);
  if (connections_.empty()) changed_.notify_all();
}

void ServerCore::AddCounts(uint64_t requests, uint64_t bad_requests, uint64_t write_batches) {
  if (requests != 0) requests_.fetch_add(requests, std::memory_order_relaxed);
  if (bad_requests != 0) bad_requests_.fetch_add(bad_requests, std::memory_order_relaxed);
  if (write_batches != 0) write_batches_.fetch_add(write_batches, std::memory_order_relaxed);
}

ServerStats ServerCore::stats() const {
  ServerStats stats;
  {
    std::lock_guard lock(mu_);
    stats.connections_open = static_cast<uint64_t>(admitted_open_);
  }
  stats.connections_accepted = accepted_.load(std::memory_order_relaxed);
  stats.connections_rejected = rejected_.load(std::memory_order_relaxed);
  stats.requests = requests_.load(std::memory_order_relaxed);
  stats.bad_requests = bad_requests_.load(std::memory_order_relaxed);
  stats.write_batches = write_batches_.load(std::memory_order_relaxed);
  stats.peer_closes = peer_closes_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace tcpcore
