#include "tools/pipeline_load.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "asio/connect.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/steady_timer.hpp"
#include "asio/write.hpp"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/host_port.h"
#include "tcpcore/message_codec.h"

namespace tcpgate {
namespace {

using Clock = std::chrono::steady_clock;

// One connection of the run: keeps `pipeline` requests in flight. Its Uid is
// the request's sequence number; slot seq % pipeline holds its send time.
class LoadConnection {
 public:
  LoadConnection(asio::io_context& context, int pipeline, const std::string& val, LoadResult& totals,
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
  LoadResult& totals_;
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

}  // namespace

absl::StatusOr<LoadResult> RunPipelineLoad(const PipelineLoadOptions& options) {
  absl::StatusOr<tcpcore::HostPort> target = tcpcore::HostPort::Parse(options.target);
  if (!target.ok()) return target.status();
  const int connections = std::max(1, options.connections);
  const int pipeline = std::max(1, options.pipeline);

  asio::io_context context(1);
  asio::ip::tcp::resolver resolver(context);
  asio::error_code error;
  auto endpoints = resolver.resolve(target->host, std::to_string(target->port), error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot resolve ", options.target, ": ", error.message()));

  LoadResult totals;
  totals.seconds = absl::ToDoubleSeconds(options.duration);
  bool stopping = false;
  const Clock::time_point measure_from = Clock::now() + absl::ToChronoNanoseconds(options.warmup);
  std::vector<std::unique_ptr<LoadConnection>> load;
  for (int i = 0; i < connections; ++i) {
    load.push_back(std::make_unique<LoadConnection>(context, pipeline, options.val, totals, measure_from, stopping));
    load.back()->Start(endpoints);
  }
  asio::steady_timer end(context, measure_from + absl::ToChronoNanoseconds(options.duration));
  end.async_wait([&](const asio::error_code&) {
    stopping = true;
    for (auto& connection : load) connection->Close();
  });
  context.run();
  return totals;
}

}  // namespace tcpgate
