// RenderMetricsPage: the gateway's counters in the Prometheus text
// exposition format (version 0.0.4), the body of the admin server's
// /metrics. Metric names and labels are documented in docs/operations.md.
// With `process` (ProcessStatsReader), the page also has the standard
// process_* families every Prometheus client library exports, each one
// whose figure could be read. With `tls` (a TLS port), the served
// certificate's expiry, the client revocation lists' next update when there
// are lists, and when the files are followed their reloads and whether they
// hold a refused change now; with `token_reloads`, the same for the token
// file.
//
// Thread-safety: a pure function of its arguments.
#ifndef GATEWAY_METRICS_PAGE_H_
#define GATEWAY_METRICS_PAGE_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "gateway/process_stats.h"
#include "gateway/request_metrics.h"
#include "tcpcore/pool.h"

namespace tcpgate {

// The TLS port's figures.
struct TlsFigures {
  absl::Time not_after;    // Of the certificate served.
  bool reloading = false;  // The files are followed (--reload_interval).
  uint64_t loaded = 0;     // New content served since start.
  uint64_t refused = 0;    // New content not served.
  bool refusing = false;   // The files hold refused content now.
  // Of the client revocation lists served; InfiniteFuture: none.
  absl::Time crl_next_update = absl::InfiniteFuture();
};

// Changes of a followed file (--reload_interval).
struct FileReloadFigures {
  uint64_t loaded = 0;   // Taken up since start.
  uint64_t refused = 0;  // Invalid, not used.
  bool refusing = false;  // The file is invalid now; the previous tokens stay.
};

// With `token_reloads`, the token file's changes.
std::string RenderMetricsPage(const RequestMetrics& requests, int64_t calls_in_flight, const tcpcore::PoolStats& pool,
                              const ProcessStats* process = nullptr, const TlsFigures* tls = nullptr,
                              const FileReloadFigures* token_reloads = nullptr);

}  // namespace tcpgate

#endif  // GATEWAY_METRICS_PAGE_H_
