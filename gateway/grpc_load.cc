#include "gateway/grpc_load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/callback_thread_heartbeat.h"
#include "tcpcore/hello_handler.h"
#include "tcpgate/v1/gateway.grpc.pb.h"

namespace tcpgate {
namespace {

using Clock = std::chrono::steady_clock;
using tcpgate::v1::SendRequest;
using tcpgate::v1::SendResponse;

// What every slot shares: the clock window, the counters, the finish line.
struct Run {
  Clock::time_point measure_from;
  Clock::time_point end;
  std::chrono::nanoseconds lateness_base{0};
  std::atomic<uint64_t> errors{0};     // Errors (statuses, crossed) that came in the measured window.
  std::atomic<uint64_t> ok_all{0};     // OK answers at any time (the progress line).
  std::atomic<uint64_t> errors_all{0}; // Errors at any time.
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> lost{0};       // Left unanswered by a stream that ended OK.
  std::atomic<uint64_t> crossed{0};
  std::atomic<int64_t> max_lateness_ns{std::numeric_limits<int64_t>::min()};
  std::atomic<uint64_t> status_counts[17] = {};
  std::mutex messages_mu;  // Guards the two below (errors only: off the OK path).
  std::map<std::string, uint64_t> error_messages;
  uint64_t other_error_messages = 0;
  std::mutex mu;
  std::condition_variable done;
  int active = 0;  // Guarded by mu: slots (or streams) still running.

  void Record(int code, uint64_t n = 1) {
    status_counts[code >= 0 && code < 17 ? code : 2].fetch_add(n, std::memory_order_relaxed);
  }
  // `n` requests' status, and for an error why, for the summary of what
  // failed (the OK path takes no lock).
  void RecordOutcome(int code, absl::string_view message, uint64_t n = 1) {
    Record(code, n);
    if (code == 0 || n == 0) return;
    std::string key = absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), ": ",
                                   message.substr(0, kMessageChars));
    std::lock_guard lock(messages_mu);
    auto it = error_messages.find(key);
    if (it != error_messages.end()) {
      it->second += n;
    } else if (error_messages.size() < GrpcLoadResult::kMaxErrorMessages) {
      error_messages.emplace(std::move(key), n);
    } else {
      other_error_messages += n;
    }
  }
  static constexpr std::size_t kMessageChars = 200;
  bool InWindow(Clock::time_point t) const { return t >= measure_from && t <= end; }
  // One request's outcome, counted when it comes: an answer that comes in
  // the measured window counts there whenever its request was sent (warm-up
  // included), so the rate is completions per second of the window.
  void CountError(Clock::time_point at, uint64_t n = 1) {
    errors_all.fetch_add(n, std::memory_order_relaxed);
    if (InWindow(at)) errors.fetch_add(n, std::memory_order_relaxed);
  }
  // True when the answer counts in the window: the slot then counts it and
  // records its latency (the slots' own counts are summed at the end).
  bool CountOk(Clock::time_point at) {
    ok_all.fetch_add(1, std::memory_order_relaxed);
    return InWindow(at);
  }
  void RecordLateness(Clock::time_point started, Clock::time_point answered_at) {
    const int64_t late = (answered_at - (started + lateness_base)).count();
    int64_t seen = max_lateness_ns.load(std::memory_order_relaxed);
    while (late > seen && !max_lateness_ns.compare_exchange_weak(seen, late, std::memory_order_relaxed)) {
    }
  }
  // The hello backend's answer to the request (uid, val)?
  static bool Matches(absl::string_view uid, absl::string_view val, const SendResponse& response) {
    const absl::string_view greeting = tcpcore::HelloHandler::kGreeting;
    return response.uid() == uid && response.val().size() == greeting.size() + val.size() &&
           absl::StartsWith(response.val(), greeting) && absl::EndsWith(response.val(), val);
  }
  void Finished() {
    std::lock_guard lock(mu);
    if (--active == 0) done.notify_all();
  }

