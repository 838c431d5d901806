// Integration tests for Server over real sockets on 127.0.0.1: framing from
// real clients, errors, limits, handlers that answer late or out of order,
// and shutdown.
#include "tcpcore/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/message_codec.h"
#include "tests/tcpcore/line_client.h"
#include "tests/tcpcore/server_fixture.h"
#include "tests/tcpcore/socket_options_probe.h"

namespace tcpcore {
namespace {

using ::tcpcore::testing::LineClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string RequestLine(absl::string_view uid, absl::string_view val) {
  std::string line;
  AppendRequestLine(Request{std::string(uid), std::string(val)}, line);
  return line;
}

Response ParseResponse(const std::string& line) {
  Response response;
  absl::Status status = DecodeResponse(line, response);
  EXPECT_TRUE(status.ok()) << status << " in " << line;
  return response;
}

// Defers every request; the test decides when and in which order to answer.
class DeferringHandler : public RequestHandler {
 public:
  void OnRequest(const Request& request, ReplyContext& reply) override {
    std::lock_guard lock(mu_);
    held_.push_back({request, reply.Defer()});
    held_changed_.notify_all();
  }
  std::size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Waits until `count` requests are held.
  void AwaitHeld(std::size_t count) {
    std::unique_lock lock(mu_);
    held_changed_.wait(lock, [&] { return held_.size() >= count; });
  }
  // Answers held request `i` with Val = "late " + its Val.
  void Answer(std::size_t i) {
    std::lock_guard lock(mu_);
    held_[i].reply.Send(Response{held_[i].request.uid, "late " + held_[i].request.val, ""});
  }
  // Drops every held request unanswered (as a handler that gives up).
  void DropAll() {
    std::lock_guard lock(mu_);
    for (Held& held : held_) held.reply = DeferredReply();
  }
  void CloseVia(std::size_t i) {
    std::lock_guard lock(mu_);
    held_[i].reply.CloseConnection();
  }

 private:
  struct Held {
    Request request;
    DeferredReply reply;
  };
  // std::mutex, not absl::Mutex: TSan sees only the former (see
  // tcpcore/server_core.h).
  std::mutex mu_;
  std::condition_variable held_changed_;
  std::vector<Held> held_;  // Guarded by mu_.
};

class ServerTest : public ServerFixture {
 protected:
  // A client whose receive buffer is small (32 KiB), so that answers back up
  // in the server's send queue as soon as it reads slowly or not at all.
  LineClient ConnectWithSmallReceiveBuffer() {
    LineClient client = Connect();
    const int small_buffer = 32 << 10;
    EXPECT_EQ(setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small_buffer, sizeof(small_buffer)), 0);
    return client;
  }
};

// The server's side of `client`'s connection, once the server has served it
// (so it has taken the connection in).
absl::StatusOr<int> ServedServerSocket(LineClient& client, uint16_t server_port) {
  EXPECT_TRUE(client.Write("{\"Uid\":\"k\",\"Val\":\"v\"}\n").ok());
  EXPECT_TRUE(client.ReadLine().ok());
  return ::tcpcore::testing::FindOwnSocket(server_port, ::tcpcore::testing::LocalPort(client.fd()));
}

// The keepalive settings of that socket.
::tcpcore::testing::KeepaliveSeen ServerSideKeepalive(LineClient& client, uint16_t server_port) {
  absl::StatusOr<int> fd = ServedServerSocket(client, server_port);
  EXPECT_TRUE(fd.ok()) << fd.status();
  return fd.ok() ? ::tcpcore::testing::ReadKeepalive(*fd) : ::tcpcore::testing::KeepaliveSeen{};
}

// Verify: accepted connections carry TCP keepalive with the options' values,
// so a peer that vanished without a FIN (host lost, partition) is found out
// and its connection closed, not kept for ever.
TEST_F(ServerTest, AcceptedConnectionsProbeTheirPeerWithTcpKeepalive) {
  ServerOptions options;
  options.keepalive = {.idle = absl::Seconds(7), .interval = absl::Seconds(3), .count = 4};
  StartServer(options);
  LineClient client = Connect();
  EXPECT_EQ(ServerSideKeepalive(client, port()), (::tcpcore::testing::KeepaliveSeen{true, 7, 3, 4}));
}

TEST_F(ServerTest, KeepaliveTurnedOffLeavesAcceptedConnectionsWithout) {
  ServerOptions options;
  options.keepalive.enabled = false;
  StartServer(options);
  LineClient client = Connect();
  EXPECT_FALSE(ServerSideKeepalive(client, port()).on);
}

// Verify: accepted connections carry TCP_USER_TIMEOUT when the options set
// one, and the kernel's default (0) when not.
TEST_F(ServerTest, AcceptedConnectionsCarryTheUserTimeout) {
  ServerOptions options;
  options.user_timeout = absl::Milliseconds(2500);
  StartServer(options);
  LineClient client = Connect();
  absl::StatusOr<int> fd = ServedServerSocket(client, port());
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(::tcpcore::testing::ReadUserTimeoutMs(*fd), 2500);

  StartServer();
  LineClient other = Connect();
  fd = ServedServerSocket(other, port());
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(::tcpcore::testing::ReadUserTimeoutMs(*fd), 0);
}

// Verify: the article's request gets "server: hello, " + Val, its Uid, and a
// current RFC 3339 UTC timestamp with nanoseconds.
TEST_F(ServerTest, AnswersArticleRequestWithGreetingAndTimestamp) {
  StartServer();
  LineClient client = Connect();
  const absl::Time before = absl::Now();
  ASSERT_TRUE(client.Write("{\"Uid\":\"pixel-1\",\"Val\":\"pixelpig!\"}\n").ok());
  absl::StatusOr<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.ok()) << line.status();
  Response response = ParseResponse(*line);
  EXPECT_EQ(response.uid, "pixel-1");
  EXPECT_EQ(response.val, "server: hello, pixelpig!");
  ASSERT_EQ(response.ts.size(), 30u) << response.ts;
  absl::Time ts;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, response.ts, &ts, &error)) << error;
  EXPECT_GE(ts, before - absl::Milliseconds(1));
  EXPECT_LE(ts, absl::Now() + absl::Milliseconds(1));
}

