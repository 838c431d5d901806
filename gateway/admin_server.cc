#include "gateway/admin_server.h"

#include <httplib.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "tcpcore/host_port.h"

namespace tcpgate {

AdminServer::AdminServer(Handlers handlers)
    : handlers_(std::move(handlers)), server_(std::make_unique<httplib::Server>()) {
  // Scrapes and probes are rare: two threads are plenty on a 2-core pod.
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(handlers_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    const bool ready = handlers_.ready();
    response.status = ready ? 200 : 503;
    response.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
}

AdminServer::~AdminServer() { Stop(); }

absl::StatusOr<int> AdminServer::Start(const std::string& host_port) {
  absl::StatusOr<tcpcore::HostPort> parsed = tcpcore::HostPort::Parse(host_port);
  if (!parsed.ok()) return parsed.status();
  const std::string host = parsed->host.empty() ? "0.0.0.0" : parsed->host;
  int port = parsed->port;
  if (port == 0) {
    port = server_->bind_to_any_port(host);
  } else if (!server_->bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) return absl::UnavailableError(absl::StrCat("admin server cannot listen on ", host_port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port;
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace tcpgate
