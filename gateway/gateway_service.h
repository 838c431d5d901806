// GatewayService: the tcpgate.v1.Gateway gRPC service. Each Send call goes
// through the tcpcore Pool to a backend and is finished from the pool's
// callback (gRPC's callback API: no thread waits per call). The caller's
// deadline becomes the request's deadline in the pool (or default_timeout
// when the call has none); a caller that cancels cancels the pool request
// at once. With a bearer token configured, Send and SendStream calls
// without it end UNAUTHENTICATED before they reach the pool (health and
// reflection are other services and stay open).
//
// Thread-safety: gRPC calls the service from its own threads; the service
// keeps no per-call state outside the call's reactor. The pool must outlive
// the service's calls (stop the gRPC server before closing the pool).
#ifndef GATEWAY_GATEWAY_SERVICE_H_
#define GATEWAY_GATEWAY_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/bearer_token_in_force.h"
#include "gateway/request_metrics.h"
#include "tcpcore/pool.h"
#include "tcpgate/v1/gateway.grpc.pb.h"

namespace tcpgate {

struct GatewayOptions {
  // What one SendStream may hold (requests at the backend plus answers not
  // yet written, and their bytes) before it stops reading.
  int max_pending_per_stream = 1024;
  int64_t max_held_bytes_per_stream = 8 << 20;
  // Deadline for calls that carry none (the article's read timeout).
  absl::Duration default_timeout = absl::Seconds(3);
  // Longest `val` accepted; longer is INVALID_ARGUMENT. Keep it under the
  // backend's frame limit (1 MiB by default) minus the JSON around it.
  std::size_t max_val_bytes = 512 * 1024;
  // Longest `uid` accepted.
  std::size_t max_uid_bytes = 1024;
  // When set, every call must carry one of these bearer tokens
  // (--auth_token_file).
  std::shared_ptr<const BearerTokenInForce> bearer_token;
};

// Both methods take raw bytes and parse them themselves (wire_messages.h), so
// that a request which does not parse gets a precise INVALID_ARGUMENT.
using GatewayRawService = tcpgate::v1::Gateway::WithRawCallbackMethod_Send<
    tcpgate::v1::Gateway::WithRawCallbackMethod_SendStream<tcpgate::v1::Gateway::Service>>;

class GatewayService final : public GatewayRawService {
 public:
  GatewayService(tcpcore::Pool& pool, GatewayOptions options);

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* SendStream(grpc::CallbackServerContext* context) override;

  // Checks a request's limits and gives it a uid if it has none; the error
  // is INVALID_ARGUMENT. On success uid and val are moved out of `request`
  // (val may be large); on error `request` is left as it was.
  absl::StatusOr<tcpcore::Request> Admit(tcpgate::v1::SendRequest&& request);

  // Calls whose answer has not been sent yet.
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Requests answered, by RPC and status, with latencies.
  const RequestMetrics& metrics() const { return metrics_; }
  // From now on new calls fail with UNAVAILABLE; calls in flight go on.
  void BeginDrain() { draining_.store(true, std::memory_order_release); }

 private:
  // OK, or why the call is refused before it reaches the pool: the gateway
  // is draining (UNAVAILABLE) or the bearer token is wrong (UNAUTHENTICATED).
  grpc::Status Refusal(const grpc::CallbackServerContext& context) const;
  // A uid for a request that came without one: unique in this process and,
  // through a random prefix, across gateway replicas.
  std::string NewUid();

  tcpcore::Pool& pool_;
  const GatewayOptions options_;
  const std::string uid_prefix_;
  std::atomic<uint64_t> uid_seq_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  RequestMetrics metrics_;
};

}  // namespace tcpgate

#endif  // GATEWAY_GATEWAY_SERVICE_H_
