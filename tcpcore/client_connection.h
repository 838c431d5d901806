// ClientConnection: one TCP connection to a backend, carrying many requests
// at once. Requests are matched to answers by Uid; each caller's callback runs
// exactly once, with the answer or with the reason there is none.
//
// - Send() may be called from any thread; requests gather in an inbox and the
//   connection's loop takes the whole batch with one wake-up, writing every
//   queued line with one write. When the connection has nothing at all
//   pending, queued, being written or awaited, the sending thread writes
//   the line to the socket itself (a direct write, under the inbox lock) and
//   the loop only registers the request, at its next wake-up, at the answer
//   or at its deadline timer, whichever is first: one thread hand-off less
//   before the backend has the request (docs/performance.md).
// - Two requests with the same Uid are never on the wire together: the second
//   is held until the first is answered, so each caller gets its own answer
//   and the backend still sees the caller's Uid. An answer read before the
//   second was written (a backend answering the first twice) is counted as
//   late and dropped, not given to the second. If the first gave up
//   (deadline, cancel) while on the wire, the Uid stays blocked on this
//   connection until the late answer arrives (it is counted and dropped) or
//   the connection closes, so a late answer cannot reach the wrong caller.
//   When `late_response_window` passes without that answer, the connection
//   retires (retiring()): it takes no new request, fails those it has not
//   written (kUnavailable, "not sent"), tells its listener, and closes once
//   the requests on the wire are done. A lost answer thus costs one
//   connection, not a Uid blocked for ever.
// - Read timeout: when requests are on the wire (their callers still waiting
//   or not: an answer is owed either way) and nothing has arrived for
//   `read_timeout`, the connection is declared dead. A peer close, reset,
//   write error, undecodable answer or dead connection fails every pending
//   request at once; those not yet written with "not sent: " before the
//   reason (the backend cannot have seen them).
//
// Status codes given to callbacks: kDeadlineExceeded (the request's deadline
// passed), kCancelled (CancelHandle::Cancel), kUnavailable (connect failed or
// timed out, connection lost, read timeout, protocol error, closed),
// kInvalidArgument (the backend answered "-ERR" to this very request; not
// "-ERR too many connections", which refuses the connection, whatever is on
// it: kUnavailable).
//
// Thread-safety: Send(), Close(), state(), pending_*() are safe from any
// thread. Callbacks run on the connection's loop thread, except that Send()
// on a connection already closed (or retired) runs the callback inline,
// before it returns, with NotSent(why it closed).
// Lifetime: shared_ptr; pending operations keep it alive until it is closed.
#ifndef TCPCORE_CLIENT_CONNECTION_H_
#define TCPCORE_CLIENT_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/steady_timer.hpp"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/message.h"
#include "tcpcore/tcp_keepalive.h"
#include "tcpcore/write_batcher.h"

namespace tcpcore {

struct ConnectionOptions {
  // How long a connect may take.
  absl::Duration dial_timeout = absl::Seconds(5);
  // With requests on the wire, silence this long means the connection is
  // dead. Zero turns it off.
  absl::Duration read_timeout = absl::Seconds(10);
  bool tcp_nodelay = true;
  // TCP keepalive: probes after `idle` of silence, every `interval`, giving
  // up after `count` unanswered.
  TcpKeepalive keepalive;
  // TCP_USER_TIMEOUT: how long sent data may stay unacknowledged. Zero
  // leaves the kernel's default.
  absl::Duration user_timeout = absl::ZeroDuration();
  // SO_LINGER 0: close with a reset instead of FIN and TIME_WAIT.
  bool linger_zero = false;
  // How long a Uid stays blocked after its request gave up while on the wire.
  absl::Duration late_response_window = absl::Seconds(30);
  // The backend's line limit (its --max_frame_bytes): the pool refuses a
  // request whose JSON line is longer (INVALID_ARGUMENT), rather than send
  // it and have the backend drop the connection with every request on it.
  std::size_t max_request_line_bytes = 1 << 20;
  // Limits on the answers read (see AnswerLineLimit).
  FrameLimits frame_limits{.max_frame_bytes = AnswerLineLimit(1 << 20)};

