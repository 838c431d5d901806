// Tests for ClientConnection over real sockets: a hand-played backend
// (RawListener) decides exactly what bytes come back and when, so matching,
// deadlines, duplicate Uids, late answers and failures are all exercised
// deterministically.
#include "tcpcore/client_connection.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "asio/post.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/message_codec.h"
#include "tcpcore/server.h"
#include "tests/eventually.h"
#include "tests/tcpcore/socket_options_probe.h"
#include "tests/tcpcore/line_client.h"

namespace tcpcore {
namespace {

using ::tcpcore::testing::LineClient;
using ::tcpcore::testing::RawListener;
using ::testing::HasSubstr;
using Result = absl::StatusOr<Response>;

absl::Time Far() { return absl::Now() + absl::Seconds(30); }

std::string Answer(absl::string_view uid, absl::string_view val) {
  std::string line;
  AppendResponseLine(Response{std::string(uid), std::string(val), "2026-11-25T12:00:00.000000000Z"}, line);
  return line;
}

// Waits for a future with a bound, so a missing callback fails the test.
Result Get(std::future<Result>& future) {
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return absl::InternalError("callback never ran");
  }
  return future.get();
}

class ClientConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RawListener> listener = RawListener::Listen();
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::make_unique<RawListener>(*std::move(listener));
  }
  // Connects a client to the raw backend and accepts it.
  void ConnectToRaw(ConnectionOptions options = {}) {
    connection_ = Make(listener_->port(), options,
                       [ready = ready_, retired = retired_](ClientConnection& connection, ClientConnection::State state,
                                                            const absl::Status& status) {
                         if (state != ClientConnection::State::kReady) return;
                         if (status.ok()) {
                           ready->set_value();
                         } else {
                           // A copy of its own (see Unshared in client_connection.cc): the
                           // status's rep would otherwise be shared with the loop thread.
                           retired->set_value(absl::Status(status.code(), status.message()));
                           connection.ReleaseUnsent();  // As the pool does, once it replaced it.
                         }
                       });
    absl::StatusOr<LineClient> peer = listener_->Accept();
    ASSERT_TRUE(peer.ok()) << peer.status();
    peer_ = std::make_unique<LineClient>(*std::move(peer));
  }
  std::shared_ptr<ClientConnection> Make(uint16_t port, ConnectionOptions options,
                                         ClientConnection::StateListener listener = nullptr) {
    auto connection =
        ClientConnection::Create(loops_.loop(0), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                 options, counters_, std::move(listener));
    connection->Start();
    return connection;
  }
  std::future<Result> Send(absl::string_view uid, absl::string_view val, absl::Time deadline = Far()) {
    return connection_->SendAsync(Request{std::string(uid), std::string(val)}, deadline);
  }
  // Sends a request and has the backend, once it read it, write `line`
  // (raw bytes) back; returns the request's result.
  Result SendAndAnswerWith(absl::string_view uid, const std::string& line) {
    auto future = Send(uid, "v");
    NextRequest();
    EXPECT_TRUE(peer_->Write(line).ok());
    return Get(future);
  }
  // The next request line the backend receives, decoded.
  Request NextRequest() {
    absl::StatusOr<std::string> line = peer_->ReadLine();
    EXPECT_TRUE(line.ok()) << line.status();
    Request request;
    if (line.ok()) {
      EXPECT_TRUE(DecodeRequest(*line, request).ok()) << *line;
    }
    return request;
  }
  // Waits (bounded) until the connection of ConnectToRaw() told it is
  // ready, so the next Send on an idle connection is written directly by
  // the sending thread.
  void AwaitReady() {
    ASSERT_EQ(ready_->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  // A request sent and answered with `deadline`: afterwards the loop's
  // deadline timer stays armed for that deadline, so a direct write with a
  // later deadline needs no wake-up of the loop.
  void SendAndAnswer(absl::string_view uid, absl::Time deadline) {
    auto future = Send(uid, "v", deadline);
    NextRequest();
    ASSERT_TRUE(peer_->Write(Answer(uid, "ok")).ok());
    ASSERT_TRUE(Get(future).ok());
  }
  // The backend answers Uid "twice" with its answer and the start of a
  // repeat in one write, and the repeat's end only once the Uid's next
  // request is written; that request is sent before the first answer comes
  // (it waits on the Uid's line) or after (nothing else pending: the caller's
  // thread would write it itself). The repeat began to come in before that
  // request was written, so it is counted late and dropped, and the request
  // gets its own answer.
  void ExpectRepeatReadInTwoPartsIsDropped(bool second_sent_first) {
    auto first = Send("twice", "1");
    std::future<Result> second;
    if (second_sent_first) second = Send("twice", "2");
    EXPECT_EQ(NextRequest().val, "1");
    const std::string again = Answer("twice", "for 1 again");
    ASSERT_TRUE(peer_->Write(Answer("twice", "for 1") + again.substr(0, 10)).ok());
    EXPECT_EQ(Get(first)->val, "for 1");
    if (!second_sent_first) second = Send("twice", "2");
    EXPECT_EQ(NextRequest().val, "2");
    ASSERT_TRUE(peer_->Write(again.substr(10)).ok());
    ASSERT_TRUE(tcpgate_test::Eventually([&] { return counters_->late_responses.load() == 1; },
                                         absl::Seconds(10)))
        << "the repeat's end was not read as a late answer";
    ASSERT_TRUE(peer_->Write(Answer("twice", "for 2")).ok());
    EXPECT_EQ(Get(second)->val, "for 2");
  }
  void TearDown() override {
    if (connection_) connection_->Close();
  }

  EventLoopGroup loops_{1, "client"};
  std::shared_ptr<ConnectionCounters> counters_ = std::make_shared<ConnectionCounters>();
  std::unique_ptr<RawListener> listener_;
  std::unique_ptr<LineClient> peer_;
  std::shared_ptr<ClientConnection> connection_;
  std::shared_ptr<std::promise<void>> ready_ = std::make_shared<std::promise<void>>();
  // Why the connection of ConnectToRaw() retired, once it has.
  std::shared_ptr<std::promise<absl::Status>> retired_ = std::make_shared<std::promise<absl::Status>>();
};

// Verify: the connection's socket carries TCP keepalive with the options'
// values (the pool's --keepalive_* flags).
TEST_F(ClientConnectionTest, SocketProbesTheBackendWithTcpKeepalive) {
  ConnectionOptions options;
  options.keepalive = {.idle = absl::Seconds(11), .interval = absl::Seconds(5), .count = 2};
  ConnectToRaw(options);
  AwaitReady();
  // The backend's side of the connection knows the client's port.
  absl::StatusOr<int> own =
      ::tcpcore::testing::FindOwnSocket(::tcpcore::testing::PeerPort(peer_->fd()), listener_->port());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(::tcpcore::testing::ReadKeepalive(*own), (::tcpcore::testing::KeepaliveSeen{true, 11, 5, 2}));
}

// Verify: answers are matched by Uid whatever order they come in.
TEST_F(ClientConnectionTest, MatchesAnswersByUidInAnyOrder) {
  ConnectToRaw();
  auto a = Send("a", "1");
  auto b = Send("b", "2");
  auto c = Send("c", "3");
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) seen.push_back(NextRequest().uid);
  EXPECT_THAT(seen, ::testing::ElementsAre("a", "b", "c"));
  ASSERT_TRUE(peer_->Write(Answer("c", "three") + Answer("a", "one") + Answer("b", "two")).ok());
  EXPECT_EQ(Get(a)->val, "one");
  EXPECT_EQ(Get(b)->val, "two");
  EXPECT_EQ(Get(c)->val, "three");
  EXPECT_EQ(connection_->pending_count(), 0);
}

