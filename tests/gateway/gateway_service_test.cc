// End-to-end tests of the gateway in one process: a real gRPC C++ client, the
// GatewayService on an ephemeral port, the tcpcore pool, and backends on
// 127.0.0.1 (the reference server, a stalling one, or a hand-played one).
#include "gateway/gateway_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/server.h"
#include "tests/eventually.h"
#include "tests/tcpcore/line_client.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using tcpgate::v1::SendRequest;
using tcpgate::v1::SendResponse;

// Holds every request unanswered (or, given a val, only the requests with
// that val, answering the rest as the reference backend does); tells the
// test how many it holds.
class StallingHandler : public tcpcore::RequestHandler {
 public:
  StallingHandler() = default;
  explicit StallingHandler(std::string only_val) : only_val_(std::move(only_val)) {}

  void OnRequest(const tcpcore::Request& request, tcpcore::ReplyContext& reply) override {
    if (only_val_.has_value() && request.val != *only_val_) {
      hello_.OnRequest(request, reply);
      return;
    }
    std::lock_guard lock(mu_);
    held_.push_back(reply.Defer());
    changed_.notify_all();
  }
  void AwaitHeld(std::size_t count) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return held_.size() >= count; });
  }

 private:
  const std::optional<std::string> only_val_;
  tcpcore::HelloHandler hello_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<tcpcore::DeferredReply> held_;
};

class GatewayServiceTest : public ::testing::Test {
 protected:
  // Starts backend, pool, service and gRPC server. `backend_port` 0 starts
  // a tcpcore server with `handler`.
  void Start(std::shared_ptr<tcpcore::RequestHandler> handler, tcpcore::PoolOptions pool_options = {},
             uint16_t backend_port = 0) {
    if (backend_port == 0) {
      tcpcore::ServerOptions server_options;
      server_options.listen = "127.0.0.1:0";
      server_options.log_connections = false;
      backend_ = std::make_unique<tcpcore::Server>(loops_, server_options, std::move(handler));
      ASSERT_TRUE(backend_->Start().ok());
      backend_port = backend_->local_endpoint().port();
    }
    pool_options.backends = {absl::StrCat("127.0.0.1:", backend_port)};
    pool_ = std::make_unique<tcpcore::Pool>(loops_, pool_options);
    ASSERT_TRUE(pool_->Start().ok());
    ASSERT_TRUE(pool_->AwaitReady(1, absl::Seconds(10)));
    service_ = std::make_unique<GatewayService>(*pool_, gateway_options_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = tcpgate::v1::Gateway::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  grpc::Status Call(const std::string& uid, const std::string& val, SendResponse* response,
                    absl::Duration timeout = absl::Seconds(10), const std::string& authorization = "") {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    SendRequest request;
    request.set_uid(uid);
    request.set_val(val);
    return stub_->Send(&context, request, response);
  }
  // See the definition, before the tests that use it.
  uint64_t RequestsTakenBeforeTheClientReads();
  // Waits (bounded) until nothing is pending in the pool.
  bool AwaitPoolIdle() {
    return tcpgate_test::Eventually(
        [&] { return pool_->stats().total.in_flight == 0 && service_->in_flight() == 0; });
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    if (pool_) pool_->Close();
    backend_.reset();
  }

  GatewayOptions gateway_options_;  // Set before Start().
  tcpcore::EventLoopGroup loops_{2, "gw-test"};
  std::unique_ptr<tcpcore::Server> backend_;
  std::unique_ptr<tcpcore::Pool> pool_;
  std::unique_ptr<GatewayService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<tcpgate::v1::Gateway::Stub> stub_;
};

// Verify: Send returns the backend's answer: its uid, val and timestamp.
TEST_F(GatewayServiceTest, SendReturnsBackendAnswer) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  SendResponse response;
  grpc::Status status = Call("pixel-1", "pixelpig!", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.uid(), "pixel-1");
  EXPECT_EQ(response.val(), "server: hello, pixelpig!");
  EXPECT_EQ(response.ts().size(), 30u);
}

// Verify: a request without uid gets a unique one, returned to the caller.
TEST_F(GatewayServiceTest, GeneratesUidWhenEmpty) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  SendResponse first, second;
  ASSERT_TRUE(Call("", "a", &first).ok());
  ASSERT_TRUE(Call("", "b", &second).ok());
  EXPECT_THAT(first.uid(), StartsWith("gw-"));
  EXPECT_NE(first.uid(), second.uid());
}