// Verify: 10,000 pipelined requests on one connection are all answered, in
// order, with their own Uid, and the answers leave in far fewer writes than
// there are requests (coalescing).
TEST_F(ServerTest, AnswersTenThousandPipelinedRequestsWithCoalescedWrites) {
  StartServer();
  LineClient client = Connect();
  constexpr int kRequests = 10'000;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) batch += RequestLine(absl::StrCat("u", i), absl::StrCat("v", i));
  std::thread writer([&] { EXPECT_TRUE(client.Write(batch).ok()); });
  for (int i = 0; i < kRequests; ++i) {
    absl::StatusOr<std::string> line = client.ReadLine();
    ASSERT_TRUE(line.ok()) << "answer " << i << ": " << line.status();
    Response response = ParseResponse(*line);
    ASSERT_EQ(response.uid, absl::StrCat("u", i));
    ASSERT_EQ(response.val, absl::StrCat("server: hello, v", i));
  }
  writer.join();
  ServerStats stats = server_->stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kRequests));
  EXPECT_LE(stats.write_batches, static_cast<uint64_t>(kRequests / 10));
}

// Verify: 200 connections open at once are each answered correctly.
TEST_F(ServerTest, ServesTwoHundredConcurrentConnections) {
  StartServer();
  constexpr int kConnections = 200;
  std::vector<LineClient> clients;
  for (int i = 0; i < kConnections; ++i) clients.push_back(Connect());
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(clients[i].Write(RequestLine(absl::StrCat("c", i), "x") + RequestLine(absl::StrCat("d", i), "y")).ok());
  }
  for (int i = 0; i < kConnections; ++i) {
    absl::StatusOr<std::string> first = clients[i].ReadLine();
    absl::StatusOr<std::string> second = clients[i].ReadLine();
    ASSERT_TRUE(first.ok() && second.ok()) << "connection " << i;
    EXPECT_EQ(ParseResponse(*first).uid, absl::StrCat("c", i));
    EXPECT_EQ(ParseResponse(*second).uid, absl::StrCat("d", i));
  }
  EXPECT_EQ(server_->stats().connections_open, static_cast<uint64_t>(kConnections));
}