// Verify: an answer many times longer than its request is taken, up to the
// six-fold growth of a val that Go's encoding/json escapes whole (it writes
// each '<' as "\u003c"); such an answer used to break the connection
// ("answer too long") and fail every request on it.
TEST_F(ClientConnectionTest, AcceptsAnAnswerWhoseEveryCharacterIsEscaped) {
  ConnectToRaw();
  const std::string val(200000, '<');
  auto a = Send("a", val);
  EXPECT_EQ(NextRequest().val, val);
  std::string escaped;
  for (std::size_t i = 0; i < val.size(); ++i) escaped += "\\u003c";
  ASSERT_TRUE(peer_->Write(absl::StrCat("{\"Uid\":\"a\",\"Val\":\"server: hello, ", escaped, "\"}\n")).ok());
  Result result = Get(a);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->val, "server: hello, " + val);
  EXPECT_EQ(connection_->state(), ClientConnection::State::kReady);
}

// Verify: an answer without "Ts" (the article's echoing server) is valid.
TEST_F(ClientConnectionTest, AcceptsAnswerWithoutTs) {
  ConnectToRaw();
  auto a = Send("a", "v");
  NextRequest();
  ASSERT_TRUE(peer_->Write("{\"Uid\":\"a\",\"Val\":\"v\"}\n").ok());
  Result result = Get(a);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, (Response{"a", "v", ""}));
}

// Verify: a request past its deadline fails with kDeadlineExceeded, its
// entry is gone, and its answer arriving later is counted and dropped.
TEST_F(ClientConnectionTest, DeadlineFailsRequestAndLateAnswerIsDropped) {
  ConnectToRaw();
  AwaitReady();  // A request whose deadline passes before the connect ends is never written.
  auto slow = Send("slow", "v", absl::Now() + absl::Milliseconds(50));
  NextRequest();
  EXPECT_TRUE(absl::IsDeadlineExceeded(Get(slow).status()));
  EXPECT_EQ(connection_->pending_count(), 0);
  auto next = Send("next", "v");
  NextRequest();
  ASSERT_TRUE(peer_->Write(Answer("slow", "late") + Answer("next", "fresh")).ok());
  EXPECT_EQ(Get(next)->val, "fresh");
  EXPECT_EQ(counters_->late_responses.load(), 1u);
}

