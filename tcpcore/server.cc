#include "tcpcore/server.h"

#include "absl/strings/str_cat.h"
#include "tcpcore/log.h"
#include "tcpcore/server_connection.h"
#include "tcpcore/server_core.h"

namespace tcpcore {

Server::Server(EventLoopGroup& loops, ServerOptions options, std::shared_ptr<RequestHandler> handler)
    : core_(std::make_shared<ServerCore>(loops, std::move(options), std::move(handler))) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

absl::Status Server::Start() { return core_->Start(); }

asio::ip::tcp::endpoint Server::local_endpoint() const { return core_->local_endpoint(); }

void Server::Shutdown(absl::Duration grace) {
  core_->StopAccepting();
  core_->PostToEachConnection([](ServerConnection& connection) { connection.BeginDrain(); });
  if (!core_->AwaitNoConnections(grace)) {
    core_->PostToEachConnection([](ServerConnection& connection) { connection.Close("server shutdown"); });
  }
  // Closed connections still have aborted operations queued on their loops;
  // wait until those ran and released them, so no handler outlives Shutdown().
  if (!core_->AwaitConnectionsDestroyed(absl::Seconds(10))) {
    Log(LogLevel::kError, "shutdown: connections still alive 10 s after a forced close");
  }
}

ServerStats Server::stats() const { return core_->stats(); }

}  // namespace tcpcore
