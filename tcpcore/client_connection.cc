#include "tcpcore/client_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "asio/connect.hpp"
#include "asio/post.hpp"
#include "asio/write.hpp"
#include "tcpcore/cancel_relay.h"
#include "tcpcore/log.h"
#include "tcpcore/log_line_limiter.h"
#include "tcpcore/message_codec.h"
#include "tcpcore/steady_deadline.h"
#include "tcpcore/tcp_user_timeout.h"

namespace tcpcore {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
// Of a backend's "-ERR <reason>", the part passed on in a status message.
constexpr std::size_t kMaxErrReason = 512;

// A copy that shares no reference-counted state with `status`. Debian's
// Abseil is not built for ThreadSanitizer, so one Status rep shared by
// callbacks on different threads looks like a race to TSan; giving each
// callback its own keeps every rep on one thread at a time.
absl::Status Unshared(const absl::Status& status) { return absl::Status(status.code(), status.message()); }

std::string EndpointText(const asio::ip::tcp::endpoint& endpoint) {
  return absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
}

}  // namespace

absl::Status NotSent(const absl::Status& why) {
  return absl::Status(why.code(), absl::StrCat("not sent: ", why.message()));
}

void CancelHandle::Cancel(absl::StatusCode code) const {
  if (relay_) {
    relay_->Cancel(code);
    return;
  }
  std::shared_ptr<ClientConnection> connection = connection_.lock();
  if (!connection) return;
  asio::post(connection->loop_, [connection, id = id_, code] { connection->CancelOnLoop(id, code); });
}

std::shared_ptr<ClientConnection> ClientConnection::Create(asio::io_context& loop, asio::ip::tcp::endpoint endpoint,
                                                           ConnectionOptions options,
                                                           std::shared_ptr<ConnectionCounters> counters,
                                                           StateListener listener) {
  if (counters == nullptr) counters = std::make_shared<ConnectionCounters>();
  return std::shared_ptr<ClientConnection>(
      new ClientConnection(loop, endpoint, std::move(options), std::move(counters), std::move(listener)));
}

ClientConnection::ClientConnection(asio::io_context& loop, asio::ip::tcp::endpoint endpoint,
                                   ConnectionOptions options, std::shared_ptr<ConnectionCounters> counters,
                                   StateListener listener)
    : loop_(loop),
      socket_(loop),
      endpoint_(endpoint),
      options_(std::move(options)),
      counters_(std::move(counters)),
      listener_(std::move(listener)),
      idle_since_ns_(Clock::now().time_since_epoch().count()),
      dial_timer_(loop),
      deadline_timer_(loop),
      watchdog_(loop),
      splitter_(options_.frame_limits) {}

ClientConnection::~ClientConnection() = default;

std::chrono::steady_clock::time_point ClientConnection::idle_since() const {
  return Clock::time_point(Clock::duration(idle_since_ns_.load(std::memory_order_relaxed)));
}

void ClientConnection::Start() {
  asio::post(loop_, [self = shared_from_this()] {
    if (self->state() == State::kClosed) return;
    self->dial_timer_.expires_after(absl::ToChronoNanoseconds(self->options_.dial_timeout));
    self->dial_timer_.async_wait([self](const asio::error_code& error) {
      if (error || self->state() != State::kConnecting) return;
      self->Fail(absl::UnavailableError(absl::StrCat("dial timeout: no connection to ", EndpointText(self->endpoint_),
                                                     " within ", absl::FormatDuration(self->options_.dial_timeout))));
    });
    self->socket_.async_connect(self->endpoint_,
                                [self](const asio::error_code& error) { self->OnConnected(error); });
  });
}

void ClientConnection::OnConnected(const asio::error_code& error) {
  if (state() != State::kConnecting) return;  // Timed out or closed meanwhile.
  dial_timer_.cancel();
  if (error) {
    Fail(absl::UnavailableError(absl::StrCat("cannot connect to ", EndpointText(endpoint_), ": ", error.message())));
    return;
  }
  ApplySocketOptions();
  last_read_ = Clock::now();
  {
    std::lock_guard lock(inbox_mu_);
    if (!refusing_) direct_fd_ = socket_.native_handle();
  }
  state_.store(State::kReady, std::memory_order_release);
  if (listener_) listener_(*this, State::kReady, absl::OkStatus());
  if (state() != State::kReady) return;  // The listener closed it.
  WriteWaitingEntries();
  Flush();
  ReadMore();
}