// Verify: a deadline already past fails at once, without touching the wire.
TEST_F(ClientConnectionTest, PastDeadlineFailsWithoutSending) {
  ConnectToRaw();
  auto past = Send("past", "v", absl::Now() - absl::Seconds(1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(Get(past).status()));
  auto next = Send("next", "v");
  EXPECT_EQ(NextRequest().uid, "next");
}

// Verify: on an idle connection the sending thread writes the request
// itself, and the answer, read by the loop, still finds its caller; with a
// request pending, the next goes through the loop.
TEST_F(ClientConnectionTest, IdleConnectionSendsDirectlyAndMatchesTheAnswer) {
  ConnectToRaw();
  AwaitReady();
  auto a = Send("a", "1");
  EXPECT_EQ(NextRequest().uid, "a");
  EXPECT_EQ(counters_->direct_writes.load(), 1u);
  auto b = Send("b", "2");  // "a" is pending: not direct.
  EXPECT_EQ(NextRequest().uid, "b");
  EXPECT_EQ(counters_->direct_writes.load(), 1u);
  ASSERT_TRUE(peer_->Write(Answer("b", "two") + Answer("a", "one")).ok());
  EXPECT_EQ(Get(a)->val, "one");
  EXPECT_EQ(Get(b)->val, "two");
  EXPECT_EQ(connection_->pending_count(), 0);
}

// Verify: a Uid awaiting a late answer blocks the direct write, so the late
// answer can never reach the new request with that Uid.
TEST_F(ClientConnectionTest, LateAnswerAwaitedBlocksDirectWrite) {
  ConnectToRaw();
  AwaitReady();
  auto slow = Send("dup", "old", absl::Now() + absl::Milliseconds(50));
  NextRequest();
  EXPECT_TRUE(absl::IsDeadlineExceeded(Get(slow).status()));
  const uint64_t direct_before = counters_->direct_writes.load();
  auto fresh = Send("dup", "new");
  ASSERT_TRUE(peer_->Write(Answer("dup", "late")).ok());
  EXPECT_EQ(NextRequest().val, "new");  // Only after the late answer.
  EXPECT_EQ(counters_->direct_writes.load(), direct_before);
  ASSERT_TRUE(peer_->Write(Answer("dup", "fresh")).ok());
  EXPECT_EQ(Get(fresh)->val, "fresh");
}

// Verify: a cancel reaches a request written directly before the loop took
// it from the inbox (no wake-up was posted for it).
TEST_F(ClientConnectionTest, CancelReachesARequestWrittenWithoutWakeUp) {
  ConnectToRaw();
  AwaitReady();
  // Within the default read_timeout (10 s), so no wake-up is posted.
  SendAndAnswer("first", absl::Now() + absl::Seconds(5));
  std::promise<Result> promise;
  auto future = promise.get_future();
  CancelHandle handle = connection_->Send(Request{"c", "v"}, Far(),
                                          [&promise](Result result) { promise.set_value(std::move(result)); });
  NextRequest();
  EXPECT_EQ(counters_->direct_writes.load(), 2u);
  handle.Cancel();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "cancel was lost";
  EXPECT_TRUE(absl::IsCancelled(future.get().status()));
  EXPECT_EQ(connection_->pending_count(), 0);
}

// Verify: a cancel reaches a request still in the inbox whose wake-up runs
// after the cancel. A wake-up posted from the loop's own thread waits in
// that thread's private queue until the running handler returns, behind a
// cancel posted meanwhile from another thread. The request fails
// kCancelled at once and never reaches the backend.
TEST_F(ClientConnectionTest, CancelReachesARequestWhoseWakeUpComesLater) {
  ConnectToRaw();
  AwaitReady();
  auto held = Send("held", "v");  // Pending: the sends below are not written directly.
  EXPECT_EQ(NextRequest().uid, "held");
  std::promise<Result> cancelled_promise;
  std::future<Result> cancelled = cancelled_promise.get_future();
  std::future<Result> from_loop;
  std::promise<void> handler_done;
  asio::post(loops_.loop(0), [&] {
    from_loop = Send("a", "v");  // Posts the inbox's wake-up from the loop thread.
    std::thread other([&] {
      CancelHandle handle = connection_->Send(
          Request{"b", "v"}, Far(), [&cancelled_promise](Result result) { cancelled_promise.set_value(std::move(result)); });
      handle.Cancel();
    });
    other.join();
    handler_done.set_value();
  });
  ASSERT_EQ(handler_done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Result b = Get(cancelled);
  EXPECT_TRUE(absl::IsCancelled(b.status())) << b.status();
  auto after = Send("c", "v");
  EXPECT_EQ(NextRequest().uid, "a");
  EXPECT_EQ(NextRequest().uid, "c") << "the cancelled request reached the backend";
  ASSERT_TRUE(peer_->Write(Answer("held", "1") + Answer("a", "2") + Answer("c", "3")).ok());
  EXPECT_EQ(Get(held)->val, "1");
  EXPECT_EQ(Get(from_loop)->val, "2");
  EXPECT_EQ(Get(after)->val, "3");
  EXPECT_EQ(connection_->pending_count(), 0);
}

// Verify: requests sent while the connection is connecting are written only
// once it has connected: one whose deadline passes meanwhile never reaches
// the backend, and the read timeout (shorter than the wait here) does not
// count the wait. The connect is held up by a full accept queue: the
// backend's kernel drops the SYN until the test makes room, and the client
// sends it again about a second later.
TEST_F(ClientConnectionTest, RequestsWaitingForTheConnectAreWrittenOnlyOnceItSucceeds) {
  absl::StatusOr<RawListener> full = RawListener::Listen(/*backlog=*/0);
  ASSERT_TRUE(full.ok());
  absl::StatusOr<LineClient> filler = LineClient::Connect(full->port());
  ASSERT_TRUE(filler.ok()) << filler.status();
  ConnectionOptions options;
  options.read_timeout = absl::Milliseconds(300);
  connection_ = Make(full->port(), options);
  auto gave_up = Send("gave-up", "v", absl::Now() + absl::Milliseconds(100));
  auto waits = Send("waits", "v", absl::Now() + absl::Seconds(20));
  Result gave_up_result = Get(gave_up);
  EXPECT_TRUE(absl::IsDeadlineExceeded(gave_up_result.status())) << gave_up_result.status();
  absl::SleepFor(absl::Milliseconds(400));  // Past the read timeout, before the SYN is sent again.
  ASSERT_EQ(connection_->state(), ClientConnection::State::kConnecting);

  ASSERT_TRUE(full->Accept().ok());  // The filler: room for the client's next SYN.
  absl::StatusOr<LineClient> peer = full->Accept();
  ASSERT_TRUE(peer.ok()) << peer.status();
  peer_ = std::make_unique<LineClient>(*std::move(peer));
  EXPECT_EQ(NextRequest().uid, "waits") << "a request that gave up before the connect was written";
  ASSERT_TRUE(peer_->Write(Answer("waits", "ok")).ok());
  Result result = Get(waits);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->val, "ok");
}

// Verify: a request with no deadline at all (absl::InfiniteFuture()) waits
// for its answer instead of failing at once.
TEST_F(ClientConnectionTest, InfiniteDeadlineWaitsForTheAnswer) {
  ConnectToRaw();
  auto held = Send("held", "v");  // Pending: the next request goes through the loop's inbox.
  EXPECT_EQ(NextRequest().uid, "held");
  auto never_gives_up = Send("forever", "v", absl::InfiniteFuture());
  EXPECT_EQ(NextRequest().uid, "forever");
  ASSERT_TRUE(peer_->Write(Answer("forever", "ok") + Answer("held", "ok")).ok());
  Result result = Get(never_gives_up);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->val, "ok");
  EXPECT_TRUE(Get(held).ok());
}