  // The longest answer line to accept when requests are up to
  // `request_line_bytes`: an answer may write every character of the val as
  // a six-byte escape (Go's encoding/json, which the article's backends use,
  // writes <, > and & as \u003c...), plus a greeting and "Ts". Capped so it
  // stays a valid gRPC message size.
  static constexpr std::size_t AnswerLineLimit(std::size_t request_line_bytes) {
    constexpr std::size_t kCap = (std::size_t{1} << 31) - (64 << 10);
    return request_line_bytes > (kCap - (64 << 10)) / 6 ? kCap : 6 * request_line_bytes + (64 << 10);
  }
};

// Counters a connection adds to; a pool shares one set among the
// connections of one backend address. Relaxed atomics, read as a snapshot.
struct ConnectionCounters {
  std::atomic<uint64_t> late_responses{0};  // Answers for no pending Uid.
  std::atomic<uint64_t> error_lines{0};     // "-ERR" lines received.
  std::atomic<uint64_t> direct_writes{0};   // Requests written by the sending thread.
  // Connections retired for an answer owed past late_response_window.
  std::atomic<uint64_t> retired_owing_answer{0};
};

using ResponseCallback = absl::AnyInvocable<void(absl::StatusOr<Response>) &&>;

// `why` for a request that was never written: its message starts "not
// sent: ", which tells a caller the backend cannot have seen it (a retry
// cannot do it twice).
absl::Status NotSent(const absl::Status& why);

// A callback and the future it fulfils, for the SendAsync() conveniences.
std::pair<ResponseCallback, std::future<absl::StatusOr<Response>>> MakeResponseFuture();

class ClientConnection;
class CancelRelay;

// Lets a caller that gives up remove its request at once; its callback then
// runs with kCancelled (unless the answer won the race), or with
// kDeadlineExceeded for a caller whose own deadline is what ended the wait.
// Copyable; a default-constructed handle does nothing.
class CancelHandle {
 public:
  CancelHandle() = default;
  // The handle of a request the pool holds before a connection has it.
  explicit CancelHandle(std::shared_ptr<CancelRelay> relay) : relay_(std::move(relay)) {}
  void Cancel() const { Cancel(absl::StatusCode::kCancelled); }
  void CancelAsDeadline() const { Cancel(absl::StatusCode::kDeadlineExceeded); }

 private:
  friend class ClientConnection;
  friend class CancelRelay;
  void Cancel(absl::StatusCode code) const;
  CancelHandle(std::weak_ptr<ClientConnection> connection, uint64_t id)
      : connection_(std::move(connection)), id_(id) {}
  std::weak_ptr<ClientConnection> connection_;
  uint64_t id_ = 0;
  std::shared_ptr<CancelRelay> relay_;  // Set instead of the two above.
};

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  enum class State { kConnecting, kReady, kClosed };
  // Told on the loop thread when the connection becomes ready (kReady, OK),
  // when it retires (kReady with why: it takes no new request and closes
  // once the requests on the wire are done; replace it, then call
  // ReleaseUnsent()), and once when
  // it closes, with why (every close, Close() included, so an owner can
  // always clean up).
  using StateListener = std::function<void(ClientConnection&, State, const absl::Status&)>;

  // Creates a connection that will belong to `loop`; nothing happens until
  // Start().
  static std::shared_ptr<ClientConnection> Create(asio::io_context& loop, asio::ip::tcp::endpoint endpoint,
                                                  ConnectionOptions options,
                                                  std::shared_ptr<ConnectionCounters> counters = nullptr,
                                                  StateListener listener = nullptr);
  ~ClientConnection();

  // Starts connecting. Requests sent before it is ready wait for it, and
  // are written only once it is (one that gives up first never is).
  void Start();