// Verify: a client that writes JSON objects back to back with no newline (as
// the article's Go client does), even split mid-object across writes, gets
// every answer.
TEST_F(ServerTest, AnswersGoStyleClientWithoutNewlines) {
  StartServer();
  LineClient client = Connect();
  ASSERT_TRUE(client.Write("{\"Uid\":\"1\",\"Val\":\"a\"}{\"Uid\":\"2\",\"Val\":\"b}{\"}{\"Uid\":\"3\",").ok());
  absl::StatusOr<std::string> first = client.ReadLine();
  absl::StatusOr<std::string> second = client.ReadLine();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(ParseResponse(*first).val, "server: hello, a");
  EXPECT_EQ(ParseResponse(*second).val, "server: hello, b}{");
  ASSERT_TRUE(client.Write("\"Val\":\"c\"}").ok());
  absl::StatusOr<std::string> third = client.ReadLine();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(ParseResponse(*third), (Response{"3", "server: hello, c", ParseResponse(*third).ts}));
}

// Verify: garbage gets one "-ERR" line and the same connection then answers
// a valid request.
TEST_F(ServerTest, AnswersErrForGarbageThenServesNextRequest) {
  StartServer();
  LineClient client = Connect();
  ASSERT_TRUE(client.Write("this is not json\n" + RequestLine("ok", "v")).ok());
  absl::StatusOr<std::string> error = client.ReadLine();
  ASSERT_TRUE(error.ok());
  EXPECT_THAT(*error, StartsWith("-ERR invalid JSON"));
  absl::StatusOr<std::string> answer = client.ReadLine();
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(ParseResponse(*answer).uid, "ok");
  EXPECT_EQ(server_->stats().bad_requests, 1u);
}

// Verify: wrong types and invalid UTF-8 are answered with "-ERR" and the
// connection stays open.
TEST_F(ServerTest, AnswersErrForWrongTypesAndInvalidUtf8) {
  StartServer();
  LineClient client = Connect();
  ASSERT_TRUE(client.Write("{\"Uid\":7,\"Val\":\"v\"}\n{\"Uid\":\"\xFF\xFE\"}\n" + RequestLine("after", "v")).ok());
  absl::StatusOr<std::string> wrong_type = client.ReadLine();
  absl::StatusOr<std::string> bad_utf8 = client.ReadLine();
  absl::StatusOr<std::string> answer = client.ReadLine();
  ASSERT_TRUE(wrong_type.ok() && bad_utf8.ok() && answer.ok());
  EXPECT_EQ(*wrong_type, "-ERR field \"Uid\" must be a string, got number");
  EXPECT_THAT(*bad_utf8, StartsWith("-ERR invalid JSON"));
  EXPECT_EQ(ParseResponse(*answer).uid, "after");
}

// Verify: a message with both Uid and Val empty is ignored, as in the article.
TEST_F(ServerTest, IgnoresMessageWithEmptyUidAndVal) {
  StartServer();
  LineClient client = Connect();
  ASSERT_TRUE(client.Write("{\"Uid\":\"\",\"Val\":\"\"}\n{}\n" + RequestLine("", "only-val")).ok());
  absl::StatusOr<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(ParseResponse(*line).val, "server: hello, only-val");
}

// Verify: a client that closes halfway through a frame leaves the server
// serving everyone else.
TEST_F(ServerTest, HalfWrittenFrameThenCloseLeavesOthersServed) {
  StartServer();
  LineClient steady = Connect();
  {
    LineClient quitter = Connect();
    ASSERT_TRUE(quitter.Write("{\"Uid\":\"half\",\"Va").ok());
  }
  ASSERT_TRUE(AwaitStats([](const ServerStats& s) { return s.connections_accepted == 2 && s.connections_open == 1; }));
  ASSERT_TRUE(steady.Write(RequestLine("still", "here")).ok());
  absl::StatusOr<std::string> line = steady.ReadLine();
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(ParseResponse(*line).uid, "still");
  LineClient later = Connect();
  ASSERT_TRUE(later.Write(RequestLine("new", "conn")).ok());
  ASSERT_TRUE(later.ReadLine().ok());
}