// Verify: a request written directly without a wake-up still fails at its
// deadline when the backend never answers (the loop's earlier deadline
// timer takes it from the inbox).
TEST_F(ClientConnectionTest, DeadlineHoldsForARequestWrittenWithoutWakeUp) {
  ConnectToRaw();
  AwaitReady();
  SendAndAnswer("first", absl::Now() + absl::Milliseconds(200));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(400);
  auto silent = Send("silent", "v", deadline);
  NextRequest();
  EXPECT_EQ(counters_->direct_writes.load(), 2u);
  Result result = Get(silent);
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.status())) << result.status();
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_EQ(connection_->pending_count(), 0);
}

// Verify: the read timeout still finds a silent backend when a request was
// written directly while the deadline timer was armed far ahead (later than
// read_timeout): such a request is not left for that timer to register.
TEST_F(ClientConnectionTest, ReadTimeoutHoldsForARequestWrittenDirectly) {
  ConnectionOptions options;
  options.read_timeout = absl::Milliseconds(300);
  ConnectToRaw(options);
  AwaitReady();
  SendAndAnswer("first", absl::Now() + absl::Seconds(20));
  const absl::Time sent = absl::Now();
  auto silent = Send("silent", "v", absl::Now() + absl::Seconds(25));
  NextRequest();
  EXPECT_EQ(counters_->direct_writes.load(), 2u);
  Result result = Get(silent);
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("read timeout"));
  EXPECT_LT(absl::Now() - sent, absl::Seconds(5));
}

// Verify: a direct write the socket takes only in part is finished by the
// loop before anything else, so the backend receives the line whole.
TEST_F(ClientConnectionTest, PartialDirectWriteIsFinishedByTheLoop) {
  ConnectToRaw();
  AwaitReady();
  const std::string big(16 << 20, 'x');  // More than a loopback socket buffers.
  auto a = Send("big", big);
  auto b = Send("after", "v");
  Request first = NextRequest();
  EXPECT_EQ(first.uid, "big");
  EXPECT_EQ(first.val.size(), big.size());
  EXPECT_EQ(first.val, big);
  EXPECT_EQ(NextRequest().uid, "after");
  EXPECT_EQ(counters_->direct_writes.load(), 1u);
  ASSERT_TRUE(peer_->Write(Answer("after", "2") + Answer("big", "1")).ok());
  EXPECT_EQ(Get(a)->val, "1");
  EXPECT_EQ(Get(b)->val, "2");
}

// Verify: Cancel() completes the request at once with kCancelled, and
// CancelAsDeadline() (a caller whose own deadline ended its wait) with
// kDeadlineExceeded.
TEST_F(ClientConnectionTest, CancelCompletesRequestAtOnce) {
  ConnectToRaw();
  for (bool as_deadline : {false, true}) {
    std::promise<Result> promise;
    auto future = promise.get_future();
    CancelHandle handle = connection_->Send(Request{as_deadline ? "d" : "c", "v"}, Far(),
                                            [&promise](Result result) { promise.set_value(std::move(result)); });
    NextRequest();
    if (as_deadline) {
      handle.CancelAsDeadline();
      EXPECT_TRUE(absl::IsDeadlineExceeded(Get(future).status()));
    } else {
      handle.Cancel();
      EXPECT_TRUE(absl::IsCancelled(Get(future).status()));
    }
    EXPECT_EQ(connection_->pending_count(), 0);
  }
}

// Verify: two requests with the same Uid each get their own answer: the
// second reaches the backend only after the first was answered.
TEST_F(ClientConnectionTest, SameUidTwiceEachGetsItsOwnAnswer) {
  ConnectToRaw();
  auto first = Send("dup", "1");
  auto second = Send("dup", "2");
  EXPECT_EQ(NextRequest().val, "1");
  EXPECT_TRUE(absl::IsDeadlineExceeded(peer_->ReadLine(absl::Milliseconds(100)).status()))
      << "the second request with the same Uid was sent before the first was answered";
  ASSERT_TRUE(peer_->Write(Answer("dup", "for 1")).ok());
  EXPECT_EQ(NextRequest().val, "2");
  ASSERT_TRUE(peer_->Write(Answer("dup", "for 2")).ok());
  EXPECT_EQ(Get(first)->val, "for 1");
  EXPECT_EQ(Get(second)->val, "for 2");
}