void ClientConnection::ApplySocketOptions() {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(options_.tcp_nodelay), ignored);
  const int fd = socket_.native_handle();
  ApplyTcpKeepalive(fd, options_.keepalive);
  ApplyTcpUserTimeout(fd, options_.user_timeout);
  if (options_.linger_zero) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
}

CancelHandle ClientConnection::Send(Request request, absl::Time deadline, ResponseCallback done) {
  CancelHandle handle;
  // Refused (closed or retired): never written, whenever it closed.
  if (!TrySend(request, deadline, [&done] { return std::move(done); }, handle)) {
    std::move(done)(NotSent(close_reason()));
  }
  return handle;
}

CancelHandle ClientConnection::SendProbe(Request request, absl::Time deadline, ResponseCallback done) {
  CancelHandle handle;
  if (!TrySend(request, deadline, [&done] { return std::move(done); }, handle, /*counts_as_use=*/false)) {
    std::move(done)(NotSent(close_reason()));
  }
  return handle;
}

bool ClientConnection::TrySend(Request& request, absl::Time deadline, absl::FunctionRef<ResponseCallback()> make_done,
                               CancelHandle& handle, bool counts_as_use) {
  const absl::Duration left = deadline - absl::Now();
  const Clock::time_point steady_deadline = SteadyAfter(left);
  const int64_t bytes = WireBytes(request);
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(inbox_mu_);
  if (refusing_) return false;
  // Direct write only when nothing else is on this connection: no request
  // pending (so none queued, held or on the wire), no Uid awaiting a late
  // answer, no bytes queued or being written by the loop.
  const bool direct = direct_fd_ >= 0 && left > absl::ZeroDuration() && inbox_.empty() &&
                      pending_count_.load(std::memory_order_acquire) == 0 &&
                      open_lines_.load(std::memory_order_acquire) == 0 && output_idle_.load(std::memory_order_acquire) &&
                      !holding_unhandled_line_.load(std::memory_order_acquire);
  pending_count_.fetch_add(1, std::memory_order_relaxed);
  pending_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (!counts_as_use) probes_pending_.fetch_add(1, std::memory_order_relaxed);
  Outgoing& outgoing =
      inbox_.emplace_back(Outgoing{id, std::move(request), steady_deadline, make_done(), bytes, false, {}, {}});
  outgoing.counts_as_use = counts_as_use;
  if (direct) {
    direct_line_.clear();
    AppendRequestLine(outgoing.request, direct_line_);
    direct_unseen_.store(true, std::memory_order_seq_cst);
    const ssize_t sent = ::send(direct_fd_, direct_line_.data(), direct_line_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) {  // Else the loop writes it, and meets the error itself.
      counters_->direct_writes.fetch_add(1, std::memory_order_relaxed);
      outgoing.written = true;
      outgoing.sent_at = Clock::now();
      const auto written = static_cast<std::size_t>(sent);
      if (written < direct_line_.size()) outgoing.unsent = direct_line_.substr(written);
    }
    // Keep no large buffer on the connection after a large request.
    if (direct_line_.capacity() > (64 << 10)) std::string().swap(direct_line_);
    if (outgoing.written && outgoing.unsent.empty()) {
      // The timer must also come within read_timeout, or a silent backend
      // would be found out only at that timer, not after read_timeout.
      const int64_t timer_ns = deadline_timer_ns_.load(std::memory_order_acquire);
      const int64_t read_timeout_ns = absl::ToInt64Nanoseconds(options_.read_timeout);
      if (timer_ns != 0 && timer_ns <= steady_deadline.time_since_epoch().count() &&
          (read_timeout_ns <= 0 || timer_ns <= outgoing.sent_at.time_since_epoch().count() + read_timeout_ns)) {
        handle = CancelHandle(weak_from_this(), id);
        return true;  // No wake-up: see deadline_timer_ns_.
      }
    }
  }
  if (!wake_posted_) {
    wake_posted_ = true;
    asio::post(loop_, [self = shared_from_this()] { self->DrainInbox(); });
  }
  handle = CancelHandle(weak_from_this(), id);
  return true;
}

