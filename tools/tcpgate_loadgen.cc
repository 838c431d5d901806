// tcpgate-loadgen: a load generator for newline-JSON TCP backends. One
// thread, one event loop (like redis-benchmark), so it is rarely the
// bottleneck: it opens --connections sockets, keeps --pipeline requests in
// flight on each for --duration, checks that every answer carries the Uid of
// a request in flight, and prints messages/s and latency percentiles.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "asio/connect.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/steady_timer.hpp"
#include "asio/write.hpp"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/host_port.h"
#include "tcpcore/message_codec.h"
#include "tools/load_histogram.h"

ABSL_FLAG(std::string, target, "127.0.0.1:3000", "backend host:port");
ABSL_FLAG(int, connections, 50, "connections to open (C)");
ABSL_FLAG(int, pipeline, 1, "requests in flight on each connection (P)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured run time (D)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "unmeasured time before the run");
ABSL_FLAG(std::string, val, "pixelpig!", "the Val of every request");

namespace tcpgate {
namespace {

using Clock = std::chrono::steady_clock;

struct RunTotals {
  uint64_t answered = 0;   // Answers counted in the measured window.
  uint64_t errors = 0;     // "-ERR" lines, unknown Uids, broken connections.
  LoadHistogram latency;
};

// One connection of the run: keeps `pipeline` requests in flight. Its Uid is
// the request's sequence number; slot seq % pipeline holds its send time.
class LoadConnection {
 public:
  LoadConnection(asio::io_context& context, int pipeline, const std::string& val, RunTotals& totals,
                 const Clock::time_point& measure_from, const bool& stopping)
      : socket_(context),
        pipeline_(pipeline),
        sent_at_(pipeline),
        totals_(totals),
        measure_from_(measure_from),
        stopping_(stopping) {
    request_.val = val;
  }

  void Start(const asio::ip::tcp::resolver::results_type& endpoints) {
    asio::async_connect(socket_, endpoints, [this](const asio::error_code& error, const asio::ip::tcp::endpoint&) {
      if (error) {
        std::fprintf(stderr, "connect failed: %s\n", error.message().c_str());
        ++totals_.errors;
        return;
      }
      socket_.set_option(asio::ip::tcp::no_delay(true));
      for (int i = 0; i < pipeline_; ++i) QueueRequest();
      Flush();
      Read();
    });
  }

  void Close() {
    asio::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void QueueRequest() {
    const uint64_t seq = next_seq_++;
    request_.uid.clear();
    absl::StrAppend(&request_.uid, seq);
    sent_at_[seq % pipeline_] = {seq, Clock::now()};
    tcpcore::AppendRequestLine(request_, out_);
  }

  void Flush() {
    if (writing_ || out_.empty()) return;
    std::swap(out_, writing_buffer_);
    out_.clear();
    writing_ = true;
    asio::async_write(socket_, asio::buffer(writing_buffer_), [this](const asio::error_code& error, std::size_t) {
      writing_ = false;
      writing_buffer_.clear();
      if (error) return Fail();
      Flush();
    });
  }

  void Read() {
    absl::Span<char> space = splitter_.PrepareWrite(16 * 1024);
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [this](const asio::error_code& error, std::size_t bytes) {
                              if (error) return Fail();
                              splitter_.CommitWrite(bytes);
                              if (!HandleAnswers()) return Fail();
                              Flush();
                              Read();
                            });
  }

  bool HandleAnswers() {
    const Clock::time_point now = Clock::now();
    while (true) {
      tcpcore::FrameSplitter::Event event = splitter_.Next();
      if (event.kind == tcpcore::FrameSplitter::Kind::kNeedMore) return true;
      if (event.kind != tcpcore::FrameSplitter::Kind::kFrame) return false;
      uint64_t seq = 0;
      if (!tcpcore::DecodeResponse(event.frame, response_).ok() || !absl::SimpleAtoi(response_.uid, &seq) ||
          sent_at_[seq % pipeline_].seq != seq || sent_at_[seq % pipeline_].answered) {
        ++totals_.errors;
        continue;
      }
      Slot& slot = sent_at_[seq % pipeline_];
      slot.answered = true;
      if (slot.at >= measure_from_ && !stopping_) {
        ++totals_.answered;
        totals_.latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.at).count());
      }
      if (!stopping_) QueueRequest();
    }
  }

  void Fail() {
    if (stopping_ || failed_) return;
    failed_ = true;
    ++totals_.errors;
    Close();
  }

  struct Slot {
    uint64_t seq = UINT64_MAX;
    Clock::time_point at;
    bool answered = false;
  };

  asio::ip::tcp::socket socket_;
  const int pipeline_;
  std::vector<Slot> sent_at_;
  RunTotals& totals_;
  const Clock::time_point& measure_from_;
  const bool& stopping_;
  tcpcore::FrameSplitter splitter_;
  tcpcore::Request request_;
  tcpcore::Response response_;
  std::string out_;
  std::string writing_buffer_;
  uint64_t next_seq_ = 0;
  bool writing_ = false;
  bool failed_ = false;
};

std::string Micros(int64_t nanos) { return absl::StrFormat("%.1f", static_cast<double>(nanos) / 1000.0); }

int Run() {
  absl::StatusOr<tcpcore::HostPort> target = tcpcore::HostPort::Parse(absl::GetFlag(FLAGS_target));
  if (!target.ok()) {
    std::fprintf(stderr, "--target: %s\n", std::string(target.status().message()).c_str());
    return 2;
  }
  const int connections = std::max(1, absl::GetFlag(FLAGS_connections));
  const int pipeline = std::max(1, absl::GetFlag(FLAGS_pipeline));
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);

  asio::io_context context(1);
  asio::ip::tcp::resolver resolver(context);
  asio::error_code error;
  auto endpoints = resolver.resolve(target->host, std::to_string(target->port), error);
  if (error) {
    std::fprintf(stderr, "cannot resolve %s: %s\n", target->ToString().c_str(), error.message().c_str());
    return 2;
  }

  RunTotals totals;
  bool stopping = false;
  Clock::time_point measure_from = Clock::now() + absl::ToChronoNanoseconds(warmup);
  std::vector<std::unique_ptr<LoadConnection>> load;
  for (int i = 0; i < connections; ++i) {
    load.push_back(std::make_unique<LoadConnection>(context, pipeline, absl::GetFlag(FLAGS_val), totals,
                                                    measure_from, stopping));
    load.back()->Start(endpoints);
  }
  asio::steady_timer end(context, measure_from + absl::ToChronoNanoseconds(duration));
  end.async_wait([&](const asio::error_code&) {
    stopping = true;
    for (auto& connection : load) connection->Close();
  });
  context.run();

  const double seconds = absl::ToDoubleSeconds(duration);
  const LoadHistogram& h = totals.latency;
  std::printf(
      "target=%s connections=%d pipeline=%d duration=%.1fs answered=%llu errors=%llu msgs_per_s=%.0f "
      "p50_us=%s p90_us=%s p99_us=%s p99.9_us=%s max_us=%s\n",
      target->ToString().c_str(), connections, pipeline, seconds, static_cast<unsigned long long>(totals.answered),
      static_cast<unsigned long long>(totals.errors), static_cast<double>(totals.answered) / seconds,
      Micros(h.Percentile(50)).c_str(), Micros(h.Percentile(90)).c_str(), Micros(h.Percentile(99)).c_str(),
      Micros(h.Percentile(99.9)).c_str(), Micros(h.max()).c_str());
  return totals.errors == 0 && totals.answered > 0 ? 0 : 1;
}

}  // namespace
}  // namespace tcpgate

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator for newline-JSON TCP backends.\n"
      "Usage: tcpgate-loadgen --target=127.0.0.1:3000 --connections=50 --pipeline=16 --duration=10s");
  absl::ParseCommandLine(argc, argv);
  return tcpgate::Run();
}
