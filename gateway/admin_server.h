// AdminServer: the operator's HTTP endpoint, served by cpp-httplib on its own
// small thread pool: /metrics (Prometheus text), /healthz (the process is
// alive and answering: for liveness probes) and /readyz (200 while the
// gateway should get calls — a backend connection is healthy and it is not
// draining — else 503: for readiness probes and load balancers).
//
// Thread-safety: Start and Stop from one thread. The handlers run on the
// server's threads, so the functions given must be thread-safe.
#ifndef GATEWAY_ADMIN_SERVER_H_
#define GATEWAY_ADMIN_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace tcpgate {

class AdminServer {
 public:
  struct Handlers {
    std::function<std::string()> metrics;  // The /metrics page.
    std::function<bool()> ready;           // /readyz: true means 200.
  };

  explicit AdminServer(Handlers handlers);
  ~AdminServer();  // Stop().

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Listens on `host_port` ("0.0.0.0:9090"; port 0 picks a free one) and
  // serves on a thread of its own. Returns the port.
  absl::StatusOr<int> Start(const std::string& host_port);
  // Stops listening and joins the threads. Safe to call twice.
  void Stop();

 private:
  Handlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace tcpgate

#endif  // GATEWAY_ADMIN_SERVER_H_