// A bound on a latency the scheduler can stretch: the behaviour must hold at
// every attempt, the bound at one of up to this many (a gateway that is late
// is late at each; one slow wake-up on a busy CI machine is not the gateway).
constexpr std::size_t kLatencyAttempts = 3;

// Verify: with a backend that never answers, the caller's deadline gives
// DEADLINE_EXCEEDED on time, the pool request itself ends at that deadline
// (as DEADLINE_EXCEEDED, not as a cancel: a gateway that gave the pool
// request --default_timeout instead would see the client's cancel long
// before its own deadline and count it CANCELLED), and nothing stays
// pending in the pool.
TEST_F(GatewayServiceTest, CallerDeadlineEndsAStalledCallAndItsPoolRequest) {
  gateway_options_.default_timeout = absl::Seconds(30);
  Start(std::make_shared<StallingHandler>());
  std::vector<absl::Duration> took;
  while (took.size() < kLatencyAttempts) {
    SendResponse response;
    const absl::Time start = absl::Now();
    grpc::Status status = Call("slow", "v", &response, absl::Milliseconds(200));
    took.push_back(absl::Now() - start);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    ASSERT_TRUE(AwaitPoolIdle());
    if (took.back() < absl::Milliseconds(200 + 50)) break;
  }
  EXPECT_LT(took.back(), absl::Milliseconds(200 + 50))
      << "every attempt late: " << absl::StrJoin(took, ", ", absl::StreamFormatter());
  EXPECT_EQ(pool_->stats().total.deadline, took.size());
  EXPECT_EQ(pool_->stats().total.other_errors, 0u) << "the pool request ended as a cancel";
  EXPECT_EQ(service_->metrics().requests(Rpc::kSend, grpc::StatusCode::DEADLINE_EXCEEDED), took.size());
}

// Verify: a call that carries no deadline gets --default_timeout from the
// gateway: with a backend that never answers, the gateway itself ends it
// DEADLINE_EXCEEDED then (the client would wait forever), and nothing stays
// pending in the pool.
TEST_F(GatewayServiceTest, CallWithoutDeadlineEndsAtTheDefaultTimeout) {
  gateway_options_.default_timeout = absl::Milliseconds(200);
  Start(std::make_shared<StallingHandler>());
  std::vector<absl::Duration> took;
  while (took.size() < kLatencyAttempts) {
    grpc::ClientContext context;  // No deadline.
    SendRequest request;
    request.set_uid("no-deadline");
    SendResponse response;
    std::promise<grpc::Status> done;
    const absl::Time start = absl::Now();
    stub_->async()->Send(&context, &request, &response, [&](grpc::Status s) { done.set_value(std::move(s)); });
    std::future<grpc::Status> ended = done.get_future();
    if (ended.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      context.TryCancel();  // So that a failing run ends.
      ended.wait();
      FAIL() << "the gateway did not end the call at its default timeout";
    }
    took.push_back(absl::Now() - start);
    const grpc::Status status = ended.get();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
    EXPECT_GE(took.back(), absl::Milliseconds(200));
    ASSERT_TRUE(AwaitPoolIdle());
    if (took.back() < absl::Milliseconds(200 + 50)) break;
  }
  EXPECT_LT(took.back(), absl::Milliseconds(200 + 50))
      << "every attempt late: " << absl::StrJoin(took, ", ", absl::StreamFormatter());
  EXPECT_EQ(pool_->stats().total.deadline, took.size());
}

// Verify: on a stream without a deadline each request gets
// --default_timeout from when the gateway read it: a request the backend
// never answers gets its own DEADLINE_EXCEEDED answer, carrying its uid,
// and the stream goes on (a request written after it is answered, and the
// stream ends OK).
TEST_F(GatewayServiceTest, StreamRequestPastTheDefaultTimeoutGetsItsOwnErrorAndTheStreamGoesOn) {
  gateway_options_.default_timeout = absl::Milliseconds(200);
  auto handler = std::make_shared<StallingHandler>("stall");
  Start(handler);
  grpc::ClientContext context;  // No deadline.
  auto stream = stub_->SendStream(&context);
  SendRequest request;
  request.set_uid("stalled");
  request.set_val("stall");
  ASSERT_TRUE(stream->Write(request));
  handler->AwaitHeld(1);
  SendResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.uid(), "stalled");
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().code(), static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
  request.set_uid("after");
  request.set_val("v");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->WritesDone());
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.uid(), "after");
  EXPECT_FALSE(response.has_error());
  EXPECT_EQ(response.val(), "server: hello, v");
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(AwaitPoolIdle());
  EXPECT_EQ(pool_->stats().total.deadline, 1u);
}

