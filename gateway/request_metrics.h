// RequestMetrics: what the gateway's callers asked for and got — requests
// by RPC and gRPC status code, and a latency histogram per RPC (each request
// of a SendStream counts on its own) — kept in atomics so that gRPC and pool
// threads record without a lock while /metrics reads.
//
// Thread-safety: Record and every reader may run on any threads at once; a
// reader sees each counter's latest value (not one consistent snapshot).
#ifndef GATEWAY_REQUEST_METRICS_H_
#define GATEWAY_REQUEST_METRICS_H_

#include <grpcpp/support/status.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tcpgate {

enum class Rpc { kSend = 0, kSendStream = 1 };

class RequestMetrics {
 public:
  static constexpr int kRpcCount = 2;
  static constexpr int kCodeCount = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED.
  // Upper bounds of the latency buckets in seconds (Prometheus `le`); the
  // last, implicit bucket is +Inf.
  static constexpr std::array<double, 16> kBucketBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                           1,      2.5,     5,      10};

  struct Histogram {
    std::array<uint64_t, kBucketBounds.size() + 1> buckets{};  // Not cumulative; last is +Inf.
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  void Record(Rpc rpc, grpc::StatusCode code, absl::Duration latency);

  uint64_t requests(Rpc rpc, grpc::StatusCode code) const;
  Histogram latency(Rpc rpc) const;

  static absl::string_view RpcName(Rpc rpc);

 private:
  struct PerRpc {
    std::array<std::atomic<uint64_t>, kCodeCount> by_code{};
    std::array<std::atomic<uint64_t>, kBucketBounds.size() + 1> buckets{};
    std::atomic<uint64_t> sum_nanos{0};
  };
  std::array<PerRpc, kRpcCount> rpcs_;
};

}  // namespace tcpgate

#endif  // GATEWAY_REQUEST_METRICS_H_