// Verify: a backend that answers a request twice, both answers in one
// write, never hands the duplicate to the next request with that Uid: that
// request was not written when the duplicate was read, so the duplicate is
// counted late and dropped, and the next request gets its own answer.
// Before, the duplicate completed it (an auditor: 10 of 10 crossed).
TEST_F(ClientConnectionTest, AnswerRepeatedByTheBackendNeverReachesTheNextRequestWithItsUid) {
  ConnectToRaw();
  auto first = Send("twice", "1");
  auto second = Send("twice", "2");
  EXPECT_EQ(NextRequest().val, "1");
  ASSERT_TRUE(peer_->Write(Answer("twice", "for 1") + Answer("twice", "for 1 again")).ok());
  EXPECT_EQ(NextRequest().val, "2");
  ASSERT_TRUE(peer_->Write(Answer("twice", "for 2")).ok());
  EXPECT_EQ(Get(first)->val, "for 1");
  EXPECT_EQ(Get(second)->val, "for 2");
  EXPECT_EQ(counters_->late_responses.load(), 1u);
}

// Verify: a repeated answer read in two parts, its end in a later read
// than its start, is counted late and dropped even though the Uid's next
// request went out between the two reads. Before, its end completed that
// request (an auditor's 40 KB answers, each sent twice in one write: 84 of
// 100 calls crossed).
TEST_F(ClientConnectionTest, RepeatedAnswerReadInTwoPartsNeverReachesTheNextRequestWithItsUid) {
  ConnectToRaw();
  ExpectRepeatReadInTwoPartsIsDropped(/*second_sent_first=*/true);
}

// Verify: the same when the Uid's next request is sent only after the
// first was answered, with nothing else pending: such a request would go
// straight to the socket from the caller's thread, where nothing told it
// from an answer already half read; it now waits for the loop while one is.
TEST_F(ClientConnectionTest, RequestSentWhileARepeatedAnswerIsHalfReadDoesNotTakeIt) {
  ConnectToRaw();
  ExpectRepeatReadInTwoPartsIsDropped(/*second_sent_first=*/false);
}

// Verify: only "-ERR" lines are error answers. Another line starting with
// '-' is not JSON: a protocol error that breaks the connection
// (UNAVAILABLE), not the request's INVALID_ARGUMENT with the line's first
// five bytes cut off as if they were "-ERR ".
TEST_F(ClientConnectionTest, LineStartingWithADashButNotErrBreaksTheConnection) {
  ConnectToRaw();
  auto only = Send("d", "1");
  NextRequest();
  ASSERT_TRUE(peer_->Write("-garbage\n").ok());
  Result result = Get(only);
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("protocol error"));
}

// Verify: a request that gives up while still queued behind a write in
// flight leaves its Uid waiting for its own late answer, and an answer the
// backend repeats meanwhile (read before that request went out) does not
// end the wait: the Uid's next request gets its own answer, not the late
// one. Before, the repeat ended the wait and the next request took the
// late answer (found by review).
TEST_F(ClientConnectionTest, RepeatedAnswerDoesNotEndTheWaitOfARequestNotYetOut) {
  ConnectionOptions options;
  options.max_request_line_bytes = 64 << 20;
  ConnectToRaw(options);
  auto a = Send("u", "a");
  EXPECT_EQ(NextRequest().val, "a");
  // A request larger than the socket buffers keeps the next write in
  // flight until the backend reads it.
  auto huge = Send("x", std::string(32 << 20, 'h'));
  std::promise<Result> b_result;
  CancelHandle b = connection_->Send(Request{"u", "b"}, Far(),
                                     [&b_result](Result result) { b_result.set_value(std::move(result)); });
  auto c = Send("u", "c");
  // Answering a writes b (its Uid's next) behind the huge write, before a's
  // caller hears; then b gives up there.
  ASSERT_TRUE(peer_->Write(Answer("u", "for a")).ok());
  EXPECT_EQ(Get(a)->val, "for a");
  b.Cancel();
  auto b_future = b_result.get_future();
  EXPECT_TRUE(absl::IsCancelled(Get(b_future).status()));
  ASSERT_TRUE(peer_->Write(Answer("u", "for a again")).ok());
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return counters_->late_responses.load() == 1; }, absl::Seconds(10)))
      << "the repeated answer was not read";
  EXPECT_EQ(NextRequest().uid, "x");
  EXPECT_EQ(NextRequest().val, "b");
  ASSERT_TRUE(peer_->Write(Answer("u", "for b")).ok());
  EXPECT_EQ(NextRequest().val, "c");
  ASSERT_TRUE(peer_->Write(Answer("u", "for c")).ok());
  EXPECT_EQ(Get(c)->val, "for c");
  EXPECT_EQ(counters_->late_responses.load(), 2u);  // The repeat and b's answer.
}

// Verify: an "-ERR" line that comes with the answer of the only request on
// the wire, in one write, answers no request: the Uid's next request, not
// written when the line was read, is not failed INVALID_ARGUMENT for it; the
// connection is broken (the backend answered something nobody asked), and
// that request, never sent, fails UNAVAILABLE and may go elsewhere.
TEST_F(ClientConnectionTest, ErrLineAfterTheOnlyAnswerIsNotTheNextRequestsError) {
  ConnectToRaw();
  auto first = Send("e", "1");
  auto second = Send("e", "2");
  EXPECT_EQ(NextRequest().val, "1");
  ASSERT_TRUE(peer_->Write(Answer("e", "for 1") + "-ERR whatever\n").ok());
  EXPECT_EQ(Get(first)->val, "for 1");
  Result result = Get(second);
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("no request in flight"));
}