  // Sends `request`; `done` runs once with the answer or an error. A
  // deadline in the past fails at once with kDeadlineExceeded.
  CancelHandle Send(Request request, absl::Time deadline, ResponseCallback done);
  // Send() for a health probe: its answer is not use of the connection, so
  // one that is only probed stays idle (idle_since() does not move for it).
  CancelHandle SendProbe(Request request, absl::Time deadline, ResponseCallback done);
  // Send() for tests and tools: the future holds the answer or error.
  std::future<absl::StatusOr<Response>> SendAsync(Request request, absl::Time deadline);
  // Send() for an owner that would rather send elsewhere than fail: when the
  // connection takes no more requests (closed, or closing) it returns false
  // and touches neither `request` nor `make_done`. Otherwise it takes
  // `request`, calls `make_done` once for the callback (under the inbox
  // lock, before the request can complete) and sets `handle`.
  bool TrySend(Request& request, absl::Time deadline, absl::FunctionRef<ResponseCallback()> make_done,
               CancelHandle& handle, bool counts_as_use = true);
  // Why the connection takes no more requests (OK while it does).
  absl::Status close_reason() const;

  // Fails every pending request with kUnavailable(`why`) and closes.
  // Idempotent; returns at once.
  void Close(absl::string_view why = "connection closed");
  // Closes only if no request is pending, atomically with TrySend(): a
  // request either got in first (and the connection stays open) or is
  // refused, never failed. Returns true when the connection is closing (now
  // or before). Any thread; returns at once.
  bool CloseIfIdle(absl::string_view why);

