#include "tools/pool_load.h"

#include <atomic>
#include <chrono>
#include <semaphore>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/pool.h"

namespace tcpgate {
namespace {

using Clock = std::chrono::steady_clock;

// One caller thread's closed loop; returns what it measured.
LoadResult RunCaller(tcpcore::Pool& pool, int caller, const PoolLoadOptions& options, Clock::time_point measure_from,
                     Clock::time_point end) {
  LoadResult result;
  std::binary_semaphore answered(0);
  absl::StatusOr<tcpcore::Response> answer;
  const std::string expected_val = absl::StrCat(tcpcore::HelloHandler::kGreeting, options.val);
  for (uint64_t seq = 0;; ++seq) {
    const Clock::time_point start = Clock::now();
    if (start >= end) break;
    tcpcore::Request request{absl::StrCat("p", caller, "-", seq), options.val};
    const std::string uid = request.uid;
    pool.Send(std::move(request), absl::Now() + absl::Seconds(10), [&](absl::StatusOr<tcpcore::Response> r) {
      answer = std::move(r);
      answered.release();
    });
    answered.acquire();
    const Clock::time_point done = Clock::now();
    if (!answer.ok() || answer->uid != uid || answer->val != expected_val) {
      ++result.errors;
      continue;
    }
    if (start >= measure_from && done <= end) {
      ++result.answered;
      result.latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(done - start).count());
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<LoadResult> RunPoolLoad(const PoolLoadOptions& options) {
  tcpcore::EventLoopGroup loops(options.loops, "pool");
  tcpcore::PoolOptions pool_options;
  pool_options.backends = {options.target};
  pool_options.size = options.pool_size;
  pool_options.min_idle = options.pool_size;
  pool_options.grow_at_pending = 1 << 30;  // Exactly pool_size connections.
  tcpcore::Pool pool(loops, pool_options);
  if (absl::Status status = pool.Start(); !status.ok()) return status;
  if (!pool.AwaitReady(options.pool_size, absl::Seconds(10))) {
    return absl::UnavailableError(absl::StrCat("could not open ", options.pool_size, " connections to ", options.target));
  }
  const Clock::time_point measure_from = Clock::now() + absl::ToChronoNanoseconds(options.warmup);
  const Clock::time_point end = measure_from + absl::ToChronoNanoseconds(options.duration);
  std::vector<LoadResult> results(options.callers);
  std::vector<std::thread> callers;
  for (int i = 0; i < options.callers; ++i) {
    callers.emplace_back([&, i] { results[i] = RunCaller(pool, i, options, measure_from, end); });
  }
  for (auto& caller : callers) caller.join();
  pool.Close();
  LoadResult total;
  total.seconds = absl::ToDoubleSeconds(options.duration);
  for (const LoadResult& r : results) {
    total.answered += r.answered;
    total.errors += r.errors;
    total.latency.Merge(r.latency);
  }
  return total;
}

}  // namespace tcpgate