absl::Status ClientConnection::close_reason() const {
  std::lock_guard lock(inbox_mu_);
  return Unshared(close_reason_);
}

std::pair<ResponseCallback, std::future<absl::StatusOr<Response>>> MakeResponseFuture() {
  std::promise<absl::StatusOr<Response>> promise;
  std::future<absl::StatusOr<Response>> future = promise.get_future();
  ResponseCallback callback = [promise = std::move(promise)](absl::StatusOr<Response> result) mutable {
    promise.set_value(std::move(result));
  };
  return {std::move(callback), std::move(future)};
}

std::future<absl::StatusOr<Response>> ClientConnection::SendAsync(Request request, absl::Time deadline) {
  auto [callback, future] = MakeResponseFuture();
  Send(std::move(request), deadline, std::move(callback));
  return std::move(future);
}

void ClientConnection::Close(absl::string_view why) {
  asio::post(loop_, [self = shared_from_this(), reason = std::string(why)] {
    self->Fail(absl::UnavailableError(reason));
  });
}

bool ClientConnection::CloseIfIdle(absl::string_view why) {
  {
    std::lock_guard lock(inbox_mu_);
    if (refusing_) return true;
    // Increments happen under this lock, so a zero here cannot be
    // overtaken by a request about to get in.
    if (pending_count_.load(std::memory_order_relaxed) != 0) return false;
    refusing_ = true;
    close_reason_ = absl::UnavailableError(why);
  }
  Close(why);
  return true;
}

void ClientConnection::DrainInbox() {
  {
    std::lock_guard lock(inbox_mu_);
    std::swap(inbox_, draining_);
    wake_posted_ = false;
    direct_unseen_.store(false, std::memory_order_relaxed);
  }
  const Clock::time_point now = Clock::now();
  for (Outgoing& outgoing : draining_) {
    if (outgoing.deadline <= now && !outgoing.written) {
      ReleasePending(outgoing.bytes, outgoing.counts_as_use);
      std::move(outgoing.done)(absl::DeadlineExceededError("deadline passed before the request was sent"));
      continue;
    }
    Admit(std::move(outgoing));
  }
  draining_.clear();
  ArmDeadlineTimer();
  Flush();
}

bool ClientConnection::TakeDirectWrites() {
  if (direct_unseen_.load(std::memory_order_seq_cst)) DrainInbox();
  return state() != State::kClosed;
}

void ClientConnection::Admit(Outgoing outgoing) {
  const uint64_t id = outgoing.id;
  std::string uid = outgoing.request.uid;
  auto [it, inserted] = entries_.try_emplace(
      id, Entry{std::move(outgoing.request), outgoing.deadline, std::move(outgoing.done), outgoing.bytes});
  it->second.counts_as_use = outgoing.counts_as_use;
  deadlines_.emplace(outgoing.deadline, id);
  UidLine& line = lines_[uid];
  line.ids.push_back(id);
  PublishLines();
  if (outgoing.written) {
    // TrySend wrote it (nothing else was on this connection then).
    if (!outgoing.unsent.empty()) {
      output_.queue().insert(0, outgoing.unsent);
      it->second.batch = batches_started_ + 1;
    }
    MarkOnWire(it->second, outgoing.sent_at);
    return;
  }
  if (line.ids.size() == 1 && !line.awaiting_late_answer && state() == State::kReady) WriteEntry(it->second);
}

