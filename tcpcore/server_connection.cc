#include "tcpcore/server_connection.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "asio/post.hpp"
#include "asio/write.hpp"
#include "tcpcore/host_port.h"
#include "tcpcore/log.h"
#include "tcpcore/message_codec.h"
#include "tcpcore/server_core.h"
#include "tcpcore/tcp_keepalive.h"
#include "tcpcore/tcp_user_timeout.h"

namespace tcpcore {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kDiscardChunk = 4 * 1024;

std::string PeerName(const asio::ip::tcp::socket& socket) {
  asio::error_code error;
  asio::ip::tcp::endpoint endpoint = socket.remote_endpoint(error);
  if (error) return "unknown peer";
  return HostPort{endpoint.address().to_string(), endpoint.port()}.ToString();
}

}  // namespace

ServerConnection::ServerConnection(asio::ip::tcp::socket socket, std::shared_ptr<ServerCore> core)
    : socket_(std::move(socket)),
      core_(std::move(core)),
      peer_(PeerName(socket_)),
      splitter_(core_->options().frame_limits),
      timer_(socket_.get_executor()) {
  core_->OnConnectionCreated();
}

ServerConnection::~ServerConnection() {
  // Closed before it is destroyed; should a path ever miss that, its slot
  // under max_connections must not leak with it.
  if (phase_ != Phase::kClosed) core_->OnConnectionClosed(this);
  core_->OnConnectionDestroyed();
}

void ServerConnection::Start() {
  const ServerOptions& options = core_->options();
  asio::error_code ignored;
  if (options.tcp_nodelay) socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  ApplyTcpKeepalive(socket_.native_handle(), options.keepalive);
  ApplyTcpUserTimeout(socket_.native_handle(), options.user_timeout);
  if (options.log_connections) Log(LogLevel::kInfo, absl::StrCat("connection from ", peer_, " opened"));
  Touch();
  if (options.idle_timeout > absl::ZeroDuration()) ArmTimer(absl::ToChronoNanoseconds(options.idle_timeout));
  ReadMore();
}

void ServerConnection::Reject(absl::string_view reason) {
  Log(LogLevel::kWarning, absl::StrCat("connection from ", peer_, " rejected: ", reason));
  AppendError(reason);
  Finish(reason, FinishMode::kError);
}

void ServerConnection::BeginDrain() { Finish("server shutdown", FinishMode::kDrain); }

void ServerConnection::ReadMore() {
  if (reading_) return;
  asio::mutable_buffer target;
  if (phase_ == Phase::kOpen) {
    if (OutputFull()) {
      // OnWritten(), or a deferred answer's end (ResumeReading()), resumes
      // reading. With nothing being written only those answers can: they
      // hold this connection until then.
      if (deferred_outstanding_ > 0 && !awaiting_owed_answers_) awaiting_owed_answers_ = shared_from_this();
      return;
    }
    // At most one chunk per read, however large the buffer grew for a
    // long line: the frames of one read are answered before the output
    // limit is looked at again.
    absl::Span<char> space = splitter_.PrepareWrite(kReadChunk);
    target = asio::buffer(space.data(), std::min(space.size(), kReadChunk));
  } else if ((phase_ == Phase::kFinishing || phase_ == Phase::kLingering) && !peer_closed_) {
    // Requests are no longer taken, but keep draining the socket so that
    // the final close does not turn into a reset (after the peer's FIN
    // there is nothing left to read).
    if (!discard_) discard_ = std::make_unique_for_overwrite<char[]>(kDiscardChunk);
    target = asio::buffer(discard_.get(), kDiscardChunk);
  } else {
    return;
  }
  reading_ = true;
  socket_.async_read_some(target, [self = shared_from_this()](const asio::error_code& error, std::size_t bytes) {
    self->OnRead(error, bytes);
  });
  // The read holds it now (safe to let go: the handler above keeps it).
  if (phase_ == Phase::kOpen) awaiting_owed_answers_.reset();
}