// Verify: calls that run out of time are counted as DEADLINE_EXCEEDED, in
// the gateway's metrics and in the pool's, on both RPCs. gRPC cancels such a
// call (OnCancel) at about the moment the pool's own deadline for it fires;
// taking that cancel for a caller's would count them CANCELLED, which an
// alert on DEADLINE_EXCEEDED would miss (it did, for about half of them).
TEST_F(GatewayServiceTest, CallsThatRunOutOfTimeAreCountedAsDeadlineExceeded) {
  Start(std::make_shared<StallingHandler>());
  constexpr int kCalls = 8;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      SendResponse response;
      EXPECT_EQ(Call(absl::StrCat("late-", i), "v", &response, absl::Milliseconds(100 + 10 * i)).error_code(),
                grpc::StatusCode::DEADLINE_EXCEEDED);
    });
  }
  for (std::thread& caller : callers) caller.join();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(150)));
  auto stream = stub_->SendStream(&context);
  for (int i = 0; i < kCalls; ++i) {
    SendRequest request;
    request.set_uid(absl::StrCat("stream-late-", i));
    ASSERT_TRUE(stream->Write(request));
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(AwaitPoolIdle());
  for (Rpc rpc : {Rpc::kSend, Rpc::kSendStream}) {
    EXPECT_EQ(service_->metrics().requests(rpc, grpc::StatusCode::DEADLINE_EXCEEDED), static_cast<uint64_t>(kCalls))
        << RequestMetrics::RpcName(rpc);
    EXPECT_EQ(service_->metrics().requests(rpc, grpc::StatusCode::CANCELLED), 0u) << RequestMetrics::RpcName(rpc);
  }
  EXPECT_EQ(pool_->stats().total.deadline, static_cast<uint64_t>(2 * kCalls));
  EXPECT_EQ(pool_->stats().total.other_errors, 0u);
}

// Verify: a val over the limit is INVALID_ARGUMENT and never reaches a backend.
TEST_F(GatewayServiceTest, RejectsOversizedVal) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  SendResponse response;
  grpc::Status status = Call("big", std::string(600 * 1024, 'x'), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("limit"));
  EXPECT_EQ(pool_->stats().total.sent, 0u);
}

// Verify: a uid over the limit (1 KiB by default) is INVALID_ARGUMENT and
// never reaches a backend; one at the limit goes through.
TEST_F(GatewayServiceTest, RejectsOversizedUid) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  SendResponse response;
  grpc::Status status = Call(std::string(gateway_options_.max_uid_bytes + 1, 'u'), "v", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("uid is 1025 bytes"));
  EXPECT_EQ(pool_->stats().total.sent, 0u);
  status = Call(std::string(gateway_options_.max_uid_bytes, 'u'), "v", &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.uid().size(), gateway_options_.max_uid_bytes);
}

// Verify: when the backend dies, calls fail fast with UNAVAILABLE.
TEST_F(GatewayServiceTest, BackendDownIsUnavailableFast) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  backend_->Shutdown(absl::ZeroDuration());
  ASSERT_TRUE(AwaitPoolIdle());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  grpc::Status status;
  do {  // Until the pool has seen the connection close.
    SendResponse response;
    const absl::Time start = absl::Now();
    status = Call("x", "y", &response, absl::Seconds(10));
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  } while (status.ok() && absl::Now() < give_up);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

// One unary call left outstanding, through the async stub.
struct AsyncCall {
  grpc::ClientContext context;
  SendRequest request;
  SendResponse response;
  std::promise<grpc::Status> done;

  AsyncCall(tcpgate::v1::Gateway::Stub& stub, const std::string& uid) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    request.set_uid(uid);
    stub.async()->Send(&context, &request, &response, [this](grpc::Status s) { done.set_value(s); });
  }
};

