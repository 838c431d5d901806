#include "gateway/admin_server.h"

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "asio/bind_cancellation_slot.hpp"
#include "asio/buffers_iterator.hpp"
#include "asio/cancellation_signal.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/post.hpp"
#include "asio/read_until.hpp"
#include "asio/steady_timer.hpp"
#include "asio/streambuf.hpp"
#include "asio/write.hpp"
#include "tcpcore/tcp_listener.h"

namespace tcpgate {

namespace {
class Connection;
}  // namespace

// Declared in this order so that the loop, whose destruction destroys the
// connections still in its queue, goes before the count and the list they
// update.
struct AdminServerLoop {
  int open = 0;  // Connections alive.
  // Connections that may be closed to make room, oldest first: those still
  // waiting for their request head, then those answered and draining (a
  // close may reset those under data the client still sends).
  std::list<Connection*> waiting_head;
  std::list<Connection*> draining;
  asio::io_context context{1};
  asio::ip::tcp::acceptor acceptor{context};
  asio::steady_timer accept_retry{context};
};

namespace {

using HeadIterator = asio::buffers_iterator<asio::streambuf::const_buffers_type>;

// Finds the end of a request head: a blank line, "\r\n\r\n" or a bare
// "\n\n". Empty lines before the request line are skipped, as RFC 9112
// (2.2) asks of a server. Without an end, the next search starts two bytes
// before the end (a blank line split across reads is still found), not at
// the start again: a head trickling in byte by byte costs linear time, not
// quadratic. Keeps state between calls: Asio's read_until holds one copy
// for the whole read.
class HeadEnd {
 public:
  using result_type = std::pair<HeadIterator, bool>;  // Marks it a match condition for Asio.

  std::pair<HeadIterator, bool> operator()(HeadIterator begin, HeadIterator end) {
    HeadIterator i = begin;
    if (before_request_line_) {
      while (i != end && (*i == '\r' || *i == '\n')) ++i;
      if (i == end) return {end, false};
      before_request_line_ = false;
    }
    for (; i != end; ++i) {
      if (*i != '\n') continue;
      HeadIterator j = i;
      ++j;
      if (j != end && *j == '\r') ++j;
      if (j != end && *j == '\n') return {++j, true};
    }
    return {end - begin > 2 ? end - 2 : begin, false};
  }

 private:
  bool before_request_line_ = true;
};

// The request without the empty lines HeadEnd skipped before it.
absl::string_view WithoutLeadingEmptyLines(absl::string_view head) {
  const std::size_t start = head.find_first_not_of("\r\n");
  return start == absl::string_view::npos ? absl::string_view() : head.substr(start);
}

constexpr absl::string_view kText = "text/plain; charset=utf-8";

struct Reply {
  int code;
  absl::string_view reason;
  std::string body;
  absl::string_view type = kText;
  absl::string_view extra_headers = "";  // Each ending in "\r\n".
};

Reply Text(int code, absl::string_view reason, std::string body) { return Reply{code, reason, std::move(body), kText, ""}; }

Reply Route(const AdminServer::Handlers& handlers, absl::string_view head, bool& head_only) {
  head = WithoutLeadingEmptyLines(head);
  const absl::string_view line = head.substr(0, head.find('\n'));
  const std::vector<absl::string_view> parts = absl::StrSplit(absl::StripSuffix(line, "\r"), ' ');
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.") || !absl::StartsWith(parts[1], "/")) {
    return Text(400, "Bad Request", "bad request\n");
  }
  head_only = parts[0] == "HEAD";
  if (parts[0] != "GET" && !head_only) {
    return Reply{405, "Method Not Allowed", "only GET and HEAD\n", kText, "Allow: GET, HEAD\r\n"};
  }
  const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path == "/metrics") return Reply{200, "OK", handlers.metrics(), "text/plain; version=0.0.4; charset=utf-8", ""};
  if (path == "/healthz") return Text(200, "OK", "ok\n");
  if (path == "/readyz") return handlers.ready() ? Text(200, "OK", "ready\n") : Text(503, "Service Unavailable", "not ready\n");
  return Text(404, "Not Found", "not found\n");
}