void ServerConnection::OnRead(const asio::error_code& error, std::size_t bytes) {
  reading_ = false;
  if (phase_ == Phase::kClosed) return;
  if (error == asio::error::eof) {
    peer_closed_ = true;
    if (phase_ == Phase::kOpen) {
      core_->CountPeerClose();
      Finish("closed by peer", FinishMode::kPeerClosed);
    } else if (phase_ == Phase::kLingering) {
      Close(finish_reason_);
    } else {
      MaybeCloseAfterFinish();
    }
    return;
  }
  if (error) {
    Close(error.message());
    return;
  }
  Touch();
  if (phase_ != Phase::kOpen) {  // Bytes read into the discard buffer.
    ReadMore();
    return;
  }
  splitter_.CommitWrite(bytes);
  HandleFrames();
  PublishCounts();  // Before the answers can reach the peer.
  Flush();
  ReadMore();
}

void ServerConnection::HandleFrames() {
  const FrameLimits& limits = splitter_.limits();
  // Frames left in the splitter when the output is full wait there (the
  // peer is not reading its answers); OnWritten() comes back for them.
  frames_waiting_ = false;
  while (phase_ == Phase::kOpen) {
    if (OutputFull()) {
      frames_waiting_ = true;
      return;
    }
    FrameSplitter::Event event = splitter_.Next();
    switch (event.kind) {
      case FrameSplitter::Kind::kNeedMore:
        return;
      case FrameSplitter::Kind::kFrame:
        HandleFrame(event.frame);
        break;
      case FrameSplitter::Kind::kTooLong:
        FailFraming(absl::StrCat("frame longer than ", limits.max_frame_bytes, " bytes; closing"), "frame too long");
        return;
      case FrameSplitter::Kind::kTooDeep:
        FailFraming(absl::StrCat("JSON nested deeper than ", limits.max_depth, " levels; closing"),
                    "JSON nested too deep");
        return;
    }
    if (close_requested_) Finish("closed by the request handler", FinishMode::kError);
  }
}

void ServerConnection::HandleFrame(absl::string_view frame) {
  absl::Status status = DecodeRequest(frame, request_);
  if (!status.ok()) {
    ++bad_requests_;
    AppendError(status.message());
    return;
  }
  if (request_.uid.empty() && request_.val.empty()) return;  // Ignored, as in the article.
  ++requests_;
  ReplyContext context(*this, frame.size());
  core_->handler().OnRequest(request_, context);
}

void ServerConnection::AppendReply(const Response& response) { AppendResponseLine(response, output_.queue()); }

void ServerConnection::AppendError(absl::string_view reason) {
  std::string& out = output_.queue();
  out.append("-ERR ");
  out.append(reason.data(), reason.size());
  out.push_back('\n');
}

void ServerConnection::FailFraming(absl::string_view reason, absl::string_view why) {
  ++bad_requests_;
  if (deferred_outstanding_ == 0) {
    AppendError(reason);
    Finish(why, FinishMode::kError);
    return;
  }
  held_error_ = std::string(reason);
  Finish(why, FinishMode::kErrorAfterOwed);
}

bool ServerConnection::OutputFull() const {
  // Answers a handler still owes count at their request's size.
  return output_.size() + static_cast<std::size_t>(deferred_bytes_) >= core_->options().max_output_bytes;
}

void ServerConnection::Flush() {
  if (phase_ == Phase::kLingering || phase_ == Phase::kClosed) return;
  if (!output_.StartBatch()) return;
  ++write_batches_;
  // A batch can be megabytes for a slow reader: each partial write that
  // moved bytes is traffic for the idle timeout, or a peer reading steadily
  // but slowly would be closed mid-answer. (The handler below keeps this
  // connection alive as long as the condition can be called.)
  asio::async_write(
      socket_, asio::buffer(output_.batch()),
      [this](const asio::error_code& error, std::size_t written) {
        // Only between partial writes: OnWritten() marks the last one.
        if (written > 0 && written < output_.batch().size()) Touch();
        return asio::transfer_all()(error, written);
      },
      [self = shared_from_this()](const asio::error_code& error, std::size_t) { self->OnWritten(error); });
}

