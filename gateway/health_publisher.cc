#include "gateway/health_publisher.h"

#include <chrono>
#include <utility>

#include "tcpcore/log.h"

namespace tcpgate {

HealthPublisher::HealthPublisher(asio::io_context& context, grpc::HealthCheckServiceInterface& health,
                                 std::function<bool()> backend_ready)
    : timer_(context), health_(health), backend_ready_(std::move(backend_ready)) {
  health_.SetServingStatus("", false);
  health_.SetServingStatus(kServiceName, false);
  health_.SetServingStatus(kLivenessServiceName, true);
}

void HealthPublisher::Start() { Look(); }

void HealthPublisher::Look() {
  if (draining_) return;
  if (const bool now_serving = backend_ready_(); now_serving != ready()) {
    Publish(now_serving);
    tcpcore::Log(tcpcore::LogLevel::kInfo, now_serving ? "health: SERVING" : "health: NOT_SERVING");
  }
  timer_.expires_after(std::chrono::milliseconds(50));
  timer_.async_wait([this](const asio::error_code& error) {
    if (!error) Look();
  });
}

void HealthPublisher::BeginDrain() {
  draining_ = true;
  timer_.cancel();
  Publish(false);
  tcpcore::Log(tcpcore::LogLevel::kInfo, "health: NOT_SERVING (draining)");
}

void HealthPublisher::Publish(bool serving) {
  ready_.store(serving, std::memory_order_relaxed);
  // By name: SetServingStatus(bool) would set every name, liveness too.
  health_.SetServingStatus("", serving);
  health_.SetServingStatus(kServiceName, serving);
}

}  // namespace tcpgate
