// Tests for CheckServerOptions: the defaults and the documented "off" values
// pass, each kind of nonsense is refused naming the option and its value,
// and Server::Start() refuses it before listening.
#include "tcpcore/server_options_check.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tcpcore/event_loop_group.h"
#include "tcpcore/hello_handler.h"
#include "tcpcore/server.h"

namespace tcpcore {
namespace {

using ::testing::HasSubstr;

// Verify: the defaults, an ephemeral port, no connection limit, no idle
// timeout and no linger pass.
TEST(CheckServerOptionsTest, AcceptsDefaultsAndOffValues) {
  EXPECT_TRUE(CheckServerOptions(ServerOptions{}).ok());
  ServerOptions off;
  off.listen = "127.0.0.1:0";
  off.max_connections = 0;
  off.idle_timeout = absl::ZeroDuration();
  off.close_linger = absl::ZeroDuration();
  off.max_output_bytes = SIZE_MAX;  // No limit, in effect.
  EXPECT_TRUE(CheckServerOptions(off).ok()) << CheckServerOptions(off);
}

struct Nonsense {
  std::string what;  // The option and value the error must name.
  std::function<void(ServerOptions&)> apply;
};

// Verify: each nonsense value is INVALID_ARGUMENT naming option and value.
TEST(CheckServerOptionsTest, RefusesEachNonsenseValueNamingIt) {
  const std::vector<Nonsense> cases = {
      {"listen=\"127.0.0.1\"", [](ServerOptions& o) { o.listen = "127.0.0.1"; }},
      {"max_connections=-1", [](ServerOptions& o) { o.max_connections = -1; }},
      {"idle_timeout=-1s", [](ServerOptions& o) { o.idle_timeout = absl::Seconds(-1); }},
      {"idle_timeout=inf", [](ServerOptions& o) { o.idle_timeout = absl::InfiniteDuration(); }},
      {"max_frame_bytes=0", [](ServerOptions& o) { o.frame_limits.max_frame_bytes = 0; }},
      {"max_frame_bytes=-1", [](ServerOptions& o) { o.frame_limits.max_frame_bytes = static_cast<std::size_t>(-1); }},
      {"max_depth=0", [](ServerOptions& o) { o.frame_limits.max_depth = 0; }},
      {"max_output_bytes=0", [](ServerOptions& o) { o.max_output_bytes = 0; }},
      {"close_linger=-1s", [](ServerOptions& o) { o.close_linger = absl::Seconds(-1); }},
  };
  for (const Nonsense& c : cases) {
    ServerOptions options;
    c.apply(options);
    const absl::Status status = CheckServerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.what)) << status;
  }
}

// Verify: Server::Start() refuses such options with the same error, without
// listening.
TEST(CheckServerOptionsTest, ServerStartRefusesThem) {
  EventLoopGroup loops(1, "check");
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.frame_limits.max_depth = 0;
  Server server(loops, options, std::make_shared<HelloHandler>());
  const absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("max_depth=0"));
}

}  // namespace
}  // namespace tcpcore