  // Next calls of slots whose call failed on a channel with no connection,
  // issued from the tool's own thread (ServeRetries) rather than from the
  // failed call's completion: such a channel fails each call as it starts,
  // and issuing the next from the completion would keep a gRPC thread in a
  // loop of instant failures while answers to calls still open on other
  // connections wait behind it (seen: 1.3 s, after the gateway exited).
  void Retry(std::function<void()> issue) {
    std::lock_guard lock(retry_mu);
    retries.push_back(std::move(issue));
    retry_wanted.notify_one();
  }
  void ServeRetries() {
    std::unique_lock lock(retry_mu);
    while (true) {
      retry_wanted.wait(lock, [&] { return !retries.empty() || retry_stop; });
      if (retries.empty()) return;
      std::function<void()> issue = std::move(retries.front());
      retries.pop_front();
      lock.unlock();
      issue();
      lock.lock();
    }
  }
  void StopRetries() {
    std::lock_guard lock(retry_mu);
    retry_stop = true;
    retry_wanted.notify_one();
  }
  std::mutex retry_mu;
  std::condition_variable retry_wanted;
  std::deque<std::function<void()>> retries;  // Guarded by retry_mu.
  bool retry_stop = false;                    // Guarded by retry_mu.
};

// One outstanding unary call, re-issued from its own completion.
class UnarySlot {
 public:
  UnarySlot(grpc::Channel& channel, tcpgate::v1::Gateway::Stub& stub, Run& run, const GrpcLoadOptions& options,
            int id)
      : channel_(channel), stub_(stub), run_(run), options_(options), id_(id) {
    request_.set_val(options.val);
  }
  void Issue() {
    const Clock::time_point now = Clock::now();
    if (now >= run_.end) {
      run_.Finished();
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    if (options_.timeout > absl::ZeroDuration()) {
      context_->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(options_.timeout));
    }
    request_.set_uid(absl::StrCat("b", id_, "-", seq_++));
    response_.Clear();
    started_ = now;
    run_.sent.fetch_add(1, std::memory_order_relaxed);
    stub_.async()->Send(context_.get(), &request_, &response_, [this](grpc::Status status) { Done(status); });
  }
  LoadHistogram latency;
  uint64_t answered = 0;

 private:
  void Done(const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    run_.RecordOutcome(status.error_code(), status.error_message());
    run_.RecordLateness(started_, now);
    const bool crossed = status.ok() && !Run::Matches(request_.uid(), request_.val(), response_);
    if (crossed) run_.crossed.fetch_add(1, std::memory_order_relaxed);
    if (!status.ok() || crossed) {
      run_.CountError(now);
    } else if (run_.CountOk(now)) {
      ++answered;
      latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(now - started_).count());
    }
    // A channel without a connection fails each call as it starts; its
    // next call goes through the tool's thread (Run::Retry).
    if (!status.ok() && channel_.GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
      run_.Retry([this] { Issue(); });
    } else {
      Issue();
    }
  }

  grpc::Channel& channel_;
  tcpgate::v1::Gateway::Stub& stub_;
  Run& run_;
  const GrpcLoadOptions& options_;
  const int id_;
  uint64_t seq_ = 0;
  std::unique_ptr<grpc::ClientContext> context_;
  SendRequest request_;
  SendResponse response_;
  Clock::time_point started_;
};

// One SendStream keeping `in_flight` requests outstanding: every answer read
// lets one more request be written. One write and one read in flight. A
// write that another follows at once carries gRPC's buffer hint, so a burst
// of requests leaves in one flush, as a streaming client's library would
// send them (one sendmsg per request made the load tool, not the server,
// the bottleneck of a streaming run). No gRPC operation is started while
// mu_ is held (a reaction may run inline).
class StreamSlot : public grpc::ClientBidiReactor<SendRequest, SendResponse> {
 public:
  StreamSlot(tcpgate::v1::Gateway::Stub& stub, Run& run, const GrpcLoadOptions& options, int id)
      : run_(run), options_(options), id_(id) {
    stub.async()->SendStream(&context_, this);
    to_write_ = options.in_flight;
    StartRead(&response_);
    Step step;
    {
      std::lock_guard lock(mu_);
      step = PlanLocked();
    }
    Apply(step);
    StartCall();
  }
  LoadHistogram latency;  // Touched by reads only, which are sequential.
  uint64_t answered = 0;