// Verify: beyond max_connections a new connection gets "-ERR" and is
// closed; once one closes, a new one is accepted again.
TEST_F(ServerTest, EnforcesMaxConnections) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  LineClient first = Connect();
  LineClient second = Connect();
  for (LineClient* client : {&first, &second}) {
    ASSERT_TRUE(client->Write(RequestLine("x", "y")).ok());
    ASSERT_TRUE(client->ReadLine().ok());
  }
  LineClient third = Connect();
  absl::StatusOr<std::string> rejection = third.ReadToEof();
  ASSERT_TRUE(rejection.ok()) << rejection.status();
  EXPECT_EQ(*rejection, "-ERR too many connections (max 2)\n");
  EXPECT_EQ(server_->stats().connections_rejected, 1u);

  first.Close();
  ASSERT_TRUE(AwaitStats([](const ServerStats& s) { return s.connections_open == 1; }));
  LineClient fourth = Connect();
  ASSERT_TRUE(fourth.Write(RequestLine("fourth", "y")).ok());
  absl::StatusOr<std::string> line = fourth.ReadLine();
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(ParseResponse(*line).uid, "fourth");
}

// Verify: a frame over max_frame_bytes gets "-ERR" after the answers to the
// requests before it, then the connection is closed.
TEST_F(ServerTest, ClosesAfterErrForOverlongFrame) {
  ServerOptions options;
  options.frame_limits.max_frame_bytes = 1024;
  StartServer(options);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("before", "v") + RequestLine("big", std::string(2000, 'x'))).ok());
  absl::StatusOr<std::string> rest = client.ReadToEof();
  ASSERT_TRUE(rest.ok()) << rest.status();
  std::size_t newline = rest->find('\n');
  ASSERT_NE(newline, std::string::npos);
  EXPECT_EQ(ParseResponse(rest->substr(0, newline)).uid, "before");
  EXPECT_EQ(rest->substr(newline + 1), "-ERR frame longer than 1024 bytes; closing\n");
}

// Verify: a peer that keeps sending after an over-long frame still receives
// the "-ERR" line (the server drains its input before closing).
TEST_F(ServerTest, ErrSurvivesPeerThatKeepsWriting) {
  ServerOptions options;
  options.frame_limits.max_frame_bytes = 64;
  StartServer(options);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(std::string(100, 'x')).ok());
  absl::StatusOr<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "-ERR frame longer than 64 bytes; closing");
  ASSERT_TRUE(client.Write(std::string(256 * 1024, 'y')).ok());
  client.ShutdownWrite();
  EXPECT_TRUE(client.ReadToEof().ok());
}

// Verify: JSON nested deeper than the limit gets "-ERR" and a close.
TEST_F(ServerTest, ClosesAfterErrForTooDeepNesting) {
  StartServer();
  LineClient client = Connect();
  ASSERT_TRUE(client.Write("{\"a\":" + std::string(100, '[') + "\n").ok());
  absl::StatusOr<std::string> rest = client.ReadToEof();
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, "-ERR JSON nested deeper than 32 levels; closing\n");
}

// Verify: a connection the handler still owes an answer to is not idle: it
// outlives the idle timeout and the answer arrives; then, with nothing owed,
// the timeout closes it. Before, it was closed as idle with the answer owed.
TEST_F(ServerTest, ConnectionOwedAnAnswerIsNotIdle) {
  auto handler = std::make_shared<DeferringHandler>();
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(100);
  StartServer(options, handler);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("slow", "1")).ok());
  handler->AwaitHeld(1);
  // The stimulus: three idle timeouts pass while the answer is owed.
  absl::SleepFor(absl::Milliseconds(300));
  handler->Answer(0);
  absl::StatusOr<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.ok()) << line.status() << ": closed with the answer owed";
  EXPECT_EQ(ParseResponse(*line).val, "late 1");
  absl::StatusOr<std::string> rest = client.ReadToEof(absl::Seconds(10));
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, "");
}

// Verify: with idle_timeout set, a connection silent after its answer is
// closed by the server, once the timeout has passed (not at the answer).
TEST_F(ServerTest, ClosesIdleConnection) {
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(50);
  StartServer(options);
  LineClient client = Connect();
  const absl::Time start = absl::Now();  // Before the last traffic the server's clock runs from.
  ASSERT_TRUE(client.Write(RequestLine("a", "b")).ok());
  ASSERT_TRUE(client.ReadLine().ok());
  absl::StatusOr<std::string> rest = client.ReadToEof(absl::Seconds(10));
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, "");
  EXPECT_GE(absl::Now() - start, options.idle_timeout);
}

