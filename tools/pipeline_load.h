// RunPipelineLoad: load like redis-benchmark. One thread and one event loop
// open `connections` sockets and keep `pipeline` requests in flight on each,
// checking that every answer carries the Uid of a request in flight.
//
// Thread-safety: call from one thread; it runs the loop itself.
#ifndef TOOLS_PIPELINE_LOAD_H_
#define TOOLS_PIPELINE_LOAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/load_result.h"

namespace tcpgate {

struct PipelineLoadOptions {
  std::string target;  // "host:port" of the backend.
  int connections = 50;
  int pipeline = 1;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  std::string val = "pixelpig!";
};

absl::StatusOr<LoadResult> RunPipelineLoad(const PipelineLoadOptions& options);

}  // namespace tcpgate

#endif  // TOOLS_PIPELINE_LOAD_H_
