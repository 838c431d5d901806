// Tests for RenderMetricsPage: what a scrape reads from the counters.
#include "gateway/metrics_page.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

// Verify: with process figures the page has the standard process_* families
// (the names Prometheus dashboards and alerts expect), and without them none.
TEST(MetricsPageTest, ProcessFamiliesAppearWithProcessFigures) {
  const ProcessStats process{.cpu_seconds = 12.5,
                             .resident_bytes = 33554432,
                             .virtual_bytes = 1073741824,
                             .open_fds = 17,
                             .max_fds = 1048576,
                             .start_time_seconds = 1764590000.25,
                             .problem = absl::OkStatus()};
  const std::string page = RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}, &process);
  EXPECT_THAT(page, HasSubstr("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 33554432\n"));
  EXPECT_THAT(page, HasSubstr("\nprocess_virtual_memory_bytes 1073741824\n"));
  EXPECT_THAT(page, HasSubstr("\nprocess_open_fds 17\n"));
  EXPECT_THAT(page, HasSubstr("\nprocess_max_fds 1048576\n"));
  EXPECT_THAT(page, HasSubstr("\nprocess_start_time_seconds 1764590000.25\n"));
  EXPECT_THAT(RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}), Not(HasSubstr("process_")));
}

// Verify: a figure that could not be read leaves its family out (an alert
// on it sees no series, not a zero) and the others stay.
TEST(MetricsPageTest, UnreadProcessFiguresAreLeftOut) {
  ProcessStats process;
  process.open_fds = 9;
  process.max_fds = 1024;
  process.problem = absl::UnavailableError("/proc/self/stat: fields 14, 15, 22-24 are not numbers");
  const std::string page = RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}, &process);
  EXPECT_THAT(page, HasSubstr("\nprocess_open_fds 9\n"));
  EXPECT_THAT(page, HasSubstr("\nprocess_max_fds 1024\n"));
  EXPECT_THAT(page, Not(HasSubstr("process_resident_memory_bytes")));
  EXPECT_THAT(page, Not(HasSubstr("process_cpu_seconds_total")));
  EXPECT_THAT(page, Not(HasSubstr("process_start_time_seconds")));
}

// Verify: a TLS port shows its certificate's expiry; the reload counters
// appear only when the files are followed; a plaintext port shows neither.
TEST(MetricsPageTest, TlsFamiliesAppearForATlsPort) {
  const TlsFigures read_once{.not_after = absl::FromUnixSeconds(1790000000)};
  const std::string once = RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}, nullptr, &read_once);
  EXPECT_THAT(once, HasSubstr("# TYPE tcpgate_tls_certificate_expiry_timestamp_seconds gauge\n"
                              "tcpgate_tls_certificate_expiry_timestamp_seconds 1790000000\n"));
  EXPECT_THAT(once, Not(HasSubstr("tcpgate_tls_reloads_total")));
  const TlsFigures followed{.not_after = absl::FromUnixSeconds(1790000000),
                            .reloading = true,
                            .loaded = 2,
                            .refused = 1,
                            .refusing = true};
  const std::string page = RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}, nullptr, &followed);
  EXPECT_THAT(page, HasSubstr("# TYPE tcpgate_tls_reloads_total counter\n"
                              "tcpgate_tls_reloads_total{result=\"loaded\"} 2\n"
                              "tcpgate_tls_reloads_total{result=\"refused\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE tcpgate_tls_files_refused gauge\ntcpgate_tls_files_refused 1\n"));
  EXPECT_THAT(page, Not(HasSubstr("tcpgate_tls_client_crl_next_update_timestamp_seconds")));
  TlsFigures with_lists = followed;
  with_lists.crl_next_update = absl::FromUnixSeconds(1790001234);
  EXPECT_THAT(RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}, nullptr, &with_lists),
              HasSubstr("# TYPE tcpgate_tls_client_crl_next_update_timestamp_seconds gauge\n"
                        "tcpgate_tls_client_crl_next_update_timestamp_seconds 1790001234\n"));
  EXPECT_THAT(RenderMetricsPage(RequestMetrics(), 0, tcpcore::PoolStats{}), Not(HasSubstr("tcpgate_tls_")));
}

}  // namespace
}  // namespace tcpgate