// Verify: the idle timeout counts a write that is still moving bytes as
// traffic, and so do answers already written that the peer is still taking
// from the kernel's send queue. A peer reading 8 MB of answers through a
// small receive buffer at ~3 MB/s keeps a write in flight, and then the send
// queue draining, far longer than the timeout; it must get every answer.
TEST_F(ServerTest, SlowReaderIsNotClosedAsIdleWhileAnswersFlow) {
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(500);
  StartServer(options);
  LineClient client = ConnectWithSmallReceiveBuffer();
  constexpr int kRequests = 16;
  const std::string val(512 << 10, 'v');
  // The writer thread: the server stops reading while its output is full,
  // so the requests cannot all be written before the answers are read.
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      if (!client.Write(RequestLine(absl::StrCat("big", i), val)).ok()) return;
    }
  });
  // The slow reader: 32 KiB, then a 10 ms pause (the stimulus), until every
  // answer's newline has come or the server closes.
  int answers = 0;
  std::string chunk(32 << 10, '\0');
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (answers < kRequests && absl::Now() < give_up) {
    const ssize_t n = recv(client.fd(), chunk.data(), chunk.size(), 0);
    if (n <= 0) break;
    answers += static_cast<int>(std::count(chunk.begin(), chunk.begin() + n, '\n'));
    absl::SleepFor(absl::Milliseconds(10));
  }
  writer.join();
  EXPECT_EQ(answers, kRequests) << "closed while answers were still being read";
}

// Verify: a peer that stops reading altogether, with answers queued to it,
// is closed by the idle timeout: answers stuck in the kernel's send queue
// are not traffic once they stop moving (docs/protocol.md).
TEST_F(ServerTest, PeerThatStopsReadingIsClosedAtTheIdleTimeout) {
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(300);
  StartServer(options);
  LineClient client = ConnectWithSmallReceiveBuffer();
  const std::string request = RequestLine("big", std::string(256 << 10, 'v'));
  // Writes until the server, its output full, stops reading and the
  // kernel's buffers fill; the write then fails once the server closes.
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i) {
      if (!client.Write(request).ok()) return;
    }
  });
  // Served first (else "no connection open" could be before the accept).
  const bool served = AwaitStats([](const ServerStats& s) { return s.requests > 0; });
  const bool closed =
      served && AwaitStats([](const ServerStats& s) { return s.connections_open == 0; }, absl::Seconds(10));
  client.ShutdownWrite();  // Unblocks the writer if the server never closed.
  ::shutdown(client.fd(), SHUT_RD);
  writer.join();  // Before any assertion returns: the thread uses `client`.
  ASSERT_TRUE(served);
  EXPECT_TRUE(closed) << "a peer that reads nothing was never closed as idle";
}

// Verify: frames read while the output is over max_output_bytes wait in the
// splitter and are answered, in order, as the output drains: none is lost
// when no more bytes arrive to wake the connection up.
TEST_F(ServerTest, FramesHeldByAFullOutputAreAnsweredAsItDrains) {
  ServerOptions options;
  options.max_output_bytes = 1024;  // A dozen answers; one read holds hundreds of requests.
  StartServer(options);
  LineClient client = Connect();
  constexpr int kRequests = 2000;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) batch += RequestLine(absl::StrCat("u", i), "v");
  ASSERT_TRUE(client.Write(batch).ok());
  for (int i = 0; i < kRequests; ++i) {
    absl::StatusOr<std::string> line = client.ReadLine();
    ASSERT_TRUE(line.ok()) << "answer " << i << ": " << line.status();
    ASSERT_EQ(ParseResponse(*line).uid, absl::StrCat("u", i));
  }
}

// Verify: a peer that half-closes still gets the answers it is owed, deferred
// ones included, before the server closes.
TEST_F(ServerTest, AnswersOwedAfterPeerHalfClose) {
  auto handler = std::make_shared<DeferringHandler>();
  StartServer({}, handler);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("a", "1")).ok());
  client.ShutdownWrite();
  handler->AwaitHeld(1);
  // The server has read the FIN before the answer exists, so the
  // connection must outlive its last read.
  ASSERT_TRUE(AwaitStats([](const ServerStats& s) { return s.peer_closes == 1; }));
  handler->Answer(0);
  absl::StatusOr<std::string> rest = client.ReadToEof();
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_FALSE(rest->empty()) << "closed without the answer it owed";
  EXPECT_EQ(ParseResponse(rest->substr(0, rest->size() - 1)).val, "late 1");
  // And its slot under max_connections is given back.
  EXPECT_TRUE(AwaitStats([](const ServerStats& s) { return s.connections_open == 0; }));
}

