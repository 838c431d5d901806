// AdminServer: the operator's HTTP endpoint: /metrics (Prometheus text),
// /healthz (the process is alive and answering: for liveness probes) and
// /readyz (200 while the gateway should get calls — a backend connection is
// healthy and it is not draining — else 503: for readiness probes and load
// balancers). GET and HEAD; a query string is ignored.
//
// A small HTTP/1.1 responder on one Asio loop thread of its own. Every
// socket is read asynchronously, so an idle or slow client costs a socket,
// never a thread: probes are answered whatever other clients do. Each
// connection gets one answer and is closed (Connection: close). The request
// head must arrive whole within Limits::head_timeout (else 408, or a close
// without a word if nothing came) and fit in Limits::max_head_bytes (else
// 431); empty lines before it are skipped; a body is never read or kept. At
// Limits::max_connections open at once, a new connection closes the oldest
// one still waiting for its head (or answered and draining) to make room,
// so idle clients cannot keep probes out; with none such, the new one is
// closed at once.
//
// Thread-safety: Start and Stop from one thread. The handlers run on the
// server's thread, so the functions given must be thread-safe.
#ifndef GATEWAY_ADMIN_SERVER_H_
#define GATEWAY_ADMIN_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tcpgate {

struct AdminServerLoop;  // The loop, the acceptor, the open count: the server thread's.

class AdminServer {
 public:
  struct Handlers {
    std::function<std::string()> metrics;  // The /metrics page.
    std::function<bool()> ready;           // /readyz: true means 200.
  };
  struct Limits {
    std::size_t max_head_bytes = 8 << 10;  // Request line and headers; beyond: 431.
    absl::Duration head_timeout = absl::Seconds(2);  // To receive them; then 408 and closed.
    int max_connections = 64;
  };

  explicit AdminServer(Handlers handlers) : AdminServer(std::move(handlers), Limits()) {}
  AdminServer(Handlers handlers, Limits limits);
  ~AdminServer();  // Stop().

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Listens on `host_port` ("0.0.0.0:9090"; port 0 picks a free one) and
  // serves on a thread of its own. Returns the port. A port another socket
  // listens on is an error (no SO_REUSEPORT sharing).
  absl::StatusOr<int> Start(const std::string& host_port);
  // Stops listening, closes every connection and joins the thread, without
  // waiting for any client. Safe to call twice.
  void Stop();

 private:
  const Handlers handlers_;
  const Limits limits_;
  std::unique_ptr<AdminServerLoop> loop_;
  std::thread thread_;
};

}  // namespace tcpgate

#endif  // GATEWAY_ADMIN_SERVER_H_