// Verify: a caller that cancels cancels the pool request at once.
TEST_F(GatewayServiceTest, CallerCancelCancelsPoolRequest) {
  auto handler = std::make_shared<StallingHandler>();
  Start(handler);
  AsyncCall call(*stub_, "cancel-me");
  handler->AwaitHeld(1);
  call.context.TryCancel();
  EXPECT_EQ(call.done.get_future().get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(AwaitPoolIdle());
  EXPECT_EQ(pool_->stats().total.other_errors, 1u) << "the pool request was not cancelled";
}

// Verify: when the pool is full, calls get RESOURCE_EXHAUSTED.
TEST_F(GatewayServiceTest, PoolFullIsResourceExhausted) {
  auto handler = std::make_shared<StallingHandler>();
  tcpcore::PoolOptions options;
  options.max_pending = 1;
  Start(handler, options);
  AsyncCall held(*stub_, "held");
  handler->AwaitHeld(1);
  SendResponse response;
  grpc::Status status = Call("second", "v", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  held.context.TryCancel();
  held.done.get_future().wait();
}

// Verify: a backend "-ERR" for the request becomes INVALID_ARGUMENT with the
// backend's reason.
TEST_F(GatewayServiceTest, BackendErrIsInvalidArgument) {
  absl::StatusOr<tcpcore::testing::RawListener> raw = tcpcore::testing::RawListener::Listen();
  ASSERT_TRUE(raw.ok());
  Start(nullptr, {}, raw->port());
  absl::StatusOr<tcpcore::testing::LineClient> backend = raw->Accept();
  ASSERT_TRUE(backend.ok());
  std::thread backend_side([&] {
    ASSERT_TRUE(backend->ReadLine().ok());
    ASSERT_TRUE(backend->Write("-ERR Val must not be pixelpig\n").ok());
  });
  SendResponse response;
  grpc::Status status = Call("u", "pixelpig", &response);
  backend_side.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("Val must not be pixelpig"));
}

// Verify: on one stream, every request is answered with its own uid, a bad
// request gets a per-request error without ending the stream, and the
// stream ends OK after the client closes its side.
TEST_F(GatewayServiceTest, StreamAnswersEveryRequestAndReportsErrorsInline) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto stream = stub_->SendStream(&context);
  constexpr int kRequests = 200;
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      SendRequest request;
      request.set_uid(absl::StrCat("s", i));
      request.set_val(i == 7 ? std::string(600 * 1024, 'x') : absl::StrCat("v", i));
      ASSERT_TRUE(stream->Write(request));
    }
    stream->WritesDone();
  });
  std::vector<int> seen(kRequests, 0);
  SendResponse response;
  int errors = 0;
  while (stream->Read(&response)) {
    int index = std::stoi(response.uid().substr(1));
    ++seen[index];
    if (response.has_error()) {
      ++errors;
      EXPECT_EQ(index, 7);
      EXPECT_EQ(response.error().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    } else {
      EXPECT_EQ(response.val(), absl::StrCat("server: hello, v", index));
    }
  }
  writer.join();
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(errors, 1);
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(seen[i], 1) << "request " << i;
}

// Verify: on a stream, a request refused for a uid over the limit gets its
// INVALID_ARGUMENT answer with an empty uid (echoing a uid near the message
// limit made an answer over the client's limit, which ended the client's
// stream), and the stream goes on.
TEST_F(GatewayServiceTest, StreamAnswersAnOverlongUidWithoutEchoingIt) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto stream = stub_->SendStream(&context);
  SendRequest request;
  request.set_uid(std::string(gateway_options_.max_uid_bytes + 1, 'u'));
  ASSERT_TRUE(stream->Write(request));
  request.set_uid("next");
  request.set_val("v");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->WritesDone());
  SendResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.uid(), "");
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(response.error().message(), HasSubstr("uid is 1025 bytes"));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.uid(), "next");
  EXPECT_EQ(response.val(), "server: hello, v");
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Verify: cancelling a stream cancels its pending pool requests.
TEST_F(GatewayServiceTest, StreamCancelCancelsPendingRequests) {
  auto handler = std::make_shared<StallingHandler>();
  Start(handler);
  grpc::ClientContext context;
  auto stream = stub_->SendStream(&context);
  for (int i = 0; i < 3; ++i) {
    SendRequest request;
    request.set_uid(absl::StrCat("c", i));
    ASSERT_TRUE(stream->Write(request));
  }
  handler->AwaitHeld(3);
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(AwaitPoolIdle());
  EXPECT_EQ(pool_->stats().total.other_errors, 3u);
}

