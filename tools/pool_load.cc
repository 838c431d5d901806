#include "tools/pool_load.h"

#include <atomic>
#include <chrono>
#include <semaphore>
#include <thread>
#include <memory>
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

// One caller as a chain of callbacks: each answer sends the next request.
class CallbackCaller {
 public:
  CallbackCaller(tcpcore::Pool& pool, int caller, const PoolLoadOptions& options, Clock::time_point measure_from,
                 Clock::time_point end, std::atomic<int>& finished)
      : pool_(pool),
        caller_(caller),
        val_(options.val),
        expected_val_(absl::StrCat(tcpcore::HelloHandler::kGreeting, options.val)),
        measure_from_(measure_from),
        end_(end),
        finished_(finished) {}

  void SendNext() {
    const Clock::time_point start = Clock::now();
    if (start >= end_) {
      finished_.fetch_add(1, std::memory_order_release);
      finished_.notify_one();
      return;
    }
    uid_ = absl::StrCat("p", caller_, "-", seq_++);
    pool_.Send(tcpcore::Request{uid_, val_}, absl::Now() + absl::Seconds(10),
               [this, start](absl::StatusOr<tcpcore::Response> answer) {
                 const Clock::time_point done = Clock::now();
                 if (!answer.ok() || answer->uid != uid_ || answer->val != expected_val_) {
                   ++result_.errors;
                 } else if (start >= measure_from_ && done <= end_) {
                   ++result_.answered;
                   result_.latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(done - start).count());
                 }
                 SendNext();
               });
  }
  const LoadResult& result() const { return result_; }

 private:
  tcpcore::Pool& pool_;
  const int caller_;
  const std::string val_;
  const std::string expected_val_;
  const Clock::time_point measure_from_;
  const Clock::time_point end_;
  std::atomic<int>& finished_;
  uint64_t seq_ = 0;
  std::string uid_;
  LoadResult result_;
};

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
  if (options.caller_threads) {
    std::vector<std::thread> callers;
    for (int i = 0; i < options.callers; ++i) {
      callers.emplace_back([&, i] { results[i] = RunCaller(pool, i, options, measure_from, end); });
    }
    for (auto& caller : callers) caller.join();
  } else {
    std::atomic<int> finished{0};
    std::vector<std::unique_ptr<CallbackCaller>> callers;
    for (int i = 0; i < options.callers; ++i) {
      callers.push_back(std::make_unique<CallbackCaller>(pool, i, options, measure_from, end, finished));
    }
    for (auto& caller : callers) caller->SendNext();
    for (int seen = finished.load(std::memory_order_acquire); seen < options.callers;
         seen = finished.load(std::memory_order_acquire)) {
      finished.wait(seen, std::memory_order_acquire);
    }
    for (int i = 0; i < options.callers; ++i) results[i] = callers[i]->result();
  }
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
