// RequestHandler: what a Server does with each decoded request. The default is
// HelloHandler (hello_handler.h); tests and the gateway's embedded mode plug
// in their own (answer later, out of order, never, or close the connection).
//
// A handler answers through a ReplyContext, inline during OnRequest(), or
// later through a DeferredReply taken from it. Every request gets at most one
// answer; a request that is never answered is simply dropped.
//
// Thread-safety: OnRequest() runs on the loop thread of the request's
// connection, possibly on several loops at once, so a handler shared by a
// server must be safe to call concurrently. It must not block.
#ifndef TCPCORE_REQUEST_HANDLER_H_
#define TCPCORE_REQUEST_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/strings/string_view.h"

#include "tcpcore/message.h"

namespace tcpcore {

class ServerConnection;

// An answer that will be given later, from any thread. Move-only. If the
// connection is gone by then, the answer is silently dropped. Destroying it
// without Send() drops the request. Send(), CloseConnection() and the
// destructor post to the connection's loop, so the EventLoopGroup that runs
// the server must outlive every DeferredReply and every thread using one.
// Until it is sent or dropped, the answer counts against the connection's
// max_output_bytes at its request's size: a peer that sends and never reads
// cannot make the server hold requests without bound. So a handler must not
// make its answers wait for later requests on the same connection beyond
// that much: the connection stops reading until some answers are given.
class DeferredReply {
 public:
  DeferredReply() = default;
  DeferredReply(DeferredReply&& other) noexcept
      : connection_(std::move(other.connection_)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeferredReply& operator=(DeferredReply&& other) noexcept;
  ~DeferredReply();

  // Queues `response` on the connection (coalesced with other writes).
  void Send(Response response);
  // Closes the connection once what was already answered is written.
  void CloseConnection();
  bool valid() const { return !connection_.expired(); }

 private:
  friend class ReplyContext;
  DeferredReply(std::weak_ptr<ServerConnection> connection, int64_t bytes)
      : connection_(std::move(connection)), bytes_(bytes) {}
  void Release();

  std::weak_ptr<ServerConnection> connection_;
  int64_t bytes_ = 0;  // Its request's size, counted by the connection until answered.
};

// How a handler answers the request it is looking at. Valid only during
// RequestHandler::OnRequest().
class ReplyContext {
 public:
  // Answers now; the bytes go out with the rest of this read's answers.
  void Reply(const Response& response);
  // Hands the answer to later; OnRequest() may return before it is sent.
  DeferredReply Defer();
  // Closes the connection once what was already answered is written.
  void CloseConnection();
  // The peer's address, "ip:port".
  absl::string_view peer() const;

 private:
  friend class ServerConnection;
  ReplyContext(ServerConnection& connection, std::size_t frame_bytes)
      : connection_(connection), frame_bytes_(static_cast<int64_t>(frame_bytes)) {}
  ServerConnection& connection_;
  const int64_t frame_bytes_;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void OnRequest(const Request& request, ReplyContext& reply) = 0;
};

}  // namespace tcpcore

#endif  // TCPCORE_REQUEST_HANDLER_H_
