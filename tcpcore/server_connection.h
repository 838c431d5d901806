// ServerConnection: one accepted socket of a Server. Reads requests, hands
// them to the handler, and writes the answers: everything answered during one
// read goes out in one write, and while a write is in flight new answers
// gather for the next one. Closes on peer EOF (after the answers it still
// owes), on a fatal framing error (after a final "-ERR" line), on idle
// timeout, or when the server shuts down.
//
// Lifetime: shared_ptr, kept alive by its own pending operations (Asio's
// usual pattern) and registered with its ServerCore so a shutdown can reach
// it. DeferredReply holds only a weak_ptr.
//
// Thread-safety: pinned to the loop of its socket; every method except
// executor() must run there (others post).
#ifndef TCPCORE_SERVER_CONNECTION_H_
#define TCPCORE_SERVER_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "asio/ip/tcp.hpp"
#include "asio/steady_timer.hpp"
#include "tcpcore/frame_splitter.h"
#include "tcpcore/message.h"
#include "tcpcore/request_handler.h"
#include "tcpcore/write_batcher.h"

namespace tcpcore {

class ServerCore;

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(asio::ip::tcp::socket socket, std::shared_ptr<ServerCore> core);
  ~ServerConnection();

  asio::any_io_executor executor() { return socket_.get_executor(); }

  // Starts reading requests.
  void Start();
  // Answers with one "-ERR reason" line and closes without reading requests.
  void Reject(absl::string_view reason);
  // Server shutdown: stop reading; close once computed answers are written.
  void BeginDrain();
  // Closes the socket now. Idempotent.
  void Close(absl::string_view why);

 private:
  friend class ReplyContext;
  friend class DeferredReply;

  enum class Phase {
    kOpen,       // Reading and answering.
    kFinishing,  // No more requests; writing what is owed.
    kLingering,  // Our side is shut down; discarding input until EOF.
    kClosed,
  };

  void ReadMore();
  void OnRead(const asio::error_code& error, std::size_t bytes);
  void HandleFrames();
  void HandleFrame(absl::string_view frame);
  void AppendError(absl::string_view reason);
  // A frame the connection cannot go on after: "-ERR reason", then close.
  // Answers owed to the requests before it go first, deferred ones included.
  void FailFraming(absl::string_view reason, absl::string_view why);
  void Flush();
  void OnWritten(const asio::error_code& error);
  bool OutputFull() const;
  // How a connection that stops taking requests comes to its end.
  enum class FinishMode {
    kPeerClosed,  // Owes computed and deferred answers; idle timeout bounds it.
    kError,       // Owes computed answers; close_linger bounds it.
    kErrorAfterOwed,  // Owes deferred answers too, then held_error_; as kPeerClosed, then kError.
    kDrain,       // Owes computed answers; the server's shutdown grace bounds it.
  };
  // Stops taking requests; closes once the answers owed are written.
  void Finish(absl::string_view why, FinishMode mode);
  void MaybeCloseAfterFinish();
  void StartLinger();
  void ArmTimer(std::chrono::steady_clock::duration after);
  void OnTimer(const asio::error_code& error);
  void Touch() { last_activity_ = std::chrono::steady_clock::now(); }
  // Whether the kernel's send queue of this socket changed since the last
  // call while holding bytes: the peer is still taking answers written
  // earlier, which is traffic though this connection did nothing.
  bool SendQueueMoved();
  void PublishCounts();

  // Used by ReplyContext / DeferredReply.
  void AppendReply(const Response& response);
  void DeferredSent(const Response& response, int64_t bytes);
  void DeferredDropped(int64_t bytes);
  // Open phase, after a write or a deferred answer's end made room (see
  // OutputFull()): handles the frames left waiting, writes, reads again.
  void ResumeReading();
  void CloseRequested();

  asio::ip::tcp::socket socket_;
  const std::shared_ptr<ServerCore> core_;
  std::string peer_;
  FrameSplitter splitter_;
  Request request_;         // Reused for every request (keeps capacity).
  WriteBatcher output_;     // Answers: queued, and the write in flight.
  std::unique_ptr<char[]> discard_;  // Read target while lingering.
  asio::steady_timer timer_;  // Idle timeout, finish and linger limits.
  std::chrono::steady_clock::time_point last_activity_;
  int last_send_queue_bytes_ = 0;  // SendQueueMoved()'s last look.
  std::string finish_reason_;
  Phase phase_ = Phase::kOpen;
  bool reading_ = false;
  bool peer_closed_ = false;
  bool frames_waiting_ = false;  // HandleFrames() stopped at a full output.
  bool wait_for_deferred_ = false;
  std::string held_error_;  // FailFraming()'s reason while deferred answers are owed.
  bool close_requested_ = false;
  int deferred_outstanding_ = 0;
  int64_t deferred_bytes_ = 0;  // Their requests' sizes: counted as output owed.
  // Itself, while only answers a handler owes can move it on (the peer
  // closed its side, or those answers fill max_output_bytes so it does not
  // read): then no read, write or timer of its own holds it (DeferredReply
  // holds it weakly). Released by Close(), or when it reads again.
  std::shared_ptr<ServerConnection> awaiting_owed_answers_;
  uint64_t requests_ = 0;
  uint64_t bad_requests_ = 0;
  uint64_t write_batches_ = 0;
  uint64_t requests_published_ = 0;
  uint64_t bad_requests_published_ = 0;
  uint64_t write_batches_published_ = 0;
};

}  // namespace tcpcore

#endif  // TCPCORE_SERVER_CONNECTION_H_
