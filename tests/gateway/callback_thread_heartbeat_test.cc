// CallbackThreadHeartbeat against real gRPC servers on 127.0.0.1: it keeps
// calling Health/Check at its interval, whatever the answer, and its
// destructor returns when the peer never answers.
#include "gateway/callback_thread_heartbeat.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tcpgate {
namespace {

// Answers every call with an empty message and OK, or with `refusal` when
// it is not OK; counts Health/Check calls.
class CountingGenericService : public grpc::CallbackGenericService {
 public:
  explicit CountingGenericService(grpc::Status refusal = grpc::Status::OK) : refusal_(std::move(refusal)) {}
  std::atomic<int> checks{0};

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override {
    if (context->method() == "/grpc.health.v1.Health/Check") checks.fetch_add(1);
    class Answer : public grpc::ServerGenericBidiReactor {
     public:
      explicit Answer(grpc::Status refusal) : refusal_(std::move(refusal)) { StartRead(&request_); }
      void OnReadDone(bool) override {
        if (!refusal_.ok()) return Finish(refusal_);
        response_ = grpc::ByteBuffer(&empty_, 1);
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      const grpc::Status refusal_;
      grpc::Slice empty_;
      grpc::ByteBuffer request_;
      grpc::ByteBuffer response_;
    };
    return new Answer(refusal_);
  }

 private:
  const grpc::Status refusal_;
};

std::unique_ptr<grpc::Server> StartServer(grpc::CallbackGenericService* generic, int& port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(generic);
  return builder.BuildAndStart();
}

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
}

// Polls `condition` every 5 ms for up to 10 s.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(CallbackThreadHeartbeatTest, CallsHealthCheckAgainAndAgain) {
  CountingGenericService service;
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartServer(&service, port);
  ASSERT_NE(server, nullptr);
  {
    CallbackThreadHeartbeat heartbeat(ChannelTo(port), absl::Milliseconds(10));
    EXPECT_TRUE(Eventually([&] { return service.checks.load() >= 5; })) << service.checks.load() << " checks";
    EXPECT_GE(heartbeat.beats(), 4);
  }
  server->Shutdown();
}

TEST(CallbackThreadHeartbeatTest, KeepsBeatingWhenTheServerHasNoHealthService) {
  CountingGenericService service(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method"));
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartServer(&service, port);
  ASSERT_NE(server, nullptr);
  {
    CallbackThreadHeartbeat heartbeat(ChannelTo(port), absl::Milliseconds(10));
    EXPECT_TRUE(Eventually([&] { return heartbeat.beats() >= 5; })) << heartbeat.beats() << " beats";
    EXPECT_GE(service.checks.load(), 5);
  }
  server->Shutdown();
}

TEST(CallbackThreadHeartbeatTest, DestructorReturnsWhenThePeerNeverAnswers) {
  // A listener the kernel accepts for, which never speaks HTTP/2.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  auto heartbeat = std::make_unique<CallbackThreadHeartbeat>(ChannelTo(ntohs(address.sin_port)));
  absl::SleepFor(absl::Milliseconds(100));  // Let the first beat start and hang.
  ASSERT_EQ(heartbeat->beats(), 0);
  const absl::Time before = absl::Now();
  heartbeat.reset();
  const absl::Duration took = absl::Now() - before;
  // It waited for the hanging beat (its callback writes into the heartbeat's
  // frame), which its own 500 ms deadline ended; 5 s leaves room for a slow
  // machine.
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
  ::close(listener);
}

}  // namespace
}  // namespace tcpgate