// Verify: after a request gave up on the wire, a new request with its Uid
// waits for the late answer, so the late answer cannot reach the new caller.
TEST_F(ClientConnectionTest, LateAnswerNeverReachesNewRequestWithSameUid) {
  ConnectToRaw();
  AwaitReady();  // A request whose deadline passes before the connect ends is never written.
  auto gave_up = Send("x", "old", absl::Now() + absl::Milliseconds(30));
  NextRequest();
  ASSERT_TRUE(absl::IsDeadlineExceeded(Get(gave_up).status()));
  auto fresh = Send("x", "new");
  EXPECT_TRUE(absl::IsDeadlineExceeded(peer_->ReadLine(absl::Milliseconds(100)).status()))
      << "sent while the old request's answer could still come";
  ASSERT_TRUE(peer_->Write(Answer("x", "answer to old")).ok());
  EXPECT_EQ(NextRequest().val, "new");
  ASSERT_TRUE(peer_->Write(Answer("x", "answer to new")).ok());
  EXPECT_EQ(Get(fresh)->val, "answer to new");
  EXPECT_EQ(counters_->late_responses.load(), 1u);
}

// Verify: a late answer that never comes keeps its Uid blocked, and at
// late_response_window the connection retires: it tells its listener, fails
// the request waiting behind that Uid as not sent, refuses new ones, still
// delivers the answer of a request on the wire, then closes. So the late
// answer can never reach the Uid's next request, on this connection or
// later (docs/protocol.md); not before the window either: that is
// LateAnswerNeverReachesNewRequestWithSameUid.
TEST_F(ClientConnectionTest, LateAnswerThatNeverComesRetiresTheConnectionAtTheWindow) {
  ConnectionOptions options;
  options.late_response_window = absl::Milliseconds(300);
  options.read_timeout = absl::Seconds(5);  // Longer than the backend's silence here.
  ConnectToRaw(options);
  AwaitReady();  // A request whose deadline passes before the connect ends is never written.
  const absl::Time start = absl::Now();
  auto gave_up = Send("x", "old", start + absl::Milliseconds(30));
  NextRequest();
  ASSERT_TRUE(absl::IsDeadlineExceeded(Get(gave_up).status()));
  auto live = Send("y", "live");
  EXPECT_EQ(NextRequest().val, "live");
  auto behind = Send("x", "new");
  std::future<absl::Status> retired = retired_->get_future();
  ASSERT_EQ(retired.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "never retired";
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30 + 300)) << "retired before the window ended";
  EXPECT_THAT(retired.get().message(), HasSubstr("late_response_window"));
  EXPECT_TRUE(connection_->retiring());
  Result not_sent = Get(behind);
  EXPECT_TRUE(absl::IsUnavailable(not_sent.status())) << not_sent.status();
  EXPECT_THAT(not_sent.status().message(), HasSubstr("not sent"));
  auto refused = Send("z", "v");
  EXPECT_TRUE(absl::IsUnavailable(Get(refused).status()));
  EXPECT_TRUE(absl::IsDeadlineExceeded(peer_->ReadLine(absl::Milliseconds(200)).status()))
      << "a request was written after the connection retired";
  EXPECT_EQ(connection_->state(), ClientConnection::State::kReady) << "closed with a request on the wire";
  ASSERT_TRUE(peer_->Write(Answer("y", "answer to live")).ok());
  Result answered = Get(live);
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->val, "answer to live");
  EXPECT_TRUE(tcpgate_test::Eventually(
      [&] { return connection_->state() == ClientConnection::State::kClosed; }, absl::Seconds(10)))
      << "still open with nothing pending";
  EXPECT_EQ(counters_->retired_owing_answer.load(), 1u);
}

// Verify: a late answer that comes within the window unblocks its Uid on
// the same connection, which does not retire.
TEST_F(ClientConnectionTest, LateAnswerWithinTheWindowKeepsTheConnection) {
  ConnectionOptions options;
  options.late_response_window = absl::Milliseconds(300);
  ConnectToRaw(options);
  AwaitReady();
  auto gave_up = Send("x", "old", absl::Now() + absl::Milliseconds(30));
  NextRequest();
  ASSERT_TRUE(absl::IsDeadlineExceeded(Get(gave_up).status()));
  ASSERT_TRUE(peer_->Write(Answer("x", "answer to old")).ok());
  ASSERT_TRUE(tcpgate_test::Eventually([&] { return counters_->late_responses.load() == 1; }, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(500));  // Past the window: nothing may happen now.
  EXPECT_FALSE(connection_->retiring());
  auto fresh = Send("x", "new");
  EXPECT_EQ(NextRequest().val, "new");
  ASSERT_TRUE(peer_->Write(Answer("x", "answer to new")).ok());
  EXPECT_EQ(Get(fresh)->val, "answer to new");
}

// Verify: when the backend closes, every pending request fails at once with
// kUnavailable, long before its deadline.
TEST_F(ClientConnectionTest, PeerCloseFailsEveryPendingRequestAtOnce) {
  ConnectToRaw();
  std::vector<std::future<Result>> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(Send(absl::StrCat("p", i), "v"));
  for (int i = 0; i < 10; ++i) NextRequest();
  const absl::Time start = absl::Now();
  peer_->Close();
  for (auto& future : pending) {
    Result result = Get(future);
    EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr("closed by the backend"));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(connection_->state(), ClientConnection::State::kClosed);
  // A send on the closed connection fails inline.
  auto after_close = Send("z", "v");
  EXPECT_TRUE(absl::IsUnavailable(Get(after_close).status()));
}

// Verify: when the backend closes, a request it was sent fails with the
// reason alone, and one never written (held behind its Uid) says "not sent:"
// first: a caller may send that one again without doing it twice.
TEST_F(ClientConnectionTest, PeerCloseSaysWhichRequestsWereNeverSent) {
  ConnectToRaw();
  auto written = Send("dup", "1");
  auto held = Send("dup", "2");  // Written only once the first is answered.
  EXPECT_EQ(NextRequest().val, "1");
  peer_->Close();
  Result lost = Get(written);
  EXPECT_TRUE(absl::IsUnavailable(lost.status())) << lost.status();
  EXPECT_THAT(std::string(lost.status().message()), ::testing::StartsWith("connection to"));
  Result not_sent = Get(held);
  EXPECT_TRUE(absl::IsUnavailable(not_sent.status())) << not_sent.status();
  EXPECT_THAT(std::string(not_sent.status().message()), ::testing::StartsWith("not sent: connection to"));
}

// Verify: with requests on the wire and silence for read_timeout, the
// connection is declared dead and they fail with kUnavailable.
TEST_F(ClientConnectionTest, ReadTimeoutDeclaresConnectionDead) {
  ConnectionOptions options;
  options.read_timeout = absl::Milliseconds(100);
  ConnectToRaw(options);
  auto a = Send("a", "v");
  NextRequest();
  Result result = Get(a);
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("read timeout"));
}

