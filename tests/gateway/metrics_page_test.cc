// Tests for RenderMetricsPage: what a scrape reads from the counters.
#include "gateway/metrics_page.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;

// Verify: a latency sum keeps its fraction of a second when it is large (a
// busy gateway's Send sum passes 1e5 s within days), so rate(_sum) stays
// smooth; six significant digits would have printed 123457.
TEST(MetricsPageTest, LargeLatencySumKeepsItsFraction) {
  RequestMetrics metrics;
  metrics.Record(Rpc::kSend, grpc::StatusCode::OK, absl::Seconds(123456) + absl::Milliseconds(789));
  const std::string page = RenderMetricsPage(metrics, 0, tcpcore::PoolStats{});
  EXPECT_THAT(page, HasSubstr("tcpgate_request_duration_seconds_sum{rpc=\"Send\"} 123456.789\n"));
  EXPECT_THAT(page, HasSubstr("tcpgate_request_duration_seconds_count{rpc=\"Send\"} 1\n"));
}

}  // namespace
}  // namespace tcpgate