// One client connection: read the head (bounded in size and time: a head
// begun but not whole at the timeout gets 408, a connection that sent
// nothing is closed without a word), write one answer, then stop sending and drain what the client still sends for a
// moment before closing, so a request body left unread cannot turn the close
// into a reset that loses the answer. Lives on the server's loop thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, AdminServerLoop& loop, const AdminServer::Handlers& handlers,
             const AdminServer::Limits& limits)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        head_(limits.max_head_bytes),
        loop_(loop),
        handlers_(handlers),
        limits_(limits) {
    ++loop_.open;
  }
  ~Connection() {
    Evictable(nullptr);
    --loop_.open;
  }

  void Start() {
    Evictable(&loop_.waiting_head);
    Deadline(absl::ToChronoNanoseconds(limits_.head_timeout));
    asio::async_read_until(socket_, head_, HeadEnd(),
                           asio::bind_cancellation_slot(head_read_cancel_.slot(),
                                                        [self = shared_from_this()](const asio::error_code& error,
                                                                                    std::size_t) { self->OnHead(error); }));
  }

  // Closes the connection to make room for a new one.
  void Evict() { Close(); }

 private:
  void OnHead(const asio::error_code& error) {
    awaiting_head_ = false;
    Evictable(nullptr);  // Being answered.
    if (error == asio::error::not_found) {  // The buffer filled without a blank line.
      Answer(Text(431, "Request Header Fields Too Large", "request head too large\n"), false);
      return;
    }
    const auto data = head_.data();
    const std::string head(asio::buffers_begin(data), asio::buffers_end(data));
    if (error) {
      if (head_timed_out_ && !WithoutLeadingEmptyLines(head).empty()) {
        Answer(Text(408, "Request Timeout", "request head not received in time\n"), false);
      } else {
        Close();
      }
      return;
    }
    bool head_only = false;
    Reply reply = Route(handlers_, head, head_only);
    Answer(std::move(reply), head_only);
  }

  // Closes the connection `after` from now unless Deadline() is called again
  // first (while the head is awaited, ends its read instead: OnHead then
  // decides): a wait that fired but had not run yet when it was replaced
  // sees another generation and does nothing.
  void Deadline(std::chrono::steady_clock::duration after) {
    const uint64_t generation = ++deadline_generation_;
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), generation](const asio::error_code& error) {
      if (error || generation != self->deadline_generation_) return;
      if (self->awaiting_head_) {
        // Ends the whole read, not only a socket read waiting now: one
        // completed in this same loop pass would start the next unhindered.
        self->head_timed_out_ = true;
        self->head_read_cancel_.emit(asio::cancellation_type::terminal);
      } else {
        self->Close();
      }
    });
  }

  void Answer(Reply reply, bool head_only) {
    // The answer (a /metrics page of some KiB) gets its own time to leave.
    Deadline(std::chrono::seconds(10));
    out_ = absl::StrCat("HTTP/1.1 ", reply.code, " ", reply.reason, "\r\nContent-Type: ", reply.type,
                        "\r\nContent-Length: ", reply.body.size(), "\r\n", reply.extra_headers,
                        "Connection: close\r\n\r\n");
    if (!head_only) out_ += reply.body;
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](const asio::error_code& error, std::size_t) {
      if (error) {
        self->Close();
        return;
      }
      if (!self->socket_.is_open()) return;  // Its deadline closed it meanwhile.
      asio::error_code ignored;
      self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      self->Evictable(&self->loop_.draining);  // Answered: the drain is a courtesy.
      self->Deadline(std::chrono::seconds(1));
      self->Drain();
    });
  }

  void Drain() {
    socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](const asio::error_code& error, std::size_t) {
      if (error) {
        self->Close();
      } else {
        self->Drain();
      }
    });
  }

  void Close() {
    Evictable(nullptr);
    asio::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  // Moves the connection to the end of `list` (one of the loop's), or out
  // of them for nullptr.
  void Evictable(std::list<Connection*>* list) {
    if (evictable_in_ != nullptr) evictable_in_->erase(evictable_at_);
    evictable_in_ = list;
    if (list != nullptr) evictable_at_ = list->insert(list->end(), this);
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  asio::streambuf head_;
  std::string out_;
  char discard_[4096];
  AdminServerLoop& loop_;
  const AdminServer::Handlers& handlers_;
  const AdminServer::Limits& limits_;
  uint64_t deadline_generation_ = 0;  // Which Deadline() a firing timer belongs to.
  asio::cancellation_signal head_read_cancel_;  // Ends the head's read at its deadline.
  bool awaiting_head_ = true;         // Until OnHead.
  bool head_timed_out_ = false;       // The head's read was ended by its deadline.
  std::list<Connection*>* evictable_in_ = nullptr;  // loop_.waiting_head, loop_.draining or none.
  std::list<Connection*>::iterator evictable_at_;   // Its place there.
};

void AcceptNext(AdminServerLoop& loop, const AdminServer::Handlers& handlers, const AdminServer::Limits& limits) {
  loop.acceptor.async_accept([&loop, &handlers, &limits](const asio::error_code& error, asio::ip::tcp::socket socket) {
    if (!loop.acceptor.is_open()) return;
    if (error) {
      // Out of descriptors, say: try again shortly instead of spinning.
      loop.accept_retry.expires_after(std::chrono::milliseconds(100));
      loop.accept_retry.async_wait([&loop, &handlers, &limits](const asio::error_code& timer_error) {
        if (!timer_error) AcceptNext(loop, handlers, limits);
      });
      return;
    }
    // At the limit, the oldest connection still waiting for its request
    // head (or answered and draining) is closed to make room, so idle
    // clients cannot keep a probe out: the probe sends at once and is never
    // the oldest waiting for long. With none to close, the new socket
    // closes here and the client may try again. (The closed one's socket
    // is gone at once; its object when its cancelled handlers have run.)
    bool admit = loop.open < limits.max_connections;
    if (!admit) {
      std::list<Connection*>& oldest = loop.waiting_head.empty() ? loop.draining : loop.waiting_head;
      if (!oldest.empty()) {
        oldest.front()->Evict();
        admit = true;
      }
    }
    if (admit) std::make_shared<Connection>(std::move(socket), loop, handlers, limits)->Start();
    AcceptNext(loop, handlers, limits);
  });
}

}  // namespace

AdminServer::AdminServer(Handlers handlers, Limits limits)
    : handlers_(std::move(handlers)), limits_(limits), loop_(std::make_unique<AdminServerLoop>()) {}

AdminServer::~AdminServer() { Stop(); }

absl::StatusOr<int> AdminServer::Start(const std::string& host_port) {
  absl::StatusOr<uint16_t> port = tcpcore::ListenOn(loop_->acceptor, host_port);
  if (!port.ok()) {
    return absl::Status(port.status().code(), absl::StrCat("admin server: ", port.status().message()));
  }
  AcceptNext(*loop_, handlers_, limits_);
  thread_ = std::thread([loop = loop_.get()] { loop->context.run(); });
  return *port;
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  asio::post(loop_->context, [loop = loop_.get()] {
    asio::error_code ignored;
    loop->acceptor.close(ignored);
  });
  loop_->context.stop();
  thread_.join();
  // Destroys what the loop still held: open connections close their sockets.
  loop_.reset();
}

}  // namespace tcpgate
