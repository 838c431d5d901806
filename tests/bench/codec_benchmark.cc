// Micro-benchmarks of the per-message hot path: FrameSplitter, the JSON codec,
// the RFC 3339 timestamp and their combination as the server runs it. Not a
// test; run it by hand:
//   build/default/bin/codec_benchmark --benchmark_min_time=0.2
//
// Besides time, every benchmark reports `allocs_per_msg`: the heap
// allocations per message once buffers have reached their steady-state size,
// counted by replacing the global operator new of this binary. Benchmarks of
// whole streams also report `time_per_msg` (seconds with an SI prefix: "40n"
// is 40 ns).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/message.h"
#include "tcpcore/message_codec.h"
#include "tcpcore/rfc3339_time.h"

// ---- Allocation counting ----------------------------------------------------
// Every non-aligned form of operator new in this binary counts here; the
// aligned forms keep the library's versions and go uncounted.

namespace {

std::atomic<std::uint64_t> g_allocation_count{0};

void* CountedAllocate(std::size_t size) {
  g_allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void* CountedAllocateNoThrow(std::size_t size) noexcept {
  g_allocation_count.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

}  // namespace

void* operator new(std::size_t size) { return CountedAllocate(size); }
void* operator new[](std::size_t size) { return CountedAllocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return CountedAllocateNoThrow(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return CountedAllocateNoThrow(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using ::tcpcore::FrameSplitter;
using ::tcpcore::Request;
using ::tcpcore::Response;

constexpr int kMessagesPerStream = 1000;
constexpr absl::string_view kTypicalRequest = R"({"Uid":"pixel-1","Val":"pixelpig!"})";

// Runs `pass` (one benchmark iteration) once to bring buffers to their
// steady-state size, then a few more times counting heap allocations, and
// returns the allocations per pass. Counting outside the timed loop keeps the
// benchmark library's own allocations out and costs the timings nothing.
template <typename Pass>
double SteadyStateAllocationsPerPass(Pass& pass) {
  constexpr int kCountedPasses = 16;
  pass();
  const std::uint64_t before = g_allocation_count.load(std::memory_order_relaxed);
  for (int i = 0; i < kCountedPasses; ++i) pass();
  const std::uint64_t allocations = g_allocation_count.load(std::memory_order_relaxed) - before;
  return static_cast<double>(allocations) / kCountedPasses;
}

// Times `pass`, which handles `messages_per_pass` messages of
// `bytes_per_pass` input bytes in all (0: no byte rate), and reports the
// per-message counters.
template <typename Pass>
void RunPasses(benchmark::State& state, Pass pass, int messages_per_pass, std::size_t bytes_per_pass) {
  const double allocations_per_pass = SteadyStateAllocationsPerPass(pass);
  for (auto _ : state) pass();
  state.SetItemsProcessed(state.iterations() * messages_per_pass);
  if (bytes_per_pass > 0) {
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_pass));
  }
  state.counters["allocs_per_msg"] = allocations_per_pass / messages_per_pass;
  if (messages_per_pass > 1) {
    state.counters["time_per_msg"] =
        benchmark::Counter(messages_per_pass, benchmark::Counter::kIsIterationInvariantRate |
                                                  benchmark::Counter::kInvert);
  }
}

// `count` distinct typical requests, each followed by `separator`.
std::string MakeRequestStream(int count, absl::string_view separator) {
  std::string stream;
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&stream, R"({"Uid":"pixel-)", i, R"(","Val":"pixelpig!"})", separator);
  }
  return stream;
}

// Splits a stream of `kMessagesPerStream` requests with one long-lived
// splitter, as a connection does; the stream is appended in one piece.
void SplitStream(benchmark::State& state, absl::string_view separator) {
  const std::string stream = MakeRequestStream(kMessagesPerStream, separator);
  FrameSplitter splitter;
  auto split_all = [&] {
    splitter.Append(stream);
    int frames = 0;
    for (FrameSplitter::Event event = splitter.Next(); event.kind == FrameSplitter::Kind::kFrame;
         event = splitter.Next()) {
      benchmark::DoNotOptimize(event.frame.data());
      ++frames;
    }
    if (frames != kMessagesPerStream) state.SkipWithError("wrong number of frames");
  };
  RunPasses(state, split_all, kMessagesPerStream, stream.size());
}

void BM_SplitNewlineTerminated(benchmark::State& state) { SplitStream(state, "\n"); }
BENCHMARK(BM_SplitNewlineTerminated);

void BM_SplitBackToBack(benchmark::State& state) { SplitStream(state, ""); }
BENCHMARK(BM_SplitBackToBack);

void DecodeOneRequest(benchmark::State& state, absl::string_view frame) {
  Request request;  // Reused, as a connection reuses its request.
  auto decode = [&] {
    if (!tcpcore::DecodeRequest(frame, request).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(request);
  };
  RunPasses(state, decode, 1, frame.size());
}

void BM_DecodeRequestTypical(benchmark::State& state) { DecodeOneRequest(state, kTypicalRequest); }
BENCHMARK(BM_DecodeRequestTypical);

void BM_DecodeRequestVal1KiB(benchmark::State& state) {
  std::string val;
  for (int i = 0; val.size() < 1024; ++i) val.push_back(static_cast<char>('a' + i % 26));
  std::string frame;
  tcpcore::AppendRequestLine(Request{"pixel-1", val}, frame);
  frame.pop_back();  // The '\n'.
  DecodeOneRequest(state, frame);
}
BENCHMARK(BM_DecodeRequestVal1KiB);

void BM_AppendResponseLine(benchmark::State& state) {
  const Response response{"pixel-1", "server: hello, pixelpig!", "2026-11-25T12:00:00.123456789Z"};
  std::string out;  // Reused, as a connection reuses its output buffer.
  auto encode = [&] {
    out.clear();
    tcpcore::AppendResponseLine(response, out);
    benchmark::DoNotOptimize(out.data());
  };
  encode();
  RunPasses(state, encode, 1, out.size());
}
BENCHMARK(BM_AppendResponseLine);

// Formats times `step` apart: 1 µs stays within the cached second almost
// always, 1 s formats a new second every time.
void AppendRfc3339(benchmark::State& state, absl::Duration step) {
  absl::Time t = absl::FromUnixNanos(1795608000123456789);  // 2026-11-25T12:00:00.123456789Z
  std::string out;
  auto format = [&] {
    out.clear();
    tcpcore::AppendRfc3339Nanos(t, out);
    benchmark::DoNotOptimize(out.data());
    t += step;
  };
  RunPasses(state, format, 1, 0);
}

void BM_AppendRfc3339NanosSameSecond(benchmark::State& state) { AppendRfc3339(state, absl::Microseconds(1)); }
BENCHMARK(BM_AppendRfc3339NanosSameSecond);

void BM_AppendRfc3339NanosNewSecond(benchmark::State& state) { AppendRfc3339(state, absl::Seconds(1)); }
BENCHMARK(BM_AppendRfc3339NanosNewSecond);

// What a connection does per message with the hello handler: split, decode,
// build the answer (as HelloHandler does, with the current time) and encode
// it into the output buffer, which is emptied once per stream as a flush
// would.
void BM_ServerPathPerMessage(benchmark::State& state) {
  const std::string stream = MakeRequestStream(kMessagesPerStream, "\n");
  FrameSplitter splitter;
  Request request;
  Response response;
  std::string out;
  auto serve_all = [&] {
    out.clear();
    splitter.Append(stream);
    int answered = 0;
    for (FrameSplitter::Event event = splitter.Next(); event.kind == FrameSplitter::Kind::kFrame;
         event = splitter.Next()) {
      if (!tcpcore::DecodeRequest(event.frame, request).ok()) continue;
      response.uid.assign(request.uid);
      response.val.assign(tcpcore::HelloHandler::kGreeting);
      response.val.append(request.val);
      response.ts.clear();
      tcpcore::AppendRfc3339Nanos(absl::Now(), response.ts);
      tcpcore::AppendResponseLine(response, out);
      ++answered;
    }
    benchmark::DoNotOptimize(out.data());
    if (answered != kMessagesPerStream) state.SkipWithError("not every request was answered");
  };
  RunPasses(state, serve_all, kMessagesPerStream, stream.size());
}
BENCHMARK(BM_ServerPathPerMessage);

}  // namespace

BENCHMARK_MAIN();