// Verify: when the handler answers later, a frame the connection cannot go on
// after still comes last: the answers owed to the requests before it are
// written (in the order they are given), then its "-ERR", then the server
// closes (docs/protocol.md, "Errors"). Before, the "-ERR" went at once and
// the connection closed: the answers owed were lost.
TEST_F(ServerTest, AnswersDeferredBeforeAnOverlongFrameComeBeforeItsErr) {
  auto handler = std::make_shared<DeferringHandler>();
  ServerOptions options;
  options.frame_limits.max_frame_bytes = 1024;
  StartServer(options, handler);
  LineClient client = Connect();
  ASSERT_TRUE(
      client.Write(RequestLine("a", "1") + RequestLine("b", "2") + RequestLine("big", std::string(2000, 'x'))).ok());
  handler->AwaitHeld(2);
  // The bad frame is handled before the answers exist.
  ASSERT_TRUE(AwaitStats([](const ServerStats& s) { return s.bad_requests == 1; }));
  handler->Answer(1);
  handler->Answer(0);
  absl::StatusOr<std::string> rest = client.ReadToEof();
  ASSERT_TRUE(rest.ok()) << rest.status();
  const std::vector<std::string> lines = absl::StrSplit(*rest, '\n');
  ASSERT_EQ(lines.size(), 4u) << *rest;
  EXPECT_EQ(ParseResponse(lines[0]), (Response{"b", "late 2", ""}));
  EXPECT_EQ(ParseResponse(lines[1]), (Response{"a", "late 1", ""}));
  EXPECT_EQ(lines[2], "-ERR frame longer than 1024 bytes; closing");
  EXPECT_EQ(lines[3], "");
}

// Verify: answers a handler has deferred count against max_output_bytes: a
// peer that sends without pause while the handler answers nothing makes the
// server stop reading once the requests held weigh max_output_bytes, not
// hold every request it can read. Before, it read them all (an auditor's
// tcpgate-backend --answer_delay=20s grew to 2.1 GB).
TEST_F(ServerTest, DeferredAnswersHoldBackReadingLikeQueuedOnes) {
  auto handler = std::make_shared<DeferringHandler>();
  ServerOptions options;
  options.max_output_bytes = 64 << 10;
  StartServer(options, handler);
  LineClient client = Connect();
  const std::string line = RequestLine("u", std::string(100, 'v'));
  const std::size_t cap = options.max_output_bytes / (line.size() - 1) + 1;  // Frames are counted without "\n".
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += line;  // ~125 KB: twice the cap.
  ASSERT_TRUE(client.Write(burst).ok());
  handler->AwaitHeld(cap);
  // The stimulus for "reads no further": time in which the old code took
  // the other half of the burst.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(handler->held(), cap) << "held beyond max_output_bytes";
  // Dropping the held answers makes room: the rest is read.
  handler->DropAll();
  EXPECT_TRUE(AwaitStats([](const ServerStats& s) { return s.requests == 1000; }))
      << "read " << server_->stats().requests << " of 1000 after the held answers were dropped";
}

// Verify: a handler may answer later and out of order; each answer carries
// its own Uid.
TEST_F(ServerTest, DeferredRepliesMayArriveOutOfOrder) {
  auto handler = std::make_shared<DeferringHandler>();
  StartServer({}, handler);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("first", "1") + RequestLine("second", "2")).ok());
  handler->AwaitHeld(2);
  handler->Answer(1);
  absl::StatusOr<std::string> line = client.ReadLine();
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(ParseResponse(*line), (Response{"second", "late 2", ""}));
  handler->Answer(0);
  line = client.ReadLine();
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(ParseResponse(*line), (Response{"first", "late 1", ""}));
}

// Verify: a handler can close the connection; answers already given are
// written first.
TEST_F(ServerTest, HandlerCanCloseConnectionAfterAnswers) {
  auto handler = std::make_shared<DeferringHandler>();
  StartServer({}, handler);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("a", "1") + RequestLine("b", "2")).ok());
  handler->AwaitHeld(2);
  handler->Answer(0);
  handler->CloseVia(1);
  absl::StatusOr<std::string> rest = client.ReadToEof();
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(ParseResponse(rest->substr(0, rest->size() - 1)).uid, "a");
}