  void OnWriteDone(bool ok) override {
    Step step;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      if (!ok) broken_ = true;
      step = PlanLocked();
    }
    Apply(step);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const Clock::time_point now = Clock::now();
    // A stream's answers come in any order: the uid must name a request of
    // this stream still unanswered, and the val must be the greeting for it.
    const std::string& uid = response_.uid();
    const std::size_t dash = uid.find('-');
    uint64_t seq = 0;
    const bool parsed = dash != std::string::npos && absl::SimpleAtoi(absl::string_view(uid).substr(dash + 1), &seq);
    std::optional<Clock::time_point> started;
    {
      std::lock_guard lock(mu_);
      auto it = parsed ? sent_at_.find(seq) : sent_at_.end();
      if (it != sent_at_.end()) {
        started = it->second;
        sent_at_.erase(it);
      }
    }
    const int code = response_.has_error() ? response_.error().code() : 0;
    run_.RecordOutcome(code, code == 0 ? absl::string_view() : absl::string_view(response_.error().message()));
    if (started) run_.RecordLateness(*started, now);
    const bool crossed = !started || (code == 0 && !Run::Matches(uid, options_.val, response_));
    if (crossed) run_.crossed.fetch_add(1, std::memory_order_relaxed);
    if (code != 0 || crossed) {
      run_.CountError(now);
    } else if (run_.CountOk(now)) {
      ++answered;
      latency.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(now - *started).count());
    }
    Step step;
    {
      std::lock_guard lock(mu_);
      ++to_write_;
      --outstanding_;
      step = PlanLocked();
    }
    Apply(step);
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    const Clock::time_point now = Clock::now();
    std::size_t open = 0;
    {
      std::lock_guard lock(mu_);
      open = sent_at_.size();
      sent_at_.clear();  // So Unanswered() is 0 from now on.
    }
    // A failed stream's status is the answer of each request it left
    // without one; failing with none left, it is an error of no request
    // (counted in errors, not in statuses, which sum to the requests sent).
    // A stream that ended OK with requests still unanswered lost them.
    if (!status.ok()) {
      run_.RecordOutcome(status.error_code(), status.error_message(), open);
      run_.CountError(now, std::max<std::size_t>(open, 1));
    } else if (open > 0) {
      run_.lost.fetch_add(open, std::memory_order_relaxed);
    }
    run_.Finished();
  }
  // Requests still without an answer, for a stream that never finished.
  uint64_t Unanswered() {
    std::lock_guard lock(mu_);
    return sent_at_.size();
  }

 private:
  enum class Step { kNone, kWrite, kWriteMayWait, kWritesDone };

  Step PlanLocked() {
    if (writing_ || writes_done_ || broken_) return Step::kNone;
    const Clock::time_point now = Clock::now();
    if (now >= run_.end) {
      // A write sent with the buffer hint may still sit in gRPC's buffer,
      // its answer never coming: the half-close flushes it.
      if (outstanding_ > 0 && !last_write_held_) return Step::kNone;
      writes_done_ = true;
      return Step::kWritesDone;
    }
    if (to_write_ == 0) return Step::kNone;
    const uint64_t seq = seq_++;
    request_.set_uid(absl::StrCat("s", id_, "-", seq));
    request_.set_val(options_.val);
    sent_at_[seq] = now;
    run_.sent.fetch_add(1, std::memory_order_relaxed);
    --to_write_;
    writing_ = true;
    // Another write follows at once (answers freed several slots): gRPC may
    // hold this one to send it with that one, one flush for several. The
    // last write of such a burst goes at once and takes the held ones with
    // it, so no request waits in this tool for an answer to come back (an
    // earlier rule, "hold while half the window is out", held some for a
    // whole service time, which counted as their latency).
    const bool may_wait = to_write_ > 0;
    ++outstanding_;
    last_write_held_ = may_wait;
    return may_wait ? Step::kWriteMayWait : Step::kWrite;
  }
  void Apply(Step step) {
    if (step == Step::kWrite) StartWrite(&request_);
    if (step == Step::kWriteMayWait) StartWrite(&request_, grpc::WriteOptions().set_buffer_hint());
    if (step == Step::kWritesDone) StartWritesDone();
  }

  Run& run_;
  const GrpcLoadOptions& options_;
  const int id_;
  grpc::ClientContext context_;
  std::mutex mu_;
  SendRequest request_;   // Written only by PlanLocked while no write is in flight.
  SendResponse response_;
  // When each unanswered request was sent, by sequence number. A ring of
  // `in_flight` slots is not enough: answers come in any order, so a slot
  // could be reused while its request is still unanswered.
  absl::flat_hash_map<uint64_t, Clock::time_point> sent_at_;
  uint64_t seq_ = 0;
  int to_write_ = 0;
  int outstanding_ = 0;
  bool last_write_held_ = false;  // The last write carried the buffer hint: not flushed yet.
  bool writing_ = false;
  bool writes_done_ = false;
  bool broken_ = false;
};

}  // namespace