  State state() const { return state_.load(std::memory_order_acquire); }
  // Whether the backend turned this connection away (its "-ERR too many
  // connections" line, sent at accept): closed with kUnavailable, and to
  // the pool a failed connect rather than a connection that worked.
  bool refused_by_backend() const { return refused_by_backend_.load(std::memory_order_acquire); }
  // Whether the backend has answered on it (any answer or "-ERR" line but a
  // refusal): a connection that closes before it did never served.
  bool answered_any() const { return answered_any_.load(std::memory_order_acquire); }
  // Whether a request (or probe) has been written on it.
  bool wrote_any() const { return wrote_any_.load(std::memory_order_acquire); }
  // After a retirement its listener was told of: fails the requests it
  // holds unwritten (kUnavailable, "not sent") and closes if nothing else is
  // pending. The owner calls it once the connection is replaced, so a caller
  // retrying at once finds the replacement. Any thread; returns at once.
  void ReleaseUnsent();
  // Whether it retired: it takes no new request and closes once the
  // requests on the wire are done (an answer owed past late_response_window).
  bool retiring() const { return retiring_.load(std::memory_order_acquire); }
  // Requests sent and not yet completed (queued, held or on the wire).
  int64_t pending_count() const { return pending_count_.load(std::memory_order_relaxed); }
  int64_t pending_bytes() const { return pending_bytes_.load(std::memory_order_relaxed); }
  // When the connection last had no pending request but probes (steady
  // clock); for idle detection.
  std::chrono::steady_clock::time_point idle_since() const;
  const asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }

  // About how many bytes `request` takes on the wire: what pending_bytes()
  // counts, and what the pool weighs connections by.
  static int64_t WireBytes(const Request& request) {
    return static_cast<int64_t>(request.uid.size() + request.val.size() + 20);
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Outgoing {
    uint64_t id;
    Request request;
    Clock::time_point deadline;
    ResponseCallback done;
    int64_t bytes;
    bool written = false;  // Sent by TrySend itself (see below)...
    std::string unsent;    // ...except these bytes, which go first.
    Clock::time_point sent_at{};
    bool counts_as_use = true;  // False for a health probe (SendProbe).
  };
  struct Entry {
    Request request;  // Val released once written.
    Clock::time_point deadline;
    ResponseCallback done;
    int64_t bytes;
    bool on_wire = false;
    // The output batch that carries it (0: written whole by TrySend). Until
    // that batch is handed to the socket (batches_started_ reaches it) no
    // answer can be its: a line read before then answered someone else.
    uint64_t batch = 0;
    bool counts_as_use = true;  // False for a health probe.
  };
  // The requests of one Uid: the front one may be on the wire; the rest wait.
  struct UidLine {
    absl::InlinedVector<uint64_t, 2> ids;  // Rarely more than one: no allocation.
    bool awaiting_late_answer = false;  // Its request gave up on the wire.
    uint64_t late_batch = 0;  // That request's output batch: no line read before it went is its answer.
    Clock::time_point late_until;
  };

  ClientConnection(asio::io_context& loop, asio::ip::tcp::endpoint endpoint, ConnectionOptions options,
                   std::shared_ptr<ConnectionCounters> counters, StateListener listener);

  void OnConnected(const asio::error_code& error);
  void ApplySocketOptions();
  void DrainInbox();
  // Takes the inbox if a direct write is in it that the loop has not seen;
  // false when the connection closed meanwhile.
  bool TakeDirectWrites();
  void Admit(Outgoing outgoing);
  void WriteEntry(Entry& entry);
  // At the connect: writes the requests that waited for it (the front one
  // of each Uid), in the order they were sent. Until then nothing is
  // written, so a request that gives up meanwhile never reaches the backend
  // and the read timeout does not count the wait.
  void WriteWaitingEntries();
  // Books `entry` as on the wire, written at `sent_at` (default: now) by
  // WriteEntry or by a direct write: the read-timeout watchdog covers it.
  void MarkOnWire(Entry& entry, std::optional<Clock::time_point> sent_at = std::nullopt);
  // Whether output batch `batch` was handed to the socket before the first
  // bytes of the line being handled were read, so that line may answer a
  // request it carried.
  bool BatchOut(uint64_t batch) const { return batch <= frame_horizon_; }
  bool Sent(const Entry& entry) const { return entry.on_wire && BatchOut(entry.batch); }
  void Flush();
  void OnWritten(const asio::error_code& error);
  void ReadMore();
  void OnRead(const asio::error_code& error, std::size_t bytes);
  bool HandleFrame(absl::string_view frame);
  // `first_line`: the connection's first line (only that can be a refusal).
  void HandleErrorLine(absl::string_view line, bool first_line);
  void HandleAnswer();
  // Completes entry `id`: removes it and runs its callback.
  void Complete(uint64_t id, absl::StatusOr<Response> result);
  void Complete(absl::flat_hash_map<uint64_t, Entry>::iterator it, absl::StatusOr<Response> result);
  // A line read now that no request can have asked for (see Entry::batch):
  // the connection cannot be trusted to match its lines.
  void FailOnUnaskedLine(absl::string_view frame);
  // Removes `id` from its Uid line, unblocking the next request when allowed.
  void Unlink(const std::string& uid, uint64_t id, bool answered);
  void AdvanceLine(const std::string& uid);
  // Completes request `id` with `code` (kCancelled or kDeadlineExceeded).
  void CancelOnLoop(uint64_t id, absl::StatusCode code);
  // One request fewer pending (`bytes` of it); the connection is idle from
  // now if it was the last.
  void ReleasePending(int64_t bytes, bool counts_as_use);
  void ArmDeadlineTimer();
  void OnDeadlineTimer(const asio::error_code& error);
  void ArmWatchdog();
  void OnWatchdog(const asio::error_code& error);
  void Fail(absl::Status status);
  // Loop thread: takes no new request, fails the unwritten ones, tells the
  // listener; closes with `why` once nothing is pending.
  void Retire(absl::Status why);
  void ReleaseUnsentOnLoop();
  // Loop thread: publishes what TrySend's direct write needs to know.
  void PublishLines() { open_lines_.store(static_cast<int64_t>(lines_.size()), std::memory_order_release); }
  void PublishOutput() { output_idle_.store(output_.idle(), std::memory_order_release); }

  friend class CancelHandle;

  asio::io_context& loop_;
  asio::ip::tcp::socket socket_;
  const asio::ip::tcp::endpoint endpoint_;
  const ConnectionOptions options_;
  const std::shared_ptr<ConnectionCounters> counters_;
  const StateListener listener_;
  std::atomic<State> state_{State::kConnecting};
  std::atomic<bool> refused_by_backend_{false};
  std::atomic<bool> retiring_{false};
  std::atomic<bool> answered_any_{false};
  std::atomic<bool> wrote_any_{false};
  std::atomic<int64_t> pending_count_{0};
  std::atomic<int64_t> pending_bytes_{0};
  std::atomic<int64_t> idle_since_ns_;
  std::atomic<int64_t> probes_pending_{0};  // Of pending_count_: what does not end idleness.
  std::atomic<uint64_t> next_id_{1};

  // Shared with senders.
  mutable std::mutex inbox_mu_;
  std::vector<Outgoing> inbox_;  // Guarded by inbox_mu_.
  bool wake_posted_ = false;     // Guarded by inbox_mu_.
  bool refusing_ = false;        // Guarded by inbox_mu_: closed to new sends.
  absl::Status close_reason_;    // Guarded by inbox_mu_: why it closed.
  // Direct write: when nothing is pending, queued, being written or awaited
  // on this connection, TrySend writes the request line to the socket
  // itself (under inbox_mu_) and the loop only registers it.
  int direct_fd_ = -1;           // Guarded by inbox_mu_: -1 unless ready.
  std::string direct_line_;      // Guarded by inbox_mu_.
  std::atomic<bool> output_idle_{true};
  std::atomic<int64_t> open_lines_{0};
  // When the deadline timer will fire (steady clock, ns; 0: not armed). A
  // request written directly whose deadline is not before it, and which
  // comes within read_timeout, needs no wake-up: the loop takes it from the
  // inbox at the answer, or at that timer at the latest.
  std::atomic<int64_t> deadline_timer_ns_{0};
  // Set before a direct write, cleared by the loop when it takes the inbox:
  // an answer read while it is set may be for a request not yet taken.
  std::atomic<bool> direct_unseen_{false};
  // Set by the loop while it holds read bytes of a line it has not handled
  // (in a read being handled, or part of a line): no direct write
  // meanwhile, since that line was read before the request went and cannot
  // be its answer, which the request's batch 0 could not tell.
  std::atomic<bool> holding_unhandled_line_{false};

  // Loop thread only.
  std::vector<Outgoing> draining_;
  absl::flat_hash_map<uint64_t, Entry> entries_;
  absl::flat_hash_map<std::string, UidLine> lines_;
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines_;
  std::deque<std::pair<Clock::time_point, std::string>> late_windows_;
  asio::steady_timer dial_timer_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer watchdog_;
  bool deadline_timer_armed_ = false;
  Clock::time_point deadline_timer_at_;
  bool watchdog_armed_ = false;
  FrameSplitter splitter_;
  Response response_;
  WriteBatcher output_;  // Request lines: queued, and the write in flight.
  uint64_t batches_started_ = 0;  // Output batches handed to the socket.
  // batches_started_ when the first bytes of the line being handled (or
  // partly read) came in: that line can only answer what those carried. A
  // line that completes in a later read than it began may not answer a
  // request written in between (a repeated answer, read in two parts).
  uint64_t frame_horizon_ = 0;
  bool reading_ = false;
  bool read_a_line_ = false;  // An answer or error line came (a refusal is the first).
  int64_t live_on_wire_ = 0;   // Requests on the wire whose callers still wait.
  int64_t late_on_wire_ = 0;   // Requests on the wire whose callers gave up.
  Clock::time_point last_read_;
  Clock::time_point waiting_since_;  // When live_on_wire_ + late_on_wire_ last rose from 0.
};

}  // namespace tcpcore

#endif  // TCPCORE_CLIENT_CONNECTION_H_
