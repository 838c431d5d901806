// tcpgate-loadgen: load generator for newline-JSON TCP backends.
//
//   --mode=pipeline (default): like redis-benchmark, one thread and one event
//     loop keep --pipeline requests in flight on each of --connections.
//   --mode=pool: --callers threads, each sending one request at a time
//     through one tcpcore Pool of --pool_size connections (how the gateway
//     uses the pool).
//
// Prints one line of key=value pairs: messages/s and latency percentiles.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tcpcore/log.h"
#include "tools/pipeline_load.h"
#include "tools/own_flags_help.h"
#include "tools/pool_load.h"

ABSL_FLAG(std::string, target, "127.0.0.1:3000", "backend host:port");
ABSL_FLAG(std::string, mode, "pipeline", "pipeline | pool");
ABSL_FLAG(int, connections, 50, "pipeline mode: connections to open (C)");
ABSL_FLAG(int, pipeline, 1, "pipeline mode: requests in flight on each connection (P)");
ABSL_FLAG(int, callers, 64, "pool mode: caller threads (T)");
ABSL_FLAG(int, pool_size, 1, "pool mode: connections in the pool (S)");
ABSL_FLAG(int, pool_loops, 2, "pool mode: event-loop threads of the pool");
ABSL_FLAG(bool, caller_threads, true,
          "pool mode: each caller is a thread blocking on its answer; false: a chain of callbacks");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured run time (D)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "unmeasured time before the run");
ABSL_FLAG(std::string, val, "pixelpig!", "the Val of every request");

int main(int argc, char** argv) {
  tcpgate::ListOwnFlagsInHelp(
      __FILE__,
      "Load generator for newline-JSON TCP backends.\n"
      "  tcpgate-loadgen --target=127.0.0.1:3000 --connections=50 --pipeline=16 --duration=10s\n"
      "  tcpgate-loadgen --target=127.0.0.1:3000 --mode=pool --callers=64 --pool_size=1");
  absl::ParseCommandLine(argc, argv);
  tcpcore::SetMinLogLevel(tcpcore::LogLevel::kWarning);
  const std::string target = absl::GetFlag(FLAGS_target);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  absl::StatusOr<tcpgate::LoadResult> result;
  std::string fields;
  if (absl::GetFlag(FLAGS_mode) == "pool") {
    tcpgate::PoolLoadOptions options;
    options.target = target;
    options.callers = std::max(1, absl::GetFlag(FLAGS_callers));
    options.pool_size = std::max(1, absl::GetFlag(FLAGS_pool_size));
    options.loops = std::max(1, absl::GetFlag(FLAGS_pool_loops));
    options.caller_threads = absl::GetFlag(FLAGS_caller_threads);
    options.duration = duration;
    options.warmup = absl::GetFlag(FLAGS_warmup);
    options.val = absl::GetFlag(FLAGS_val);
    fields = absl::StrFormat("target=%s mode=pool callers=%d%s pool=%d duration=%.1fs", target, options.callers,
                             options.caller_threads ? "" : " caller_threads=false", options.pool_size,
                             absl::ToDoubleSeconds(duration));
    result = tcpgate::RunPoolLoad(options);
  } else if (absl::GetFlag(FLAGS_mode) == "pipeline") {
    tcpgate::PipelineLoadOptions options;
    options.target = target;
    options.connections = std::max(1, absl::GetFlag(FLAGS_connections));
    options.pipeline = std::max(1, absl::GetFlag(FLAGS_pipeline));
    options.duration = duration;
    options.warmup = absl::GetFlag(FLAGS_warmup);
    options.val = absl::GetFlag(FLAGS_val);
    fields = absl::StrFormat("target=%s connections=%d pipeline=%d duration=%.1fs", target, options.connections,
                             options.pipeline, absl::ToDoubleSeconds(duration));
    result = tcpgate::RunPipelineLoad(options);
  } else {
    std::fprintf(stderr, "--mode must be pipeline or pool\n");
    return 2;
  }
  if (!result.ok()) {
    std::fprintf(stderr, "tcpgate-loadgen: %s\n", std::string(result.status().message()).c_str());
    return 2;
  }
  std::printf("%s\n", tcpgate::FormatLoadLine(fields, *result).c_str());
  return result->errors == 0 && result->answered > 0 ? 0 : 1;
}
