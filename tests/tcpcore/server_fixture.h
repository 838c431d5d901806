// ServerFixture: a GoogleTest fixture running a tcpcore::Server (the hello
// handler unless told otherwise) on 127.0.0.1 with an ephemeral port, with
// clients that connect to it and a bounded wait on its stats. Shared by the
// server's behaviour tests and its hostile-input tests.
//
// Thread-safety: use from the test's thread.
#ifndef TESTS_TCPCORE_SERVER_FIXTURE_H_
#define TESTS_TCPCORE_SERVER_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/server.h"
#include "tests/tcpcore/line_client.h"

namespace tcpcore {

class ServerFixture : public ::testing::Test {
 protected:
  using LineClient = ::tcpcore::testing::LineClient;

  explicit ServerFixture(int loop_count = 2) : loops_(loop_count, "test") {}

  void StartServer(ServerOptions options = {}, std::shared_ptr<RequestHandler> handler = nullptr) {
    options.listen = "127.0.0.1:0";
    options.log_connections = false;
    if (handler == nullptr) handler = std::make_shared<HelloHandler>();
    server_ = std::make_unique<Server>(loops_, options, std::move(handler));
    ASSERT_TRUE(server_->Start().ok());
  }
  uint16_t port() const { return server_->local_endpoint().port(); }
  LineClient Connect() {
    absl::StatusOr<LineClient> client = LineClient::Connect(port());
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(client).value();
  }
  // Waits (bounded) until the server's stats satisfy `done`.
  bool AwaitStats(const std::function<bool(const ServerStats&)>& done, absl::Duration timeout = absl::Seconds(30)) {
    return tcpgate_test::Eventually([&] { return done(server_->stats()); }, timeout);
  }
  void TearDown() override { server_.reset(); }

  EventLoopGroup loops_;
  std::unique_ptr<Server> server_;
};

}  // namespace tcpcore

#endif  // TESTS_TCPCORE_SERVER_FIXTURE_H_
