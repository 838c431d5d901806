// Tests for CheckPoolOptions: the defaults pass, and each kind of nonsense is
// refused with an error that names the option and its value.
#include "tcpcore/pool_options_check.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tcpcore/pool.h"

namespace tcpcore {
namespace {

using ::testing::HasSubstr;

PoolOptions Defaults() {
  PoolOptions options;
  options.backends = {"127.0.0.1:3000"};
  return options;
}

// Verify: the defaults, and the documented "off" values, pass.
TEST(CheckPoolOptionsTest, AcceptsDefaultsAndOffValues) {
  EXPECT_TRUE(CheckPoolOptions(Defaults()).ok());
  PoolOptions off = Defaults();
  off.health_interval = absl::ZeroDuration();
  off.connection.read_timeout = absl::ZeroDuration();
  off.connection.user_timeout = absl::ZeroDuration();
  off.resolve_min_gap = absl::ZeroDuration();
  EXPECT_TRUE(CheckPoolOptions(off).ok()) << CheckPoolOptions(off);
  PoolOptions no_keepalive = Defaults();
  no_keepalive.connection.keepalive.enabled = false;
  no_keepalive.connection.keepalive.count = 0;  // Unused without keepalive.
  EXPECT_TRUE(CheckPoolOptions(no_keepalive).ok());
}

struct Nonsense {
  std::string what;  // The option and value the error must name.
  std::function<void(PoolOptions&)> apply;
};

// Verify: each nonsense value is INVALID_ARGUMENT naming option and value.
TEST(CheckPoolOptionsTest, RefusesEachNonsenseValueNamingIt) {
  const absl::Duration inf = absl::InfiniteDuration();
  const std::vector<Nonsense> cases = {
      {"backends: \"localhost\"", [](PoolOptions& o) { o.backends = {"127.0.0.1:3000", "localhost"}; }},
      {"backends: \"127.0.0.1:0\": port 0", [](PoolOptions& o) { o.backends = {"127.0.0.1:0"}; }},
      {"pool_size=0", [](PoolOptions& o) { o.size = 0; }},
      {"min_idle=5", [](PoolOptions& o) { o.min_idle = 5; }},  // Above pool_size (4).
      {"min_idle=0", [](PoolOptions& o) { o.min_idle = 0; }},
      {"max_pending=0", [](PoolOptions& o) { o.max_pending = 0; }},
      {"max_pending_per_connection=-1", [](PoolOptions& o) { o.max_pending_per_connection = -1; }},
      {"max_pending_bytes_per_connection=0", [](PoolOptions& o) { o.max_pending_bytes_per_connection = 0; }},
      {"eject_after_failures=0", [](PoolOptions& o) { o.eject_after_failures = 0; }},
      {"idle_timeout=0", [](PoolOptions& o) { o.idle_timeout = absl::ZeroDuration(); }},
      {"resolve_interval=inf", [&](PoolOptions& o) { o.resolve_interval = inf; }},
      {"resolve_interval=-1s", [](PoolOptions& o) { o.resolve_interval = absl::Seconds(-1); }},
      {"reconnect_backoff_initial=-1s", [](PoolOptions& o) { o.reconnect_backoff_initial = absl::Seconds(-1); }},
      {"reconnect_backoff_max=50ms", [](PoolOptions& o) { o.reconnect_backoff_max = absl::Milliseconds(50); }},
      {"reconnect_backoff_max=inf", [&](PoolOptions& o) { o.reconnect_backoff_max = inf; }},
      {"ejection_time=inf", [&](PoolOptions& o) { o.ejection_time = inf; }},
      {"health_interval=-1s", [](PoolOptions& o) { o.health_interval = absl::Seconds(-1); }},
      {"dial_timeout=0", [](PoolOptions& o) { o.connection.dial_timeout = absl::ZeroDuration(); }},
      {"read_timeout=inf", [&](PoolOptions& o) { o.connection.read_timeout = inf; }},
      {"late_response_window=inf", [&](PoolOptions& o) { o.connection.late_response_window = inf; }},
      {"late_response_window=0", [](PoolOptions& o) { o.connection.late_response_window = absl::ZeroDuration(); }},
      {"tcp_user_timeout=inf", [&](PoolOptions& o) { o.connection.user_timeout = inf; }},
      {"tcp_user_timeout=500us", [](PoolOptions& o) { o.connection.user_timeout = absl::Microseconds(500); }},
      {"keepalive_idle=10h", [](PoolOptions& o) { o.connection.keepalive.idle = absl::Hours(10); }},
      {"keepalive_interval=500ms", [](PoolOptions& o) { o.connection.keepalive.interval = absl::Milliseconds(500); }},
      {"keepalive_count=0", [](PoolOptions& o) { o.connection.keepalive.count = 0; }},
      {"keepalive_count=128", [](PoolOptions& o) { o.connection.keepalive.count = 128; }},
  };
  for (const Nonsense& nonsense : cases) {
    PoolOptions options = Defaults();
    nonsense.apply(options);
    const absl::Status status = CheckPoolOptions(options);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << nonsense.what << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(nonsense.what));
  }
}

// Verify: Pool::Start() refuses what CheckPoolOptions refuses.
TEST(CheckPoolOptionsTest, PoolStartRefusesTheSame) {
  EventLoopGroup loops(1, "pool");
  PoolOptions options = Defaults();
  options.min_idle = 9;
  Pool pool(loops, options);
  const absl::Status status = pool.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("min_idle=9"));
}

}  // namespace
}  // namespace tcpcore