void ServerConnection::OnWritten(const asio::error_code& error) {
  output_.FinishBatch();
  if (phase_ == Phase::kClosed) return;
  if (error) {
    Close(absl::StrCat("write failed: ", error.message()));
    return;
  }
  Touch();
  if (phase_ == Phase::kOpen) {
    ResumeReading();
  } else {
    Flush();
    MaybeCloseAfterFinish();
  }
}

void ServerConnection::Finish(absl::string_view why, FinishMode mode) {
  if (phase_ != Phase::kOpen) return;
  phase_ = Phase::kFinishing;
  finish_reason_ = std::string(why);
  wait_for_deferred_ = mode == FinishMode::kPeerClosed || mode == FinishMode::kErrorAfterOwed;
  if (mode == FinishMode::kError) {
    ArmTimer(absl::ToChronoNanoseconds(core_->options().close_linger));
  } else if (mode == FinishMode::kDrain) {
    // No idle timeout while draining. Not cancel(): a wait that has fired
    // but not yet run would still run, and close this connection with its
    // answers unsent; with the expiry at the end of time it sees itself
    // re-armed and does nothing.
    timer_.expires_at(std::chrono::steady_clock::time_point::max());
  }
  Flush();
  ReadMore();
  MaybeCloseAfterFinish();
}

void ServerConnection::MaybeCloseAfterFinish() {
  if (phase_ != Phase::kFinishing) return;
  if (!output_.idle()) return;
  if (wait_for_deferred_ && deferred_outstanding_ > 0) {
    if (!awaiting_owed_answers_) awaiting_owed_answers_ = shared_from_this();
    return;
  }
  if (!held_error_.empty()) {
    // Every answer owed is written: now the error, then close as kError.
    AppendError(held_error_);
    held_error_.clear();
    wait_for_deferred_ = false;
    ArmTimer(absl::ToChronoNanoseconds(core_->options().close_linger));
    Flush();  // OnWritten() comes back here.
    return;
  }
  if (peer_closed_) {
    Close(finish_reason_);
  } else {
    StartLinger();
  }
}

void ServerConnection::StartLinger() {
  phase_ = Phase::kLingering;
  asio::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  ArmTimer(absl::ToChronoNanoseconds(core_->options().close_linger));
  ReadMore();
}

void ServerConnection::ArmTimer(std::chrono::steady_clock::duration after) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this()](const asio::error_code& error) { self->OnTimer(error); });
}

void ServerConnection::OnTimer(const asio::error_code& error) {
  if (error || phase_ == Phase::kClosed) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < timer_.expiry()) return;  // A wait that was re-armed after it fired.
  const bool idle_check = phase_ == Phase::kOpen || (phase_ == Phase::kFinishing && wait_for_deferred_);
  if (!idle_check) {
    Close(phase_ == Phase::kLingering ? finish_reason_ : finish_reason_ + "; gave up flushing answers");
    return;
  }
  const auto idle_timeout = absl::ToChronoNanoseconds(core_->options().idle_timeout);
  if (idle_timeout <= std::chrono::steady_clock::duration::zero()) return;
  if (now - last_activity_ >= idle_timeout && SendQueueMoved()) last_activity_ = now;
  // Answers the handler still owes (and, when they fill max_output_bytes,
  // requests it does not read meanwhile): the wait is the server's, not an
  // idle peer's. After the peer's half-close the timeout bounds that wait.
  if (phase_ == Phase::kOpen && deferred_outstanding_ > 0) last_activity_ = now;
  const auto idle_for = now - last_activity_;
  if (idle_for >= idle_timeout) {
    Close("idle timeout");
  } else {
    ArmTimer(idle_timeout - idle_for);
  }
}

