// RunPoolLoad: load through a tcpcore Pool: `callers` closed loops, each
// with one request at a time, through one shared pool of `pool_size`
// connections. With `caller_threads` each caller is an OS thread that blocks
// until its answer; without, each caller is a chain of callbacks that sends
// its next request from the previous one's completion (how the gateway's
// gRPC reactors will use the pool: no thread per call).
//
// Thread-safety: call from one thread; it runs its own threads and loops.
#ifndef TOOLS_POOL_LOAD_H_
#define TOOLS_POOL_LOAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/load_result.h"

namespace tcpgate {

struct PoolLoadOptions {
  std::string target;  // "host:port" of the backend.
  int callers = 64;
  int pool_size = 1;
  int loops = 2;  // Event-loop threads of the pool.
  bool caller_threads = true;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(1);
  std::string val = "pixelpig!";
};

absl::StatusOr<LoadResult> RunPoolLoad(const PoolLoadOptions& options);

}  // namespace tcpgate

#endif  // TOOLS_POOL_LOAD_H_
