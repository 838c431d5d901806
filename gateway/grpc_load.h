// RunGrpcLoad: closed-loop load on a tcpgate.v1.Gateway server with gRPC's
// async (callback) client: `connections` channels, each keeping `in_flight`
// requests outstanding, unary (one call per request) or streaming (one
// SendStream per channel carrying its requests), for `duration`.
//
// Thread-safety: call from one thread; completions run on gRPC's threads,
// each outstanding slot touching only its own state.
#ifndef GATEWAY_GRPC_LOAD_H_
#define GATEWAY_GRPC_LOAD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/load_result.h"

namespace tcpgate {

struct GrpcLoadOptions {
  std::string target = "127.0.0.1:50051";
  int connections = 1;
  int in_flight = 1;
  bool streaming = false;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(3);  // Per call (unary) or request.
  std::string val = "pixelpig!";
  // Called about once a second with (elapsed, answered so far, errors so far).
  std::function<void(absl::Duration, uint64_t, uint64_t)> progress;
};

struct GrpcLoadResult {
  LoadResult load;
  std::map<std::string, uint64_t> statuses;  // Status name -> count, OK included.
};

absl::StatusOr<GrpcLoadResult> RunGrpcLoad(const GrpcLoadOptions& options);

}  // namespace tcpgate

#endif  // GATEWAY_GRPC_LOAD_H_