// A storm of cancels: hundreds of unary calls and streams held at the backend,
// all cancelled at once. Each gets CANCELLED and nothing stays pending.
TEST_F(GatewayServiceTest, CancelStormLeavesNothingPending) {
  auto handler = std::make_shared<StallingHandler>();
  Start(handler);
  constexpr int kCalls = 300;
  constexpr int kStreams = 50;
  std::vector<std::unique_ptr<AsyncCall>> calls;
  for (int i = 0; i < kCalls; ++i) calls.push_back(std::make_unique<AsyncCall>(*stub_, absl::StrCat("storm-", i)));
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<SendRequest, SendResponse>>> streams;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub_->SendStream(contexts.back().get()));
    for (int j = 0; j < 4; ++j) {
      SendRequest request;
      request.set_uid(absl::StrCat("stream-", i, "-", j));
      ASSERT_TRUE(streams.back()->Write(request));
    }
  }
  handler->AwaitHeld(kCalls + kStreams * 4);
  for (auto& call : calls) call->context.TryCancel();
  for (auto& context : contexts) context->TryCancel();
  for (auto& call : calls) EXPECT_EQ(call->done.get_future().get().error_code(), grpc::StatusCode::CANCELLED);
  for (auto& stream : streams) EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(AwaitPoolIdle());
  EXPECT_EQ(pool_->stats().total.other_errors, static_cast<uint64_t>(kCalls + kStreams * 4));
}

// A flood of streams: 500 open at once on one channel, each with a few
// requests. Every request is answered on its own stream, every stream ends
// OK, and nothing is left in flight.
TEST_F(GatewayServiceTest, StreamFloodIsAnsweredAndLeavesNothingOpen) {
  Start(std::make_shared<tcpcore::HelloHandler>());
  constexpr int kStreams = 500;
  constexpr int kPerStream = 3;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<SendRequest, SendResponse>>> streams;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    streams.push_back(stub_->SendStream(contexts.back().get()));
    for (int j = 0; j < kPerStream; ++j) {
      SendRequest request;
      request.set_uid(absl::StrCat("flood-", i, "-", j));
      request.set_val(absl::StrCat(i));
      ASSERT_TRUE(streams.back()->Write(request));
    }
    ASSERT_TRUE(streams.back()->WritesDone());
  }
  for (int i = 0; i < kStreams; ++i) {
    SendResponse response;
    int answers = 0;
    while (streams[i]->Read(&response)) {
      EXPECT_THAT(response.uid(), StartsWith(absl::StrCat("flood-", i, "-")));
      EXPECT_EQ(response.val(), absl::StrCat("server: hello, ", i));
      ++answers;
    }
    EXPECT_EQ(answers, kPerStream) << "stream " << i;
    EXPECT_TRUE(streams[i]->Finish().ok()) << "stream " << i;
  }
  EXPECT_TRUE(AwaitPoolIdle());
}

// Answers that a client which never reads takes in anyway, into its
// HTTP/2 windows, at 60 KiB each (measured: ~68; gRPC's windows grow to a
// few MiB).
constexpr uint64_t kAnswersInClientWindows = 92;

// Writes 500 requests of 60 KiB on one stream and does not read it; returns
// how many reached the backend once the gateway stopped taking them (the
// count held still for 300 ms, or 20 s passed). A stream whose limits do
// not hold is read to the end: 500. Then the client reads, and the gateway
// must take the rest: every request answered once, the stream ends OK.
uint64_t GatewayServiceTest::RequestsTakenBeforeTheClientReads() {
  constexpr int kRequests = 500;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));  // Bounds a wedged stream.
  auto stream = stub_->SendStream(&context);
  std::thread writer([&] {
    // Big answers (60 KiB), so that the client's windows fill quickly.
    for (int i = 0; i < kRequests; ++i) {
      SendRequest request;
      request.set_uid(absl::StrCat("n", i));
      request.set_val(std::string(60 * 1024, 'x'));
      if (!stream->Write(request)) break;
    }
  });
  // Unblocks and joins the writer on every way out.
  auto stop_writer = absl::MakeCleanup([&] {
    context.TryCancel();
    writer.join();
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  uint64_t sent = pool_->stats().total.sent;
  absl::Time still_since = absl::Now();
  while (absl::Now() - still_since < absl::Milliseconds(300) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
    const uint64_t now_sent = pool_->stats().total.sent;
    if (now_sent != sent || now_sent < 8) {
      sent = now_sent;
      still_since = absl::Now();
    }
  }
  std::vector<int> seen(kRequests, 0);
  SendResponse response;
  int answers = 0;
  while (answers < kRequests && stream->Read(&response)) {
    ++answers;
    EXPECT_FALSE(response.has_error()) << response.uid() << ": " << response.error().message();
    int index = -1;
    if (absl::SimpleAtoi(absl::string_view(response.uid()).substr(1), &index) && index >= 0 && index < kRequests) {
      ++seen[index];
    }
  }
  EXPECT_EQ(answers, kRequests) << "the stream did not go on once read";
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kRequests) << "a request was not answered exactly once";
  std::move(stop_writer).Cancel();
  writer.join();
  EXPECT_TRUE(stream->WritesDone());
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(AwaitPoolIdle());
  return sent;
}

