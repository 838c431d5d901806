// Tests for AdminServer over real sockets: each path's answer, and that no
// client - idle, slow, oversized, or many at once - can delay the others'
// answers, grow memory without bound, hold the port's shutdown, or share
// the port with another server.
#include "gateway/admin_server.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tcpcore/line_client.h"

namespace tcpgate {
namespace {

using ::tcpcore::testing::LineClient;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class AdminServerTest : public ::testing::Test {
 protected:
  void Start(AdminServer::Limits limits = {}) {
    server_ = std::make_unique<AdminServer>(
        AdminServer::Handlers{[] { return std::string("# metrics page\n"); }, [this] { return ready_.load(); }},
        limits);
    absl::StatusOr<int> port = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = static_cast<uint16_t>(*port);
  }
  LineClient Connect() {
    absl::StatusOr<LineClient> client = LineClient::Connect(port_);
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(*client);
  }
  // Sends `request` and reads the whole answer (the server closes after it).
  std::string Ask(const std::string& request, absl::Duration timeout = absl::Seconds(10)) {
    LineClient client = Connect();
    EXPECT_TRUE(client.Write(request).ok());
    absl::StatusOr<std::string> answer = client.ReadToEof(timeout);
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.ok() ? *answer : "";
  }

  std::atomic<bool> ready_{true};
  std::unique_ptr<AdminServer> server_;
  uint16_t port_ = 0;
};

// Verify: each path, method and query gets its status, headers and body,
// and the connection is closed after the one answer.
TEST_F(AdminServerTest, AnswersEachPathOnceAndCloses) {
  Start();
  EXPECT_EQ(Ask("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_THAT(Ask("GET /readyz HTTP/1.1\r\n\r\n"), AllOf(StartsWith("HTTP/1.1 200 OK\r\n"), EndsWith("\r\n\r\nready\n")));
  ready_ = false;
  EXPECT_THAT(Ask("GET /readyz HTTP/1.0\r\n\r\n"),
              AllOf(StartsWith("HTTP/1.1 503 Service Unavailable\r\n"), EndsWith("\r\n\r\nnot ready\n")));
  const std::string metrics = Ask("GET /metrics?name[]=x HTTP/1.1\n\n");  // Bare LFs, a query: both fine.
  EXPECT_THAT(metrics, AllOf(StartsWith("HTTP/1.1 200 OK\r\n"), HasSubstr("Content-Type: text/plain; version=0.0.4"),
                             EndsWith("\r\n\r\n# metrics page\n")));
  EXPECT_THAT(Ask("HEAD /metrics HTTP/1.1\r\n\r\n"),
              AllOf(HasSubstr("Content-Length: 15\r\n"), EndsWith("Connection: close\r\n\r\n")));
  EXPECT_THAT(Ask("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
              AllOf(StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"), HasSubstr("Allow: GET, HEAD\r\n")));
  EXPECT_THAT(Ask("GET /metrics/ HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(Ask("hello\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

// Verify: clients that connect and send nothing, or half a request, do not
// delay anyone else: with more of them open than the old server had threads,
// a probe is still answered at once.
TEST_F(AdminServerTest, IdleAndSlowClientsDoNotDelayProbes) {
  Start();
  std::vector<LineClient> idle;
  for (int i = 0; i < 16; ++i) {
    idle.push_back(Connect());
    if (i % 2 == 0) {
      ASSERT_TRUE(idle.back().Write("GET /hea").ok());
    }
  }
  // Well under the 5 s a thread-per-connection server would make it wait.
  EXPECT_THAT(Ask("GET /healthz HTTP/1.1\r\n\r\n", absl::Seconds(3)), EndsWith("\r\n\r\nok\n"));
}

// Verify: a head arriving a byte at a time, its blank line split across
// reads, is answered.
TEST_F(AdminServerTest, HeadArrivingByteByByteIsAnswered) {
  Start();
  LineClient client = Connect();
  for (const char c : std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) {
    ASSERT_TRUE(client.Write(std::string(1, c)).ok());
    absl::SleepFor(absl::Milliseconds(1));  // The stimulus: separate segments.
  }
  absl::StatusOr<std::string> answer = client.ReadToEof(absl::Seconds(10));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, EndsWith("\r\n\r\nok\n"));
}

// Verify: a client whose request head does not arrive whole within the head
// timeout gets 408 and is closed, at that timeout: not before it, and well
// before the default one (2 s), so the configured limit is the one in force.
// One that sent nothing at all is closed without an answer.
TEST_F(AdminServerTest, HeadNotReceivedInTimeIsAnswered408AndClosed) {
  AdminServer::Limits limits;
  limits.head_timeout = absl::Milliseconds(100);
  ASSERT_GT(AdminServer::Limits().head_timeout, absl::Seconds(1));
  Start(limits);
  const absl::Time start = absl::Now();  // The server's clock starts at the accept, after this.
  LineClient slow = Connect();
  LineClient silent = Connect();
  ASSERT_TRUE(slow.Write("GET /healthz HTTP/1.1\r\nX-Slow: ").ok());
  absl::StatusOr<std::string> answer = slow.ReadToEof(absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, AllOf(StartsWith("HTTP/1.1 408 Request Timeout\r\n"), HasSubstr("Connection: close\r\n")));
  EXPECT_GE(took, limits.head_timeout);
  EXPECT_LT(took, absl::Seconds(1));
  absl::StatusOr<std::string> nothing = silent.ReadToEof(absl::Seconds(10));
  ASSERT_TRUE(nothing.ok()) << nothing.status();
  EXPECT_EQ(*nothing, "");
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

// Verify: empty lines before the request line are skipped (RFC 9112, 2.2),
// whether CRLF or bare LF, several of them, or split from the request line
// across reads; they never end the head early.
TEST_F(AdminServerTest, EmptyLinesBeforeTheRequestLineAreIgnored) {
  Start();
  EXPECT_THAT(Ask("\r\nGET /healthz HTTP/1.1\r\n\r\n"), AllOf(StartsWith("HTTP/1.1 200 OK\r\n"), EndsWith("\r\n\r\nok\n")));
  EXPECT_THAT(Ask("\r\n\r\n\n\nGET /readyz HTTP/1.1\n\n"), EndsWith("\r\n\r\nready\n"));
  LineClient client = Connect();
  ASSERT_TRUE(client.Write("\r\n\r\n").ok());
  absl::SleepFor(absl::Milliseconds(50));  // The stimulus: a read holding only empty lines.
  ASSERT_TRUE(client.Write("GET /healthz HTTP/1.1\r\n\r\n").ok());
  absl::StatusOr<std::string> answer = client.ReadToEof(absl::Seconds(10));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, EndsWith("\r\n\r\nok\n"));
}

// Verify: a request head over the limit gets 431 and is not kept: a
// head eight times the limit costs the server no more than the limit.
TEST_F(AdminServerTest, OversizedHeadIsRefused) {
  Start();
  LineClient client = Connect();
  std::string head = "GET /healthz HTTP/1.1\r\n";
  while (head.size() < (64 << 10)) head += "X-Padding: 0123456789012345678901234567890123456789\r\n";
  // The server answers once 8 KiB arrived, then drains the rest unread.
  ASSERT_TRUE(client.Write(head).ok());
  absl::StatusOr<std::string> answer = client.ReadToEof(absl::Seconds(10));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(Ask("GET /healthz HTTP/1.1\r\n\r\n"), EndsWith("ok\n"));
}

// Verify: a request with a body the server never reads still gets its whole
// answer: the close after it is not a reset that would destroy it.
TEST_F(AdminServerTest, UnreadBodyDoesNotLoseTheAnswer) {
  Start();
  const std::string body(64 << 10, 'b');
  EXPECT_THAT(Ask(absl::StrCat("GET /healthz HTTP/1.1\r\nContent-Length: ", body.size(), "\r\n\r\n", body)),
              EndsWith("\r\n\r\nok\n"));
}

// Verify: at max_connections, a new connection makes room by closing the
// oldest one still waiting for its request head, so clients that connect
// and send nothing cannot keep a probe out (before, with the limit taken by
// idle connections reopened as they timed out, 19 of 20 probes failed and
// kubelet would have restarted the pod); the newer idle one stays.
TEST_F(AdminServerTest, IdleConnectionsAtTheLimitMakeRoomForProbes) {
  AdminServer::Limits limits;
  limits.max_connections = 2;
  Start(limits);
  std::vector<LineClient> idle;
  idle.push_back(Connect());
  idle.push_back(Connect());
  EXPECT_THAT(Ask("GET /healthz HTTP/1.1\r\n\r\n"), EndsWith("ok\n"));
  absl::StatusOr<std::string> oldest = idle[0].ReadToEof(absl::Seconds(1));
  ASSERT_TRUE(oldest.ok()) << oldest.status();  // Closed to make room.
  EXPECT_EQ(*oldest, "");
  EXPECT_TRUE(absl::IsDeadlineExceeded(idle[1].ReadToEof(absl::Milliseconds(200)).status()));
}

// Verify: Stop() returns while a client sits connected, sending nothing,
// and the client's connection ends: an EOF, or a reset when the socket
// still held the unread half request or was not accepted yet - never an
// answer, never a wait.
TEST_F(AdminServerTest, StopDoesNotWaitForClients) {
  Start();
  LineClient idle = Connect();
  ASSERT_TRUE(idle.Write("GET /he").ok());
  server_->Stop();
  absl::StatusOr<std::string> rest = idle.ReadToEof(absl::Seconds(10));
  if (rest.ok()) {
    EXPECT_EQ(*rest, "");
  } else {
    EXPECT_EQ(rest.status().code(), absl::StatusCode::kUnavailable) << rest.status();
    EXPECT_THAT(std::string(rest.status().message()), HasSubstr("reset")) << rest.status();
  }
}

// Verify: a port another server listens on is refused, not shared.
TEST_F(AdminServerTest, SecondServerOnTheSamePortIsRefused) {
  Start();
  AdminServer second(AdminServer::Handlers{[] { return std::string(); }, [] { return true; }});
  absl::StatusOr<int> port = second.Start(absl::StrCat("127.0.0.1:", port_));
  EXPECT_FALSE(port.ok());
  EXPECT_THAT(std::string(port.status().message()), HasSubstr("in use"));
}

}  // namespace
}  // namespace tcpgate
