// CallbackThreadHeartbeat: it keeps completing calls with no server
// anywhere, and its destructor does not wait out the interval. That its
// beats keep gRPC's callback threads awake is proven where it matters:
// python_client_test (tcpgate) and bench_quiet_latency_test (the load tool).
#include "gateway/callback_thread_heartbeat.h"

#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"

namespace tcpgate {
namespace {

using tcpgate_test::Eventually;

TEST(CallbackThreadHeartbeatTest, KeepsBeatingWithNoServerAnywhere) {
  CallbackThreadHeartbeat heartbeat(absl::Milliseconds(10));
  EXPECT_TRUE(Eventually([&] { return heartbeat.beats() >= 5; })) << heartbeat.beats() << " beats";
}

TEST(CallbackThreadHeartbeatTest, DestructorDoesNotWaitOutTheInterval) {
  auto heartbeat = std::make_unique<CallbackThreadHeartbeat>(absl::Hours(1));
  ASSERT_TRUE(Eventually([&] { return heartbeat->beats() == 1; }));  // Now waiting an hour.
  const absl::Time before = absl::Now();
  heartbeat.reset();
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
}

}  // namespace
}  // namespace tcpgate
