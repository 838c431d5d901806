#include "gateway/request_metrics.h"

#include <algorithm>

namespace tcpgate {
namespace {

int CodeIndex(grpc::StatusCode code) {
  const int index = static_cast<int>(code);
  return index >= 0 && index < RequestMetrics::kCodeCount ? index : static_cast<int>(grpc::StatusCode::UNKNOWN);
}

}  // namespace

void RequestMetrics::Record(Rpc rpc, grpc::StatusCode code, absl::Duration latency) {
  PerRpc& per_rpc = rpcs_[static_cast<int>(rpc)];
  per_rpc.by_code[CodeIndex(code)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = absl::ToDoubleSeconds(latency);
  const auto bucket = std::lower_bound(kBucketBounds.begin(), kBucketBounds.end(), seconds) - kBucketBounds.begin();
  per_rpc.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  per_rpc.sum_nanos.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Nanoseconds(latency))),
                              std::memory_order_relaxed);
}

uint64_t RequestMetrics::requests(Rpc rpc, grpc::StatusCode code) const {
  return rpcs_[static_cast<int>(rpc)].by_code[CodeIndex(code)].load(std::memory_order_relaxed);
}

RequestMetrics::Histogram RequestMetrics::latency(Rpc rpc) const {
  const PerRpc& per_rpc = rpcs_[static_cast<int>(rpc)];
  Histogram histogram;
  for (std::size_t i = 0; i < histogram.buckets.size(); ++i) {
    histogram.buckets[i] = per_rpc.buckets[i].load(std::memory_order_relaxed);
    histogram.count += histogram.buckets[i];
  }
  histogram.sum_seconds = static_cast<double>(per_rpc.sum_nanos.load(std::memory_order_relaxed)) * 1e-9;
  return histogram;
}

absl::string_view RequestMetrics::RpcName(Rpc rpc) { return rpc == Rpc::kSend ? "Send" : "SendStream"; }

}  // namespace tcpgate
