// The health names a real gRPC server answers, as a client's Health.Check
// sees them, while HealthPublisher follows the backends and the drain.
#include "gateway/health_publisher.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
#include "asio/post.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"

namespace tcpgate {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::tcpgate_test::Eventually;

class HealthPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterCallbackGenericService(&no_service_);  // A server needs one service.
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    publisher_ = std::make_unique<HealthPublisher>(context_, *server_->GetHealthCheckService(),
                                                   [this] { return backend_ready_.load(); });
    loop_ = std::thread([this] {
      context_.run();
      loop_ended_.set_value();
    });
    stub_ = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (!loop_.joinable()) return;  // SetUp failed before the loop ran.
    if (loop_ended_future_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      OnLoop([this] { publisher_->BeginDrain(); });  // Stops its timer.
    }
    work_.reset();
    loop_.join();
    publisher_.reset();
    server_->Shutdown();
  }

  // Runs `f` on the publisher's thread and waits for it.
  template <typename F>
  void OnLoop(F f) {
    std::promise<void> done;
    asio::post(context_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  // What Health.Check says of `name`: "SERVING", "NOT_SERVING", or the error.
  std::string Check(const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckRequest request;
    request.set_service(name);
    HealthCheckResponse response;
    const grpc::Status status = stub_->Check(&context, request, &response);
    if (!status.ok()) return "error " + std::to_string(status.error_code()) + ": " + status.error_message();
    return HealthCheckResponse::ServingStatus_Name(response.status());
  }

  bool AllReadinessNamesSay(const std::string& status) {
    return Check("") == status && Check(HealthPublisher::kServiceName) == status;
  }

  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(context_);
  std::atomic<bool> backend_ready_{false};
  grpc::CallbackGenericService no_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HealthPublisher> publisher_;
  std::promise<void> loop_ended_;
  std::future<void> loop_ended_future_ = loop_ended_.get_future();
  std::thread loop_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

TEST_F(HealthPublisherTest, BeforeItLooksReadinessIsNotServingAndLivenessIsServing) {
  // gRPC registers "" as SERVING; the publisher's constructor overrides it.
  EXPECT_TRUE(AllReadinessNamesSay("NOT_SERVING"));
  EXPECT_EQ(Check(HealthPublisher::kLivenessServiceName), "SERVING");
  EXPECT_FALSE(publisher_->ready());
}

TEST_F(HealthPublisherTest, ReadinessFollowsTheBackendsBothWaysAndLivenessStaysServing) {
  OnLoop([this] { publisher_->Start(); });
  backend_ready_ = true;
  EXPECT_TRUE(Eventually([&] { return AllReadinessNamesSay("SERVING"); }));
  EXPECT_TRUE(publisher_->ready());
  backend_ready_ = false;
  EXPECT_TRUE(Eventually([&] { return AllReadinessNamesSay("NOT_SERVING"); }));
  EXPECT_FALSE(publisher_->ready());
  EXPECT_EQ(Check(HealthPublisher::kLivenessServiceName), "SERVING");
}

TEST_F(HealthPublisherTest, DrainIsNotServingAtOnceWithBackendsReadyAndLivenessStaysServing) {
  OnLoop([this] { publisher_->Start(); });
  backend_ready_ = true;
  ASSERT_TRUE(Eventually([&] { return AllReadinessNamesSay("SERVING"); }));
  OnLoop([this] { publisher_->BeginDrain(); });
  // At once: no wait, the drain set it before returning.
  EXPECT_TRUE(AllReadinessNamesSay("NOT_SERVING"));
  EXPECT_FALSE(publisher_->ready());
  EXPECT_EQ(Check(HealthPublisher::kLivenessServiceName), "SERVING");
  // And for good: the publisher has nothing left to run (no next look), so
  // the loop ends once the test stops holding it open; the backends are
  // still ready and nothing brought SERVING back.
  work_.reset();
  ASSERT_EQ(loop_ended_future_.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "the publisher still looks at the backends after the drain";
  EXPECT_TRUE(AllReadinessNamesSay("NOT_SERVING"));
}

}  // namespace
}  // namespace tcpgate
