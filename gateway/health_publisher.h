// HealthPublisher: what the gateway tells health checkers. The gRPC health
// names "" and tcpgate.v1.Gateway (readiness), and the admin port's /readyz
// through ready(), say SERVING while at least one backend connection can take
// a request and the gateway is not draining; it looks at the backends every
// 50 ms and logs each change. The name "liveness" says SERVING while the
// process serves gRPC at all, whatever the backends do and through the drain,
// so a probe of it sees a dead gRPC acceptor or stuck callback threads, which
// /healthz (another port, another thread) cannot.
//
// Thread-safety: construct, Start() and BeginDrain() on the thread that runs
// `context`; ready() from any thread.
#ifndef GATEWAY_HEALTH_PUBLISHER_H_
#define GATEWAY_HEALTH_PUBLISHER_H_

#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <functional>

#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"

namespace tcpgate {

class HealthPublisher {
 public:
  // The readiness name besides "" (the service's full name).
  static constexpr char kServiceName[] = "tcpgate.v1.Gateway";
  // The liveness name (tests/deploy/check_drift.js reads it from here).
  static constexpr char kLivenessServiceName[] = "liveness";

  // Sets every name at once: the readiness names NOT_SERVING (gRPC registers
  // "" as SERVING, which would send callers here before a backend connection
  // is ready), liveness SERVING. `backend_ready` runs on `context`'s thread.
  HealthPublisher(asio::io_context& context, grpc::HealthCheckServiceInterface& health,
                  std::function<bool()> backend_ready);
  HealthPublisher(const HealthPublisher&) = delete;
  HealthPublisher& operator=(const HealthPublisher&) = delete;

  // Starts looking at the backends (at once, then every 50 ms).
  void Start();
  // NOT_SERVING for good (liveness stays SERVING); stops looking.
  void BeginDrain();
  // The readiness names' status, for other threads (/readyz).
  bool ready() const { return ready_.load(std::memory_order_relaxed); }

 private:
  void Look();
  void Publish(bool serving);

  asio::steady_timer timer_;
  grpc::HealthCheckServiceInterface& health_;
  const std::function<bool()> backend_ready_;
  bool draining_ = false;
  // The readiness names' status; written on the loop only, read anywhere.
  std::atomic<bool> ready_{false};
};

}  // namespace tcpgate

#endif  // GATEWAY_HEALTH_PUBLISHER_H_