bool ServerConnection::SendQueueMoved() {
  int queued = 0;
  if (ioctl(socket_.native_handle(), SIOCOUTQ, &queued) != 0) return false;
  const bool moved = queued > 0 && queued != last_send_queue_bytes_;
  last_send_queue_bytes_ = queued;
  return moved;
}

void ServerConnection::Close(absl::string_view why) {
  if (phase_ == Phase::kClosed) return;
  // Released when this returns, not before: it may be the last reference.
  const std::shared_ptr<ServerConnection> self = std::move(awaiting_owed_answers_);
  phase_ = Phase::kClosed;
  asio::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
  PublishCounts();
  core_->OnConnectionClosed(this);
  if (core_->options().log_connections) {
    Log(LogLevel::kInfo, absl::StrCat("connection from ", peer_, " closed: ", why, " (", requests_, " requests, ",
                                      bad_requests_, " bad)"));
  }
}

void ServerConnection::PublishCounts() {
  core_->AddCounts(requests_ - requests_published_, bad_requests_ - bad_requests_published_,
                   write_batches_ - write_batches_published_);
  requests_published_ = requests_;
  bad_requests_published_ = bad_requests_;
  write_batches_published_ = write_batches_;
}

void ServerConnection::DeferredSent(const Response& response, int64_t bytes) {
  --deferred_outstanding_;
  deferred_bytes_ -= bytes;
  if (phase_ == Phase::kOpen) {
    AppendReply(response);
    ResumeReading();
  } else if (phase_ == Phase::kFinishing && wait_for_deferred_) {
    AppendReply(response);
    Flush();
  }
  MaybeCloseAfterFinish();
}

void ServerConnection::DeferredDropped(int64_t bytes) {
  --deferred_outstanding_;
  deferred_bytes_ -= bytes;
  if (phase_ == Phase::kOpen) ResumeReading();
  MaybeCloseAfterFinish();
}

void ServerConnection::ResumeReading() {
  if (frames_waiting_) {
    HandleFrames();  // Those left waiting while the output was full.
    PublishCounts();
  }
  Flush();
  ReadMore();  // Unless the output is still full.
}

void ServerConnection::CloseRequested() { Finish("closed by the request handler", FinishMode::kError); }

// ---- ReplyContext and DeferredReply ----

void ReplyContext::Reply(const Response& response) { connection_.AppendReply(response); }

DeferredReply ReplyContext::Defer() {
  ++connection_.deferred_outstanding_;
  connection_.deferred_bytes_ += frame_bytes_;
  return DeferredReply(connection_.weak_from_this(), frame_bytes_);
}

void ReplyContext::CloseConnection() { connection_.close_requested_ = true; }

absl::string_view ReplyContext::peer() const { return connection_.peer_; }

DeferredReply& DeferredReply::operator=(DeferredReply&& other) noexcept {
  if (this != &other) {
    Release();
    connection_ = std::move(other.connection_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

DeferredReply::~DeferredReply() { Release(); }

void DeferredReply::Send(Response response) {
  std::shared_ptr<ServerConnection> connection = connection_.lock();
  connection_.reset();
  if (!connection) return;
  asio::post(connection->executor(), [connection, response = std::move(response), bytes = bytes_] {
    connection->DeferredSent(response, bytes);
  });
}

void DeferredReply::CloseConnection() {
  std::shared_ptr<ServerConnection> connection = connection_.lock();
  connection_.reset();
  if (!connection) return;
  asio::post(connection->executor(), [connection, bytes = bytes_] {
    connection->DeferredDropped(bytes);
    connection->CloseRequested();
  });
}

void DeferredReply::Release() {
  std::shared_ptr<ServerConnection> connection = connection_.lock();
  connection_.reset();
  if (!connection) return;
  asio::post(connection->executor(), [connection, bytes = bytes_] { connection->DeferredDropped(bytes); });
}

}  // namespace tcpcore