// Answers with a Val of `size` bytes and signals once it has answered.
class BigAnswerHandler : public RequestHandler {
 public:
  explicit BigAnswerHandler(std::size_t size) : size_(size) {}
  void OnRequest(const Request& request, ReplyContext& reply) override {
    reply.Reply(Response{request.uid, std::string(size_, 'z'), ""});
    answered_.set_value();
  }
  // Ready once the one expected request was answered.
  std::promise<void> answered_;

 private:
  std::size_t size_;
};

// Verify: Shutdown() stops accepting, yet an answer already computed is
// written completely before the connection closes.
TEST_F(ServerTest, ShutdownFinishesWritingComputedAnswers) {
  constexpr std::size_t kSize = 8 << 20;  // Far more than the socket buffers hold.
  auto handler = std::make_shared<BigAnswerHandler>(kSize);
  StartServer({}, handler);
  const uint16_t server_port = port();
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("big", "v")).ok());
  handler->answered_.get_future().wait();
  std::thread shutdown([&] { server_->Shutdown(absl::Seconds(30)); });
  absl::StatusOr<std::string> everything = client.ReadToEof(absl::Seconds(30));
  client.Close();  // Ends the server's lingering read, so Shutdown() returns.
  shutdown.join();
  ASSERT_TRUE(everything.ok()) << everything.status();
  ASSERT_EQ(everything->back(), '\n');
  Response response = ParseResponse(everything->substr(0, everything->size() - 1));
  EXPECT_EQ(response.uid, "big");
  EXPECT_EQ(response.val.size(), kSize);
  EXPECT_FALSE(LineClient::Connect(server_port).ok()) << "still accepting after Shutdown()";
}

// Verify: Shutdown() gives a client that never reads its answer the grace
// period to do so, no more, and then closes that connection: the client sees
// it end short of the answer.
TEST_F(ServerTest, ShutdownClosesStuckConnectionAfterGrace) {
  constexpr std::size_t kSize = 16 << 20;  // Far more than the sockets' buffers hold.
  auto handler = std::make_shared<BigAnswerHandler>(kSize);
  StartServer({}, handler);
  LineClient client = Connect();
  ASSERT_TRUE(client.Write(RequestLine("stuck", "v")).ok());
  handler->answered_.get_future().wait();
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Milliseconds(100));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(100)) << "closed before the grace was over";
  EXPECT_LT(took, absl::Seconds(5)) << "waited far past the grace";
  EXPECT_EQ(server_->stats().connections_open, 0u);
  // What the kernel held for the client, then the end (EOF or a reset).
  absl::StatusOr<std::string> rest = client.ReadToEof(absl::Seconds(10));
  if (rest.ok()) {
    EXPECT_LT(rest->size(), kSize) << "the whole answer arrived: the connection was not stuck";
  } else {
    EXPECT_FALSE(absl::IsDeadlineExceeded(rest.status())) << "still open after Shutdown(): " << rest.status();
  }
}

// Verify: a peer that stops reading while a large answer waits for it (its
// receive window closed; idle_timeout off, the default) is closed at the
// user timeout instead of holding its connection for ever. Measured on Linux
// 6.x, the kernels this runs on: the kernel gives up on a window that stays
// closed for the user timeout.
TEST_F(ServerTest, PeerThatStopsReadingIsClosedAtTheUserTimeout) {
  auto handler = std::make_shared<BigAnswerHandler>(16 << 20);  // Far more than the sockets' buffers hold.
  ServerOptions options;
  options.user_timeout = absl::Seconds(1);
  StartServer(options, handler);
  LineClient client = ConnectWithSmallReceiveBuffer();
  ASSERT_TRUE(client.Write(RequestLine("stuck", "v")).ok());
  handler->answered_.get_future().wait();
  const absl::Time start = absl::Now();
  ASSERT_TRUE(AwaitStats([](const ServerStats& s) { return s.connections_open == 0; }, absl::Seconds(20)))
      << "the connection of a peer that reads nothing is still open";
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900)) << "closed before the user timeout";
}

// Verify: Start() reports a busy port instead of crashing.
TEST_F(ServerTest, StartFailsOnBusyPort) {
  StartServer();
  ServerOptions options;
  options.listen = absl::StrCat("127.0.0.1:", port());
  options.log_connections = false;
  Server second(loops_, options, std::make_shared<HelloHandler>());
  absl::Status status = second.Start();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("bind"));
}

}  // namespace
}  // namespace tcpcore