void ClientConnection::WriteWaitingEntries() {
  std::vector<uint64_t> ids;
  for (const auto& [uid, line] : lines_) {
    if (line.awaiting_late_answer || line.ids.empty()) continue;
    auto entry = entries_.find(line.ids.front());
    if (entry != entries_.end() && !entry->second.on_wire) ids.push_back(entry->first);
  }
  std::sort(ids.begin(), ids.end());  // Ids grow with each send.
  for (uint64_t id : ids) WriteEntry(entries_.find(id)->second);
}

void ClientConnection::WriteEntry(Entry& entry) {
  AppendRequestLine(entry.request, output_.queue());
  entry.batch = batches_started_ + 1;  // The next batch takes everything queued.
  output_idle_.store(false, std::memory_order_release);
  MarkOnWire(entry);
}

void ClientConnection::MarkOnWire(Entry& entry, std::optional<Clock::time_point> sent_at) {
  entry.request.val = std::string();  // Written; keep only the Uid.
  entry.on_wire = true;
  wrote_any_.store(true, std::memory_order_release);
  if (live_on_wire_ + late_on_wire_ == 0) waiting_since_ = sent_at ? *sent_at : Clock::now();
  ++live_on_wire_;
  ArmWatchdog();
}

void ClientConnection::Flush() {
  const bool writing = state() == State::kReady && output_.StartBatch();
  PublishOutput();
  if (!writing) return;
  ++batches_started_;
  asio::async_write(socket_, asio::buffer(output_.batch()),
                    [self = shared_from_this()](const asio::error_code& error, std::size_t) {
                      self->OnWritten(error);
                    });
}

void ClientConnection::OnWritten(const asio::error_code& error) {
  output_.FinishBatch();
  if (state() == State::kClosed) return;
  if (error) {
    Fail(absl::UnavailableError(absl::StrCat("connection to ", EndpointText(endpoint_), " lost: ", error.message())));
    return;
  }
  Flush();
}

void ClientConnection::ReadMore() {
  if (reading_ || state() != State::kReady) return;
  reading_ = true;
  absl::Span<char> space = splitter_.PrepareWrite(kReadChunk);
  socket_.async_read_some(asio::buffer(space.data(), space.size()),
                          [self = shared_from_this()](const asio::error_code& error, std::size_t bytes) {
                            self->OnRead(error, bytes);
                          });
}

void ClientConnection::OnRead(const asio::error_code& error, std::size_t bytes) {
  reading_ = false;
  if (state() == State::kClosed) return;
  if (error) {
    Fail(absl::UnavailableError(absl::StrCat(
        "connection to ", EndpointText(endpoint_),
        error == asio::error::eof ? " closed by the backend" : absl::StrCat(" lost: ", error.message()))));
    return;
  }
  last_read_ = Clock::now();
  holding_unhandled_line_.store(true, std::memory_order_release);
  // A line begun in an earlier read keeps that read's horizon.
  const uint64_t batches_before_read = batches_started_;
  if (!splitter_.HoldsUnreturnedFrame()) frame_horizon_ = batches_before_read;
  splitter_.CommitWrite(bytes);
  // An answer may be for a request TrySend wrote itself that this loop has
  // not taken from the inbox yet.
  if (!TakeDirectWrites()) return;
  while (state() == State::kReady) {
    FrameSplitter::Event event = splitter_.Next();
    if (event.kind == FrameSplitter::Kind::kNeedMore) break;
    if (event.kind != FrameSplitter::Kind::kFrame) {
      Fail(absl::UnavailableError(absl::StrCat("protocol error from ", EndpointText(endpoint_), ": ",
                                               event.kind == FrameSplitter::Kind::kTooLong ? "answer too long"
                                                                                           : "answer nested too deep")));
      return;
    }
    // Callers may send as soon as HandleFrame completes their request: a
    // direct write is safe then unless more of this read is still to come.
    holding_unhandled_line_.store(splitter_.HoldsUnreturnedFrame(), std::memory_order_release);
    if (!HandleFrame(event.frame)) return;
    frame_horizon_ = batches_before_read;  // The next line began in this read.
  }
  holding_unhandled_line_.store(splitter_.HoldsUnreturnedFrame(), std::memory_order_release);
  ArmDeadlineTimer();
  Flush();
  ReadMore();
}