// A client that writes and never reads: once the stream's answers waiting to
// be written plus its requests at the backend reach the stream's limit, the
// gateway stops reading it (flow control then holds the client back), so
// the answers cannot pile up in the gateway; once the client reads, the
// gateway reads again and answers every request.
TEST_F(GatewayServiceTest, StreamNotReadStopsTakingRequestsAtItsLimitUntilRead) {
  gateway_options_.max_pending_per_stream = 8;
  Start(std::make_shared<tcpcore::HelloHandler>());
  const uint64_t sent = RequestsTakenBeforeTheClientReads();
  ASSERT_GE(sent, 8u);
  EXPECT_LE(sent, 8 + kAnswersInClientWindows) << "a stream that is never read kept being read";
}

// The same with the count far away and a byte budget of 1 MiB: the
// stream stops at the bytes its requests and unwritten answers hold (18 of
// 60 KiB), not at 1,024 answers of up to half a MiB each.
TEST_F(GatewayServiceTest, StreamNotReadStopsTakingRequestsAtItsByteBudgetUntilRead) {
  gateway_options_.max_held_bytes_per_stream = 1 << 20;
  ASSERT_GE(gateway_options_.max_pending_per_stream, 500) << "the count must not be what stops it";
  Start(std::make_shared<tcpcore::HelloHandler>());
  const uint64_t sent = RequestsTakenBeforeTheClientReads();
  ASSERT_GE(sent, 8u);
  EXPECT_LE(sent, 18 + kAnswersInClientWindows) << "a stream that is never read kept being read";
}

std::shared_ptr<BearerTokenInForce> TokenCheck(const std::string& token) {
  return std::make_shared<BearerTokenInForce>(*BearerTokenCheck::FromToken(token));
}

// Verify: with a bearer token configured, Send answers a call that carries
// it and refuses one without it, or with another, as UNAUTHENTICATED before
// anything reaches the pool.
TEST_F(GatewayServiceTest, SendNeedsTheBearerToken) {
  gateway_options_.bearer_token = TokenCheck("t0ken");
  Start(std::make_shared<tcpcore::HelloHandler>());
  SendResponse response;
  EXPECT_EQ(Call("u", "v", &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call("u", "v", &response, absl::Seconds(10), "Bearer t0keN").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(pool_->stats().total.sent, 0u);
  grpc::Status status = Call("u", "v", &response, absl::Seconds(10), "Bearer t0ken");
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.val(), "server: hello, v");
}

// Verify: the tokens replaced while the gateway runs (the token file
// changed) check the calls that follow: the old token is refused, the new
// one answered.
TEST_F(GatewayServiceTest, ReplacedTokensCheckTheCallsThatFollow) {
  std::shared_ptr<BearerTokenInForce> tokens = TokenCheck("old-t0ken");
  gateway_options_.bearer_token = tokens;
  Start(std::make_shared<tcpcore::HelloHandler>());
  SendResponse response;
  EXPECT_TRUE(Call("u", "v", &response, absl::Seconds(10), "Bearer old-t0ken").ok());
  tokens->Replace(*BearerTokenCheck::FromToken("new-t0ken"));
  EXPECT_EQ(Call("u", "v", &response, absl::Seconds(10), "Bearer old-t0ken").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status status = Call("u", "v", &response, absl::Seconds(10), "Bearer new-t0ken");
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Verify: a SendStream without the bearer token ends UNAUTHENTICATED and
// none of its requests reach the pool.
TEST_F(GatewayServiceTest, StreamNeedsTheBearerToken) {
  gateway_options_.bearer_token = TokenCheck("t0ken");
  Start(std::make_shared<tcpcore::HelloHandler>());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub_->SendStream(&context);
  SendRequest request;
  request.set_uid("s");
  stream->Write(request);  // May fail: the stream is refused at once.
  stream->WritesDone();
  SendResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(pool_->stats().total.sent, 0u);
}

}  // namespace
}  // namespace tcpgate