// Verify: a peer that goes silent is found out even when every caller gives
// up first (deadline shorter than read_timeout): the answer is still owed,
// so after read_timeout of silence the connection is declared dead, instead
// of staying ready and taking request after request into the void.
TEST_F(ClientConnectionTest, ReadTimeoutCountsRequestsWhoseCallersGaveUp) {
  ConnectionOptions options;
  options.read_timeout = absl::Milliseconds(200);
  ConnectToRaw(options);
  AwaitReady();  // A request whose deadline passes before the connect ends is never written.
  auto a = Send("a", "v", absl::Now() + absl::Milliseconds(20));
  NextRequest();
  EXPECT_TRUE(absl::IsDeadlineExceeded(Get(a).status()));
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (connection_->state() != ClientConnection::State::kClosed && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(connection_->state(), ClientConnection::State::kClosed);
  EXPECT_THAT(connection_->close_reason().message(), HasSubstr("read timeout"));
}

// Verify: an idle connection (nothing pending) is not timed out.
TEST_F(ClientConnectionTest, IdleConnectionIsNotReadTimedOut) {
  ConnectionOptions options;
  // Long enough for each round trip below on a busy machine (under TSan);
  // the idle pause is three times longer.
  options.read_timeout = absl::Milliseconds(200);
  ConnectToRaw(options);
  auto a = Send("a", "v");
  NextRequest();
  ASSERT_TRUE(peer_->Write(Answer("a", "ok")).ok());
  ASSERT_TRUE(Get(a).ok());
  absl::SleepFor(absl::Milliseconds(600));  // Longer than read_timeout, idle.
  auto b = Send("b", "v");
  NextRequest();
  ASSERT_TRUE(peer_->Write(Answer("b", "ok")).ok());
  EXPECT_TRUE(Get(b).ok());
}

// Verify: the backend's "-ERR too many connections" (sent at accept, before
// it reads anything) refuses the connection: the request on the wire fails
// kUnavailable (retryable: not processed), not kInvalidArgument as if the
// backend had rejected it, and the connection says it was refused.
TEST_F(ClientConnectionTest, TooManyConnectionsRefusesTheConnectionNotTheRequest) {
  ConnectToRaw();
  Result result = SendAndAnswerWith("only", "-ERR too many connections (max 1)\n");
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("refused the connection: too many connections (max 1)"));
  EXPECT_TRUE(connection_->refused_by_backend());
  EXPECT_EQ(connection_->state(), ClientConnection::State::kClosed);
}

// Verify: the same words after the connection's first line are a request's
// own error (a backend's message may start so), not a refusal.
TEST_F(ClientConnectionTest, TooManyConnectionsAfterTheFirstLineIsARequestError) {
  ConnectToRaw();
  ASSERT_TRUE(SendAndAnswerWith("first", Answer("first", "ok")).ok());
  Result result = SendAndAnswerWith("second", "-ERR too many connections to the database\n");
  EXPECT_TRUE(absl::IsInvalidArgument(result.status())) << result.status();
  EXPECT_FALSE(connection_->refused_by_backend());
  EXPECT_EQ(connection_->state(), ClientConnection::State::kReady);
}