absl::StatusOr<GrpcLoadResult> RunGrpcLoad(const GrpcLoadOptions& options) {
  if (options.connections < 1 || options.in_flight < 1) {
    return absl::InvalidArgumentError("connections and in_flight must be at least 1");
  }
  std::vector<std::unique_ptr<tcpgate::v1::Gateway::Stub>> stubs;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < options.connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // One TCP connection per channel.
    auto channel = options.security.NewChannel(options.target, args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options.target));
    }
    stubs.push_back(tcpgate::v1::Gateway::NewStub(channel));
    channels.push_back(channel);
  }
  // Keeps gRPC's callback threads, which run every completion here, from
  // their 100 ms sleep after a second without one (a backend stall, a
  // half-open connection), which would show as lateness the gateway never had.
  CallbackThreadHeartbeat heartbeat;
  auto run_owner = std::make_unique<Run>();  // Leaked with the slots if some never finish.
  Run& run = *run_owner;
  run.lateness_base = absl::ToChronoNanoseconds(
      options.lateness_base > absl::ZeroDuration() ? options.lateness_base : options.timeout);
  const Clock::time_point start = Clock::now();
  run.measure_from = start + absl::ToChronoNanoseconds(options.warmup);
  run.end = run.measure_from + absl::ToChronoNanoseconds(options.duration);
  std::vector<std::unique_ptr<UnarySlot>> unary;
  std::vector<std::unique_ptr<StreamSlot>> streams;
  {
    std::lock_guard lock(run.mu);
    run.active = options.streaming ? options.connections : options.connections * options.in_flight;
  }
  if (options.streaming) {
    for (int c = 0; c < options.connections; ++c) streams.push_back(std::make_unique<StreamSlot>(*stubs[c], run, options, c));
  } else {
    for (int c = 0; c < options.connections; ++c) {
      for (int p = 0; p < options.in_flight; ++p) {
        unary.push_back(std::make_unique<UnarySlot>(*channels[c], *stubs[c], run, options, c * options.in_flight + p));
      }
    }
    for (auto& slot : unary) slot->Issue();
  }
  std::thread retrier([&run] { run.ServeRetries(); });
  // After the end, a request still open 2 s past its deadline is unanswered.
  const Clock::time_point give_up = run.end + run.lateness_base + std::chrono::seconds(2);
  int unanswered_slots = 0;
  {
    std::unique_lock lock(run.mu);
    while (!run.done.wait_for(lock, std::chrono::seconds(1), [&] { return run.active == 0; })) {
      if (Clock::now() >= give_up) {
        unanswered_slots = run.active;
        break;
      }
      if (options.progress) {
        options.progress(absl::FromChrono(Clock::now() - start), run.ok_all.load(), run.errors_all.load());
      }
    }
  }
  run.StopRetries();  // Every slot has issued its last call (or is leaked).
  retrier.join();
  GrpcLoadResult result;
  if (unanswered_slots > 0) {
    // A unary slot that never finished has exactly one request open; a
    // stream, those it sent and saw no answer for. gRPC still owns them:
    // leak rather than free.
    if (options.streaming) {
      for (auto& slot : streams) result.unanswered += slot->Unanswered();
    } else {
      result.unanswered = static_cast<uint64_t>(unanswered_slots);
    }
  }
  result.unanswered += run.lost.load();
  result.sent = run.sent.load();
  result.crossed = run.crossed.load();
  if (const int64_t late = run.max_lateness_ns.load(); late != std::numeric_limits<int64_t>::min()) {
    result.max_lateness = absl::Nanoseconds(late);
  }
  result.load.seconds = absl::ToDoubleSeconds(options.duration);
  result.load.errors = run.errors.load();
  result.errors_all = run.errors_all.load();
  result.abandoned = unanswered_slots > 0;
  for (auto& slot : unary) {
    result.load.answered += slot->answered;
    result.load.latency.Merge(slot->latency);
  }
  for (auto& slot : streams) {
    result.load.answered += slot->answered;
    result.load.latency.Merge(slot->latency);
  }
  for (int code = 0; code < 17; ++code) {
    if (uint64_t n = run.status_counts[code].load()) result.statuses[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))] = n;
  }
  {
    std::lock_guard lock(run.messages_mu);
    result.error_messages = run.error_messages;
    result.other_error_messages = run.other_error_messages;
  }
  if (unanswered_slots > 0) {
    for (auto& slot : unary) (void)slot.release();
    for (auto& slot : streams) (void)slot.release();
    for (auto& stub : stubs) (void)stub.release();
    (void)run_owner.release();
  }
  return result;
}

}  // namespace tcpgate