bool ClientConnection::HandleFrame(absl::string_view frame) {
  const bool first_line = !read_a_line_;
  read_a_line_ = true;
  if (frame == "-ERR" || absl::StartsWith(frame, "-ERR ")) {  // Any other line not JSON breaks the connection.
    HandleErrorLine(frame, first_line);
    return state() == State::kReady;
  }
  absl::Status status = DecodeResponse(frame, response_);
  if (!status.ok()) {
    Fail(absl::UnavailableError(
        absl::StrCat("protocol error from ", EndpointText(endpoint_), ": bad answer: ", status.message())));
    return false;
  }
  HandleAnswer();
  return true;
}

void ClientConnection::HandleAnswer() {
  answered_any_.store(true, std::memory_order_release);
  auto line_it = lines_.find(response_.uid);
  if (line_it == lines_.end()) {
    counters_->late_responses.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  UidLine& line = line_it->second;
  if (line.awaiting_late_answer) {
    counters_->late_responses.fetch_add(1, std::memory_order_relaxed);
    // Read before the request that gave up went out: an answer repeated by
    // the backend. Its own late answer is still to come.
    if (!BatchOut(line.late_batch)) return;
    // The answer to a request whose caller gave up; the next may go now.
    line.awaiting_late_answer = false;
    --late_on_wire_;
    AdvanceLine(response_.uid);
    return;
  }
  auto entry = entries_.find(line.ids.front());
  if (entry == entries_.end() || !Sent(entry->second)) {
    // The Uid's next request is not on the socket yet: this answers the one
    // before it again (a backend answering twice), never this one.
    counters_->late_responses.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Complete(entry, std::move(response_));
  response_ = Response();
}

void ClientConnection::HandleErrorLine(absl::string_view frame, bool first_line) {
  counters_->error_lines.fetch_add(1, std::memory_order_relaxed);
  if (first_line && absl::StartsWith(frame, "-ERR ") && absl::StartsWith(frame.substr(5), kTooManyConnections)) {
    // The connection's first line, sent at accept before the backend read
    // anything: it refuses the connection, not a request (docs/protocol.md).
    // Whatever is on the wire was not processed and may go elsewhere. Later
    // on, the same words are a request's error like any other.
    refused_by_backend_.store(true, std::memory_order_release);
    Fail(absl::UnavailableError(absl::StrCat("backend ", EndpointText(endpoint_),
                                             " refused the connection: ", frame.substr(5, kMaxErrReason))));
    return;
  }
  answered_any_.store(true, std::memory_order_release);
  // A backend may refuse every request it is sent: a few lines, then one a
  // second, each saying how many it stands for. One source for all
  // backends: a key per address would be kept for every address ever seen.
  static LogLineLimiter* const err_lines = new LogLineLimiter(/*burst=*/10, absl::Seconds(1));
  const std::string backend = EndpointText(endpoint_);
  if (std::optional<int64_t> dropped = err_lines->Admit("backend -ERR", absl::Now())) {
    Log(LogLevel::kWarning,
        absl::StrCat("backend ", backend, " answered: ", frame.substr(0, 200),
                     *dropped > 0 ? absl::StrCat(" (and ", *dropped, " error lines not logged since the last)") : ""));
  }
  if (live_on_wire_ + late_on_wire_ != 1) {
    Fail(absl::UnavailableError(absl::StrCat("backend ", backend, " answered \"", frame.substr(0, 200),
                                             "\" with ", live_on_wire_ + late_on_wire_,
                                             " requests in flight; cannot tell which failed")));
    return;
  }
  // Exactly one request is on the wire: the error is its answer.
  for (auto& [uid, line] : lines_) {
    if (line.awaiting_late_answer) {
      if (!BatchOut(line.late_batch)) {  // Its request was not out yet.
        FailOnUnaskedLine(frame);
        return;
      }
      line.awaiting_late_answer = false;
      --late_on_wire_;
      std::string key = uid;
      AdvanceLine(key);
      return;
    }
    auto entry = entries_.find(line.ids.front());
    if (entry != entries_.end() && entry->second.on_wire) {
      if (!Sent(entry->second)) {  // Written after this line began to come in.
        FailOnUnaskedLine(frame);
        return;
      }
      // The reason goes to the caller in a status message: a few hundred
      // bytes at most (gRPC refuses metadata over 8 KiB, so a backend's
      // long reason would turn the answer into RESOURCE_EXHAUSTED).
      absl::string_view reason = frame.size() > 5 ? frame.substr(5) : frame;
      Complete(entry, absl::InvalidArgumentError(absl::StrCat("backend rejected the request: ",
                                                              reason.substr(0, kMaxErrReason),
                                                              reason.size() > kMaxErrReason ? "..." : "")));
      return;
    }
  }
}

void ClientConnection::FailOnUnaskedLine(absl::string_view frame) {
  Fail(absl::UnavailableError(absl::StrCat("backend ", EndpointText(endpoint_), " answered \"", frame.substr(0, 200),
                                           "\" with no request in flight")));
}

void ClientConnection::Complete(uint64_t id, absl::StatusOr<Response> result) {
  auto it = entries_.find(id);
  if (it != entries_.end()) Complete(it, std::move(result));
}

void ClientConnection::Complete(absl::flat_hash_map<uint64_t, Entry>::iterator it, absl::StatusOr<Response> result) {
  const uint64_t id = it->first;
  Entry entry = std::move(it->second);
  entries_.erase(it);
  deadlines_.erase({entry.deadline, id});
  if (entry.on_wire) {
    --live_on_wire_;
    if (!result.ok() && result.status().code() != absl::StatusCode::kInvalidArgument &&
        state() != State::kClosed) {
      // Gave up while on the wire: its answer may still come.
      UidLine& line = lines_[entry.request.uid];
      line.ids.erase(line.ids.begin());
      line.awaiting_late_answer = true;
      line.late_batch = entry.batch;
      line.late_until = SteadyAfter(options_.late_response_window);
      late_windows_.emplace_back(line.late_until, entry.request.uid);
      ++late_on_wire_;
      ArmWatchdog();
    } else {
      Unlink(entry.request.uid, id, /*answered=*/true);
    }
  } else {
    Unlink(entry.request.uid, id, /*answered=*/false);
  }
  PublishLines();  // Before the count: TrySend reads them in that order.
  ReleasePending(entry.bytes, entry.counts_as_use);
  std::move(entry.done)(std::move(result));
}

void ClientConnection::ReleasePending(int64_t bytes, bool counts_as_use) {
  const int64_t left = pending_count_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (left == 0 && retiring_.load(std::memory_order_relaxed)) {
    // Retired and done: close, after the callback that got here has run.
    asio::post(loop_, [self = shared_from_this()] { self->Fail(self->close_reason()); });
  }
  if (!counts_as_use) {
    probes_pending_.fetch_sub(1, std::memory_order_relaxed);
  } else if (left <= probes_pending_.load(std::memory_order_relaxed)) {
    // Nothing left but probes: idle from now.
    idle_since_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  pending_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void ClientConnection::Unlink(const std::string& uid, uint64_t id, bool answered) {
  auto line_it = lines_.find(uid);
  if (line_it == lines_.end()) return;
  UidLine& line = line_it->second;
  if (answered) {
    line.ids.erase(line.ids.begin());
  } else {
    line.ids.erase(std::find(line.ids.begin(), line.ids.end(), id));
  }
  AdvanceLine(uid);
}

void ClientConnection::AdvanceLine(const std::string& uid) {
  auto line_it = lines_.find(uid);
  if (line_it == lines_.end()) return;
  UidLine& line = line_it->second;
  if (line.awaiting_late_answer) return;
  if (line.ids.empty()) {
    lines_.erase(line_it);
    PublishLines();
    return;
  }
  auto entry = entries_.find(line.ids.front());
  if (entry != entries_.end() && !entry->second.on_wire && state() == State::kReady) {
    WriteEntry(entry->second);
  }
}

void ClientConnection::CancelOnLoop(uint64_t id, absl::StatusCode code) {
  if (!TakeDirectWrites()) return;  // The request may have been written directly.
  if (entries_.contains(id)) {
    Complete(id, CallerCancelStatus(code));
    Flush();
    return;
  }
  // Not taken in yet. The wake-up that takes it can run after this cancel:
  // one posted from this loop's own thread waits in that thread's private
  // queue until the running handler returns, behind a cancel posted from
  // elsewhere. The request leaves the inbox unsent.
  std::optional<Outgoing> cancelled;
  {
    std::lock_guard lock(inbox_mu_);
    auto it = std::find_if(inbox_.begin(), inbox_.end(), [id](const Outgoing& o) { return o.id == id; });
    if (it == inbox_.end() || it->written) return;  // Completed already (or direct: taken above).
    cancelled.emplace(std::move(*it));
    inbox_.erase(it);
  }
  ReleasePending(cancelled->bytes, cancelled->counts_as_use);
  std::move(cancelled->done)(CallerCancelStatus(code));
}

void ClientConnection::ArmDeadlineTimer() {
  if (deadlines_.empty() || state() == State::kClosed) return;
  const Clock::time_point earliest = deadlines_.begin()->first;
  if (deadline_timer_armed_ && deadline_timer_at_ <= earliest) return;
  deadline_timer_armed_ = true;
  deadline_timer_at_ = earliest;
  deadline_timer_ns_.store(earliest.time_since_epoch().count(), std::memory_order_release);
  deadline_timer_.expires_at(earliest);
  deadline_timer_.async_wait([self = shared_from_this()](const asio::error_code& error) {
    self->OnDeadlineTimer(error);
  });
}

void ClientConnection::OnDeadlineTimer(const asio::error_code& error) {
  if (error == asio::error::operation_aborted) return;  // Re-armed earlier.
  deadline_timer_armed_ = false;
  deadline_timer_ns_.store(0, std::memory_order_release);
  if (state() == State::kClosed) return;
  // Requests written without a wake-up count on this timer. Unconditional:
  // TrySend reads the timer under inbox_mu_, which this drain takes, so one
  // of the two always sees the other (the timer is rare; the lock is cheap).
  DrainInbox();
  const Clock::time_point now = Clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Complete(deadlines_.begin()->second, absl::DeadlineExceededError("deadline exceeded waiting for the backend"));
  }
  ArmDeadlineTimer();
  Flush();
}

void ClientConnection::ArmWatchdog() {
  if (watchdog_armed_ || state() == State::kClosed) return;
  if (live_on_wire_ == 0 && late_windows_.empty()) return;
  // Checks a few times per read timeout; precise enough, and one timer per
  // connection rather than per request.
  absl::Duration period = options_.read_timeout > absl::ZeroDuration() ? options_.read_timeout / 4 : absl::Seconds(1);
  period = std::clamp(period, absl::Milliseconds(5), absl::Seconds(1));
  watchdog_armed_ = true;
  watchdog_.expires_after(absl::ToChronoNanoseconds(period));
  watchdog_.async_wait([self = shared_from_this()](const asio::error_code& error) { self->OnWatchdog(error); });
}

void ClientConnection::OnWatchdog(const asio::error_code& error) {
  watchdog_armed_ = false;
  if (error || state() == State::kClosed) return;
  const Clock::time_point now = Clock::now();
  // Requests whose callers gave up are still owed an answer: a peer that
  // went silent with only those on the wire is as dead as one with live
  // requests (with deadlines shorter than read_timeout, it would otherwise
  // never be found out, and take every request sent to it).
  const int64_t owed = live_on_wire_ + late_on_wire_;
  if (owed > 0 && options_.read_timeout > absl::ZeroDuration() &&
      now - std::max(last_read_, waiting_since_) >= absl::ToChronoNanoseconds(options_.read_timeout)) {
    Fail(absl::UnavailableError(absl::StrCat("read timeout: nothing from ", EndpointText(endpoint_), " for ",
                                             absl::FormatDuration(options_.read_timeout), " with ", owed,
                                             " requests owed an answer")));
    return;
  }
  std::optional<std::string> overdue_uid;
  while (!late_windows_.empty() && late_windows_.front().first <= now) {
    auto [until, uid] = std::move(late_windows_.front());
    late_windows_.pop_front();
    auto line = lines_.find(uid);
    if (line != lines_.end() && line->second.awaiting_late_answer && line->second.late_until == until &&
        !overdue_uid) {
      overdue_uid = uid;  // Stays blocked: its answer may still come.
    }
  }
  if (overdue_uid && !retiring_.load(std::memory_order_relaxed)) {
    Retire(absl::UnavailableError(absl::StrCat(
        "connection to ", EndpointText(endpoint_), " retired: the answer to a request with Uid \"",
        overdue_uid->substr(0, 100), "\" that gave up on the wire is owed for more than late_response_window (",
        absl::FormatDuration(options_.late_response_window), "); reusing its Uid here could take that answer")));
    if (state() == State::kClosed) return;
  }
  ArmWatchdog();
  Flush();
}

void ClientConnection::Retire(absl::Status why) {
  {
    std::lock_guard lock(inbox_mu_);
    if (refusing_) return;
    refusing_ = true;  // TrySend() refuses from now; the pool sends elsewhere.
    close_reason_ = Unshared(why);
  }
  retiring_.store(true, std::memory_order_release);
  counters_->retired_owing_answer.fetch_add(1, std::memory_order_relaxed);
  // What senders handed over before the refusal gets in, and is written if
  // it can be; what cannot (behind a blocked Uid) would wait for ever, and
  // fails at ReleaseUnsent(): after the owner has replaced this connection,
  // so a caller that retries at once finds the replacement.
  DrainInbox();
  if (listener_) {
    listener_(*this, State::kReady, Unshared(why));
  } else {
    ReleaseUnsentOnLoop();
  }
}

void ClientConnection::ReleaseUnsent() {
  asio::post(loop_, [self = shared_from_this()] { self->ReleaseUnsentOnLoop(); });
}

void ClientConnection::ReleaseUnsentOnLoop() {
  if (state() == State::kClosed) return;
  const absl::Status why = close_reason();
  std::vector<uint64_t> unsent;
  for (const auto& [id, entry] : entries_) {
    if (!entry.on_wire) unsent.push_back(id);
  }
  std::sort(unsent.begin(), unsent.end());
  for (uint64_t id : unsent) {
    Complete(id, NotSent(absl::UnavailableError(why.message())));
  }
  if (pending_count_.load(std::memory_order_acquire) == 0) Fail(why);
}

void ClientConnection::Fail(absl::Status status) {
  if (state() == State::kClosed) return;
  state_.store(State::kClosed, std::memory_order_release);
  {
    // Before the socket closes: no direct write may use its descriptor.
    std::lock_guard lock(inbox_mu_);
    refusing_ = true;
    close_reason_ = Unshared(status);
    direct_fd_ = -1;
    std::swap(inbox_, draining_);
  }
  asio::error_code ignored;
  socket_.close(ignored);
  dial_timer_.cancel();
  deadline_timer_.cancel();
  watchdog_.cancel();
  // Fail everything admitted, then everything still in the inbox. What was
  // never written says so: the backend cannot have seen it, so a caller
  // may send it again without doing it twice.
  auto failure = [&](bool written) {
    return written ? Unshared(status) : NotSent(status);
  };
  std::vector<uint64_t> ids;
  ids.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) {
    auto entry = entries_.find(id);
    if (entry != entries_.end()) Complete(entry, failure(entry->second.on_wire));
  }
  for (Outgoing& outgoing : draining_) {
    pending_count_.fetch_sub(1, std::memory_order_relaxed);
    pending_bytes_.fetch_sub(outgoing.bytes, std::memory_order_relaxed);
    std::move(outgoing.done)(failure(outgoing.written));
  }
  draining_.clear();
  lines_.clear();
  late_windows_.clear();
  if (listener_) listener_(*this, State::kClosed, Unshared(status));
}

}  // namespace tcpcore