// Verify: "-ERR" with one request on the wire fails that request with
// kInvalidArgument and the connection keeps working.
TEST_F(ClientConnectionTest, ErrLineFailsTheOnlyRequestInFlight) {
  ConnectToRaw();
  Result result = SendAndAnswerWith("bad", "-ERR invalid JSON: whatever\n");
  EXPECT_TRUE(absl::IsInvalidArgument(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("invalid JSON: whatever"));
  EXPECT_EQ(SendAndAnswerWith("good", Answer("good", "fine"))->val, "fine");
  EXPECT_EQ(counters_->error_lines.load(), 1u);
  EXPECT_FALSE(connection_->refused_by_backend());
}

// Verify: a backend's long "-ERR" reason reaches the caller cut to 512
// bytes: a 9,000-byte one went whole into the status message, over gRPC's
// 8 KiB metadata limit, and the caller got RESOURCE_EXHAUSTED instead.
TEST_F(ClientConnectionTest, LongErrReasonIsCutForTheCaller) {
  ConnectToRaw();
  Result result = SendAndAnswerWith("bad", "-ERR " + std::string(9000, 'x') + "\n");
  EXPECT_TRUE(absl::IsInvalidArgument(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr(std::string(512, 'x') + "..."));
  EXPECT_LT(result.status().message().size(), 600u);
}

// Verify: "-ERR" with several requests on the wire cannot be attributed, so
// the connection is treated as broken and every request fails.
TEST_F(ClientConnectionTest, ErrLineWithManyInFlightBreaksConnection) {
  ConnectToRaw();
  auto a = Send("a", "v");
  auto b = Send("b", "v");
  NextRequest();
  NextRequest();
  ASSERT_TRUE(peer_->Write("-ERR something\n").ok());
  EXPECT_TRUE(absl::IsUnavailable(Get(a).status()));
  EXPECT_TRUE(absl::IsUnavailable(Get(b).status()));
}

// Verify: an answer that is not valid JSON is a protocol error that fails
// the pending requests instead of being ignored.
TEST_F(ClientConnectionTest, GarbageAnswerIsProtocolError) {
  ConnectToRaw();
  auto a = Send("a", "v");
  NextRequest();
  ASSERT_TRUE(peer_->Write("this is not json\n").ok());
  Result result = Get(a);
  EXPECT_TRUE(absl::IsUnavailable(result.status()));
  EXPECT_THAT(result.status().message(), HasSubstr("protocol error"));
}

// Verify: Close() fails every pending request and later sends fail inline.
TEST_F(ClientConnectionTest, CloseFailsPendingRequests) {
  ConnectToRaw();
  auto a = Send("a", "v");
  NextRequest();
  connection_->Close("shutting down");
  Result result = Get(a);
  EXPECT_TRUE(absl::IsUnavailable(result.status()));
  EXPECT_THAT(result.status().message(), HasSubstr("shutting down"));
  auto later = Send("later", "v");
  ASSERT_EQ(later.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "a send after Close() waited";
  EXPECT_TRUE(absl::IsUnavailable(Get(later).status()));
}

// Verify: CloseIfIdle() leaves a connection with a request pending open
// (the request is answered), closes it once idle, and from then on TrySend()
// refuses without taking the request or making its callback.
TEST_F(ClientConnectionTest, CloseIfIdleNeverFailsARequestAndThenRefuses) {
  ConnectToRaw();
  auto a = Send("a", "v");
  NextRequest();
  EXPECT_FALSE(connection_->CloseIfIdle("retired"));
  ASSERT_TRUE(peer_->Write(Answer("a", "answer")).ok());
  Result result = Get(a);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->val, "answer");

  EXPECT_TRUE(connection_->CloseIfIdle("retired"));
  Request request{"b", "v"};
  bool made = false;
  CancelHandle handle;
  EXPECT_FALSE(connection_->TrySend(request, Far(), [&made]() -> ResponseCallback {
    made = true;
    return [](Result) {};
  }, handle));
  EXPECT_FALSE(made);
  EXPECT_EQ(request.uid, "b") << "a refused request stays with the caller";
  EXPECT_THAT(connection_->close_reason().message(), HasSubstr("retired"));
  absl::StatusOr<std::string> rest = peer_->ReadToEof();
  ASSERT_TRUE(rest.ok()) << "the connection did not close: " << rest.status();
  EXPECT_EQ(*rest, "") << "the refused request was written";
}

// Verify: connecting to a port nobody listens on fails fast.
TEST_F(ClientConnectionTest, DialToClosedPortFailsFast) {
  const uint16_t port = listener_->port();
  listener_->Close();
  connection_ = Make(port, {});
  auto a = Send("a", "v");
  Result result = Get(a);
  EXPECT_TRUE(absl::IsUnavailable(result.status()));
  EXPECT_THAT(std::string(result.status().message()), ::testing::StartsWith("not sent: cannot connect"));
}

// Verify: a connect that hangs (the backend's accept queue is full, so SYNs
// are dropped) gives up after dial_timeout.
TEST_F(ClientConnectionTest, DialTimeoutIsHonoured) {
  absl::StatusOr<RawListener> full = RawListener::Listen(/*backlog=*/0);
  ASSERT_TRUE(full.ok());
  // Fill the accept queue: nobody ever accepts these.
  std::vector<std::shared_ptr<ClientConnection>> fillers;
  for (int i = 0; i < 4; ++i) fillers.push_back(Make(full->port(), {}));
  ConnectionOptions options;
  options.dial_timeout = absl::Milliseconds(300);
  connection_ = Make(full->port(), options);
  const absl::Time start = absl::Now();
  auto a = Send("a", "v");
  Result result = Get(a);
  for (auto& filler : fillers) filler->Close();
  ASSERT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("dial timeout"));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// Verify: a thousand requests in flight at once on one connection each get
// their own answer: the backend reads all 1,000 before it answers any, then
// answers them in reverse order.
TEST_F(ClientConnectionTest, ThousandInFlightOnOneConnectionEachGetTheirOwnAnswer) {
  ConnectToRaw();
  constexpr int kRequests = 1000;
  std::vector<std::future<Result>> futures;
  for (int i = 0; i < kRequests; ++i) futures.push_back(Send(absl::StrCat("u", i), absl::StrCat("v", i)));
  std::vector<Request> received;
  for (int i = 0; i < kRequests; ++i) received.push_back(NextRequest());
  EXPECT_EQ(connection_->pending_count(), kRequests);
  std::string answers;
  for (auto it = received.rbegin(); it != received.rend(); ++it) answers += Answer(it->uid, "to " + it->val);
  ASSERT_TRUE(peer_->Write(answers).ok());
  for (int i = 0; i < kRequests; ++i) {
    Result result = Get(futures[i]);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->uid, absl::StrCat("u", i));
    EXPECT_EQ(result->val, absl::StrCat("to v", i));
  }
  EXPECT_EQ(connection_->pending_count(), 0);
}

}  // namespace
}  // namespace tcpcore
